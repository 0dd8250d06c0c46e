/*
 * ocistore: see ocistore.h.  Everything is done relative to two directory
 * descriptors opened once (the layout root and blobs/sha256), so a store
 * path renamed or replaced under us cannot redirect a write.  Temporary
 * names are ".tmp-" and 16 random hex digits from getrandom(2).  After
 * each rename the directory is fsynced so the new name survives a crash.
 *
 * index.json is read with jsonin (strict JSON, 64 MiB at most), its
 * "manifests" array rebuilt without the entries of the ref name being
 * set, the new descriptor appended, and the whole object written back
 * with its other members untouched.
 */
#include "ocistore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gcrypt.h>
#include <json-c/json.h>

#include "jsonin.h"
#include "log.h"
#include "manifest.h"

#define TMP_PREFIX ".tmp-"
#define TMP_NAME_MAX 32
#define INDEX_MAX_BYTES (64L * 1024 * 1024)
#define STALE_TMP_SECONDS (24 * 3600)
#define REF_NAME_KEY "org.opencontainers.image.ref.name"
#define LAYOUT_TEXT "{\"imageLayoutVersion\":\"1.0.0\"}"

struct ocistore {
	char *dir;		/* for messages */
	int root_fd;		/* DIR */
	int blob_fd;		/* DIR/blobs/sha256 */
};

struct ocistore_blob {
	struct ocistore *st;
	int fd;
	char tmp[TMP_NAME_MAX];		/* name in blob_fd */
	char hex[65];			/* final name */
	long long expect;		/* < 0: unknown */
	unsigned long long written;
	gcry_md_hd_t md;
};

static void
tmp_name(char out[TMP_NAME_MAX])
{
	unsigned char r[8];
	size_t got = 0;

	while (got < sizeof r) {
		ssize_t n = getrandom(r + got, sizeof r - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* Cannot happen on Linux >= 3.17; O_EXCL still
			 * guards against a clash. */
			unsigned long v = (unsigned long)getpid() ^
			    (unsigned long)time(NULL) ^ (unsigned long)clock();

			memcpy(r, &v, sizeof r < sizeof v ? sizeof r : sizeof v);
			break;
		}
		got += (size_t)n;
	}
	snprintf(out, TMP_NAME_MAX, TMP_PREFIX "%02x%02x%02x%02x%02x%02x%02x%02x",
	    r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
}

static int
fsync_dir(int fd)
{
	/* Some file systems refuse fsync on a directory: not an error. */
	if (fsync(fd) < 0 && errno != EINVAL && errno != EROFS)
		return -1;
	return 0;
}

static int
write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Write n bytes as name in dirfd through a temporary file and a rename.
 * Returns 0 or -1 (errno set, nothing left behind).
 */
static int
replace_file(int dirfd, const char *name, const void *data, size_t n)
{
	char tmp[TMP_NAME_MAX];
	int fd, e;

	tmp_name(tmp);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0644);
	if (fd < 0)
		return -1;
	if (write_all(fd, data, n) < 0 || fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (renameat(dirfd, tmp, dirfd, name) < 0)
		goto fail;
	return fsync_dir(dirfd);
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlinkat(dirfd, tmp, 0);
	errno = e;
	return -1;
}

static int
mkdir_at(int dirfd, const char *name)
{
	if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* Remove temporary files a dead process left, once they are stale. */
static void
sweep_stale(struct ocistore *st, int dirfd)
{
	int fd = dup(dirfd);
	time_t now = time(NULL);
	struct dirent *d;
	DIR *dir;

	if (fd < 0)
		return;
	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((d = readdir(dir)) != NULL) {
		struct stat sb;

		if (strncmp(d->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) != 0)
			continue;
		if (fstatat(dirfd, d->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
		    now - sb.st_mtime < STALE_TMP_SECONDS)
			continue;
		if (unlinkat(dirfd, d->d_name, 0) == 0)
			log_info("%s: removed stale temporary file %s", st->dir,
			    d->d_name);
	}
	/* The stream's position is shared with dirfd: rewind for others. */
	rewinddir(dir);
	closedir(dir);
}

enum ocistore_status
ocistore_open(const char *dir, struct ocistore **out)
{
	struct ocistore *st;
	int blobs = -1;

	*out = NULL;
	if ((st = calloc(1, sizeof *st)) == NULL ||
	    (st->dir = strdup(dir)) == NULL) {
		log_error("out of memory opening the image store");
		free(st);
		return OCISTORE_IO;
	}
	st->root_fd = st->blob_fd = -1;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		log_error("%s: cannot create the image store: %s", dir,
		    strerror(errno));
		goto fail;
	}
	st->root_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->root_fd < 0) {
		log_error("%s: cannot open the image store: %s", dir,
		    strerror(errno));
		goto fail;
	}
	if (mkdir_at(st->root_fd, "blobs") < 0 ||
	    (blobs = openat(st->root_fd, "blobs", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC | O_NOFOLLOW)) < 0 || mkdir_at(blobs, "sha256") < 0 ||
	    (st->blob_fd = openat(blobs, "sha256", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC | O_NOFOLLOW)) < 0) {
		log_error("%s: cannot create blobs/sha256: %s", dir,
		    strerror(errno));
		goto fail;
	}
	close(blobs);
	blobs = -1;
	if (faccessat(st->root_fd, "oci-layout", F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT || replace_file(st->root_fd, "oci-layout",
		    LAYOUT_TEXT, strlen(LAYOUT_TEXT)) < 0) {
			log_error("%s: cannot write oci-layout: %s", dir,
			    strerror(errno));
			goto fail;
		}
	}
	sweep_stale(st, st->blob_fd);
	sweep_stale(st, st->root_fd);
	*out = st;
	return OCISTORE_OK;
fail:
	if (blobs >= 0)
		close(blobs);
	ocistore_close(st);
	return OCISTORE_IO;
}

void
ocistore_close(struct ocistore *st)
{
	if (st == NULL)
		return;
	if (st->blob_fd >= 0)
		close(st->blob_fd);
	if (st->root_fd >= 0)
		close(st->root_fd);
	free(st->dir);
	free(st);
}

int
ocistore_has_blob(const struct ocistore *st, const char *digest,
                  long long size)
{
	struct stat sb;

	if (!digest_valid(digest))
		return -1;
	if (fstatat(st->blob_fd, digest + 7, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(sb.st_mode))
		return 0;
	return size < 0 || (long long)sb.st_size == size;
}

enum ocistore_status
ocistore_blob_begin(struct ocistore *st, const char *digest, long long size,
                    struct ocistore_blob **out)
{
	struct ocistore_blob *b;

	*out = NULL;
	if (!digest_valid(digest))
		return OCISTORE_INVALID;
	if ((b = calloc(1, sizeof *b)) == NULL) {
		log_error("out of memory starting a blob");
		return OCISTORE_IO;
	}
	b->st = st;
	b->expect = size;
	memcpy(b->hex, digest + 7, 65);
	if (gcry_md_open(&b->md, GCRY_MD_SHA256, 0) != 0) {
		log_error("gcry_md_open(SHA256) failed");
		free(b);
		return OCISTORE_IO;
	}
	tmp_name(b->tmp);
	b->fd = openat(st->blob_fd, b->tmp, O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC | O_NOFOLLOW, 0644);
	if (b->fd < 0) {
		log_error("%s/blobs/sha256/%s: %s", st->dir, b->tmp,
		    strerror(errno));
		gcry_md_close(b->md);
		free(b);
		return OCISTORE_IO;
	}
	*out = b;
	return OCISTORE_OK;
}

enum ocistore_status
ocistore_blob_write(struct ocistore_blob *b, const void *buf, size_t n)
{
	if (b->expect >= 0 &&
	    (unsigned long long)b->expect - b->written < (unsigned long long)n)
		return OCISTORE_SIZE;
	if (write_all(b->fd, buf, n) < 0) {
		log_error("%s/blobs/sha256/%s: write: %s", b->st->dir, b->tmp,
		    strerror(errno));
		return OCISTORE_IO;
	}
	gcry_md_write(b->md, buf, n);
	b->written += n;
	return OCISTORE_OK;
}

unsigned long long
ocistore_blob_written(const struct ocistore_blob *b)
{
	return b->written;
}

void
ocistore_blob_abort(struct ocistore_blob *b)
{
	if (b == NULL)
		return;
	if (b->fd >= 0)
		close(b->fd);
	unlinkat(b->st->blob_fd, b->tmp, 0);
	gcry_md_close(b->md);
	free(b);
}

enum ocistore_status
ocistore_blob_commit(struct ocistore_blob *b)
{
	static const char hexd[] = "0123456789abcdef";
	const unsigned char *sum;
	char got[65];
	int fd;

	if (b->expect >= 0 && b->written != (unsigned long long)b->expect) {
		ocistore_blob_abort(b);
		return OCISTORE_SIZE;
	}
	sum = gcry_md_read(b->md, GCRY_MD_SHA256);
	for (int i = 0; i < 32; i++) {
		got[2 * i] = hexd[sum[i] >> 4];
		got[2 * i + 1] = hexd[sum[i] & 15];
	}
	got[64] = '\0';
	if (strcmp(got, b->hex) != 0) {
		ocistore_blob_abort(b);
		return OCISTORE_DIGEST;
	}
	fd = b->fd;
	b->fd = -1;
	if (fsync(fd) < 0 || close(fd) < 0) {
		log_error("%s/blobs/sha256/%s: %s", b->st->dir, b->tmp,
		    strerror(errno));
		ocistore_blob_abort(b);
		return OCISTORE_IO;
	}
	if (renameat(b->st->blob_fd, b->tmp, b->st->blob_fd, b->hex) < 0 ||
	    fsync_dir(b->st->blob_fd) < 0) {
		log_error("%s/blobs/sha256/%s: rename: %s", b->st->dir, b->hex,
		    strerror(errno));
		ocistore_blob_abort(b);
		return OCISTORE_IO;
	}
	gcry_md_close(b->md);
	free(b);
	return OCISTORE_OK;
}

enum ocistore_status
ocistore_put_blob(struct ocistore *st, const char *digest, const void *data,
                  size_t len)
{
	struct ocistore_blob *b;
	enum ocistore_status s;

	if ((s = ocistore_blob_begin(st, digest, (long long)len, &b)) !=
	    OCISTORE_OK)
		return s;
	if ((s = ocistore_blob_write(b, data, len)) != OCISTORE_OK) {
		ocistore_blob_abort(b);
		return s;
	}
	return ocistore_blob_commit(b);
}

static bool
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/*
 * ref       ::= component ("/" component)*
 * component ::= alphanum (separator alphanum)*
 * alphanum  ::= [A-Za-z0-9]+
 * separator ::= [-._:@+] | "--"
 */
int
ocistore_ref_valid(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;
	bool need_alnum = true;

	if (n == 0 || n > 255)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (is_alnum(s[i])) {
			need_alnum = false;
			continue;
		}
		if (need_alnum)
			return 0;
		if (s[i] == '-' && i + 1 < n && s[i + 1] == '-')
			i++;
		else if (strchr("-._:@+/", s[i]) == NULL)
			return 0;
		need_alnum = true;
	}
	return !need_alnum;
}

/* Read index.json whole into a NUL-terminated malloc'd buffer.
 * Returns 1 when read, 0 when absent, -1 on error (logged). */
static int
read_index(struct ocistore *st, char **buf, size_t *len)
{
	struct stat sb;
	size_t got = 0;
	char *b;
	int fd;

	*buf = NULL;
	*len = 0;
	fd = openat(st->root_fd, "index.json", O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		log_error("%s/index.json: %s", st->dir, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > INDEX_MAX_BYTES) {
		log_error("%s/index.json: not a regular file of at most 64 MiB",
		    st->dir);
		close(fd);
		return -1;
	}
	if ((b = malloc((size_t)sb.st_size + 1)) == NULL) {
		close(fd);
		log_error("out of memory reading index.json");
		return -1;
	}
	while (got < (size_t)sb.st_size) {
		ssize_t r = read(fd, b + got, (size_t)sb.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (got != (size_t)sb.st_size) {
		log_error("%s/index.json: short read", st->dir);
		free(b);
		return -1;
	}
	b[got] = '\0';
	*buf = b;
	*len = got;
	return 1;
}

/* The entry's ref name annotation, or NULL. */
static const char *
entry_ref(struct json_object *e)
{
	struct json_object *ann, *v;

	if (!json_object_is_type(e, json_type_object) ||
	    !json_object_object_get_ex(e, "annotations", &ann) ||
	    !json_object_is_type(ann, json_type_object) ||
	    !json_object_object_get_ex(ann, REF_NAME_KEY, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static struct json_object *
platform_object(const char *platform)
{
	struct json_object *p = json_object_new_object();
	const char *a = strchr(platform, '/'), *b;

	if (p == NULL || a == NULL)
		goto fail;
	b = strchr(a + 1, '/');
	if (json_object_object_add(p, "architecture",
	    b != NULL ? json_object_new_string_len(a + 1, (int)(b - a - 1)) :
	    json_object_new_string(a + 1)) < 0 ||
	    json_object_object_add(p, "os", json_object_new_string_len(platform,
	    (int)(a - platform))) < 0)
		goto fail;
	if (b != NULL && json_object_object_add(p, "variant",
	    json_object_new_string(b + 1)) < 0)
		goto fail;
	return p;
fail:
	json_object_put(p);
	return NULL;
}

static struct json_object *
new_descriptor(const char *ref_name, const char *media_type,
               const char *digest, long long size, const char *platform)
{
	struct json_object *d = json_object_new_object(), *ann, *p;

	if (d == NULL)
		return NULL;
	if (json_object_object_add(d, "mediaType",
	    json_object_new_string(media_type)) < 0 ||
	    json_object_object_add(d, "digest",
	    json_object_new_string(digest)) < 0 ||
	    json_object_object_add(d, "size", json_object_new_int64(size)) < 0)
		goto fail;
	if ((ann = json_object_new_object()) == NULL ||
	    json_object_object_add(d, "annotations", ann) < 0 ||
	    json_object_object_add(ann, REF_NAME_KEY,
	    json_object_new_string(ref_name)) < 0)
		goto fail;
	if (platform != NULL) {
		if ((p = platform_object(platform)) == NULL ||
		    json_object_object_add(d, "platform", p) < 0)
			goto fail;
	}
	return d;
fail:
	json_object_put(d);
	return NULL;
}

/* The index with entry d for ref_name; takes d's reference. */
static enum ocistore_status
merge_index(struct ocistore *st, struct json_object **rootp,
            const char *ref_name, struct json_object *d)
{
	struct json_object *root = *rootp, *old, *list = NULL;
	char *buf = NULL;
	const char *why;
	size_t len;
	int r;

	if ((r = read_index(st, &buf, &len)) < 0) {
		json_object_put(d);
		return OCISTORE_IO;
	}
	if (r == 1 && jsonin_parse(buf, len, &root, &why) != JSONIN_OK) {
		log_error("%s/index.json is not a JSON object (it %s): left "
		    "alone", st->dir, why);
		free(buf);
		json_object_put(d);
		return OCISTORE_CORRUPT;
	}
	free(buf);
	if (root == NULL && (root = json_object_new_object()) == NULL)
		goto nomem;
	*rootp = root;
	if (json_object_object_get_ex(root, "manifests", &old) &&
	    !json_object_is_type(old, json_type_array)) {
		log_error("%s/index.json: manifests is not an array: left alone",
		    st->dir);
		json_object_put(d);
		return OCISTORE_CORRUPT;
	}
	if ((list = json_object_new_array()) == NULL)
		goto nomem;
	if (json_object_object_get_ex(root, "manifests", &old)) {
		size_t n = json_object_array_length(old);

		for (size_t i = 0; i < n; i++) {
			struct json_object *e = json_object_array_get_idx(old, i);
			const char *ref = entry_ref(e);

			if (ref != NULL && strcmp(ref, ref_name) == 0)
				continue;
			if (json_object_array_add(list, json_object_get(e)) < 0)
				goto nomem;
		}
	}
	if (json_object_array_add(list, d) < 0) {
		d = NULL;
		goto nomem;
	}
	d = NULL;
	if (json_object_object_add(root, "schemaVersion",
	    json_object_new_int(2)) < 0 ||
	    json_object_object_add(root, "manifests", list) < 0) {
		list = NULL;
		goto nomem;
	}
	return OCISTORE_OK;
nomem:
	json_object_put(d);
	json_object_put(list);
	log_error("out of memory updating index.json");
	return OCISTORE_IO;
}

enum ocistore_status
ocistore_set_ref(struct ocistore *st, const char *ref_name,
                 const char *media_type, const char *digest, long long size,
                 const char *platform)
{
	struct json_object *root = NULL, *d;
	enum ocistore_status s = OCISTORE_IO;
	const char *text;
	int lock;

	if (!ocistore_ref_valid(ref_name) || !digest_valid(digest) ||
	    size < 0 || media_type == NULL || *media_type == '\0' ||
	    (platform != NULL && strchr(platform, '/') == NULL))
		return OCISTORE_INVALID;
	if ((d = new_descriptor(ref_name, media_type, digest, size,
	    platform)) == NULL) {
		log_error("out of memory updating index.json");
		return OCISTORE_IO;
	}
	lock = openat(st->root_fd, ".index.lock", O_RDWR | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0644);
	if (lock < 0) {
		log_error("%s/.index.lock: %s", st->dir, strerror(errno));
		json_object_put(d);
		return OCISTORE_IO;
	}
	while (flock(lock, LOCK_EX) < 0) {
		if (errno != EINTR) {
			log_error("%s/.index.lock: flock: %s", st->dir,
			    strerror(errno));
			json_object_put(d);
			goto out;
		}
	}
	if ((s = merge_index(st, &root, ref_name, d)) != OCISTORE_OK)
		goto out;
	s = OCISTORE_IO;
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (text == NULL) {
		log_error("out of memory writing index.json");
		goto out;
	}
	if (replace_file(st->root_fd, "index.json", text, strlen(text)) < 0) {
		log_error("%s/index.json: %s", st->dir, strerror(errno));
		goto out;
	}
	s = OCISTORE_OK;
out:
	json_object_put(root);
	close(lock);		/* releases the flock */
	return s;
}

int
ocistore_blob_lock(struct ocistore *st, const char *digest)
{
	char name[8];
	int fd;

	if (strncmp(digest, "sha256:", 7) != 0 || strlen(digest) != 71)
		return -1;
	if (mkdir_at(st->root_fd, ".blob-locks") != 0)
		return -1;
	snprintf(name, sizeof name, "%.2s", digest + 7);
	{
		int dir = openat(st->root_fd, ".blob-locks", O_RDONLY |
		    O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (dir < 0) {
			log_error("%s/.blob-locks: %s", st->dir, strerror(errno));
			return -1;
		}
		fd = openat(dir, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		    0644);
		close(dir);
	}
	if (fd < 0) {
		log_error("%s/.blob-locks/%s: %s", st->dir, name, strerror(errno));
		return -1;
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			log_error("%s/.blob-locks/%s: %s", st->dir, name,
			    strerror(errno));
			close(fd);
			return -1;
		}
	}
	return fd;
}

void
ocistore_blob_unlock(int lock_fd)
{
	if (lock_fd >= 0)
		close(lock_fd);	/* releases the flock */
}
