/*
 * crypto: see crypto.h.
 *
 * The ring is a small array of (id, key) pairs in libgcrypt secure memory,
 * sized exactly by a first pass over the text; lookups are linear (a ring
 * holds a handful of keys, at most KEYRING_MAX_KEYS).  The parser never
 * copies a line anywhere but the secure scratch it decodes into, and its
 * messages name only the line number, so no key material reaches an error
 * string or a log.  File text is read with read(2) (no stdio buffers) into
 * a heap buffer that is wiped before it is freed.
 *
 * keyring_generate opens the file once (O_APPEND, created 0600 if absent),
 * takes an exclusive flock so two generators cannot pick the same id, runs
 * the keyring_load checks on that descriptor, appends one line, fsyncs,
 * and on a short write truncates back so a key file is never left with
 * half a line.
 *
 * Build with -DCRYPTO_TESTING_PLAIN_MEMORY only for sanitizer and valgrind
 * runs: libgcrypt then serves "secure" allocations from malloc, so those
 * tools can see overflows and leaks in them (the secure pool is invisible
 * to both).  Production builds must not define it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* explicit_bzero */
#endif

#include "crypto.h"

#include "b64.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <gcrypt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef NEED_LIBGCRYPT_VERSION
#define NEED_LIBGCRYPT_VERSION "1.9.0"
#endif

#define SECMEM_POOL_SIZE (64 * 1024)
#define KEYFILE_MAX_SIZE (1024 * 1024)
#define KEYRING_MAX_KEYS 1024
#define KEY_ID_MAX 2147483647u
/* Longest key token worth decoding: 64 characters decode to at most 48
 * bytes, enough to tell "too long" from "not base64". */
#define KEY_TOKEN_MAX 64
#define KEY_SCRATCH_LEN 48

struct key {
	uint32_t id;
	unsigned char k[CRYPTO_KEY_LEN];
};

struct keyring {
	struct key *keys;	/* secure memory, n entries */
	size_t n;
	size_t newest;		/* index of the highest id; valid when n > 0 */
};

static bool crypto_ready;

int
crypto_init(void)
{
	if (crypto_ready)
		return 0;
	if (!gcry_check_version(NEED_LIBGCRYPT_VERSION)) {
		log_error("libgcrypt %s is too old (need %s)",
		    gcry_check_version(NULL), NEED_LIBGCRYPT_VERSION);
		return -1;
	}
	/* Someone else in the process may have finished set-up already. */
	if (!gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P)) {
#ifdef CRYPTO_TESTING_PLAIN_MEMORY
		gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
#else
		/* Without mlock permission libgcrypt still sets up the pool,
		 * unlocked; the warning about that is turned off. */
		gcry_control(GCRYCTL_DISABLE_SECMEM_WARN);
		gcry_control(GCRYCTL_INIT_SECMEM, SECMEM_POOL_SIZE, 0);
#endif
		gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	}
	crypto_ready = true;
	return 0;
}

__attribute__((format(printf, 3, 4))) static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static const char *
skip_blanks(const char *p, const char *end)
{
	while (p < end && is_blank(*p))
		p++;
	return p;
}

static const char *
skip_token(const char *p, const char *end)
{
	while (p < end && !is_blank(*p))
		p++;
	return p;
}

/* Parse a canonical decimal key id: digits only, no leading zero, in
 * 1..KEY_ID_MAX.  Returns NULL or a problem description. */
static const char *
parse_key_id(const char *s, size_t len, uint32_t *id)
{
	unsigned long v = 0;

	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return "key id is not a decimal number";
	if (len > 1 && s[0] == '0')
		return "key id has leading zeros";
	if (len > 10)
		return "key id out of range (1 to 2147483647)";
	for (size_t i = 0; i < len; i++)
		v = v * 10 + (unsigned long)(s[i] - '0');
	if (v < 1 || v > KEY_ID_MAX)
		return "key id out of range (1 to 2147483647)";
	*id = (uint32_t)v;
	return NULL;
}

static bool
is_comment_or_blank(const char *p, const char *end)
{
	p = skip_blanks(p, end);
	return p == end || *p == '#';
}

static struct keyring *
ring_alloc(size_t n)
{
	struct keyring *ring;

	if ((ring = calloc(1, sizeof *ring)) == NULL)
		return NULL;
	if (n > 0 &&
	    (ring->keys = gcry_calloc_secure(n, sizeof *ring->keys)) == NULL) {
		free(ring);
		return NULL;
	}
	return ring;
}

/* The parser behind keyring_parse, keyring_load and keyring_generate;
 * allow_empty lets keyring_generate start from a file without keys. */
static int
parse_ring(const char *text, size_t len, const char *name, bool allow_empty,
           struct keyring **out, char *err, size_t errlen)
{
	const char *end, *p, *eol, *tok, *tokend;
	struct keyring *ring = NULL;
	unsigned char *scratch = NULL;
	const char *problem;
	size_t nlines = 0, lineno = 0;
	uint32_t id;
	long got;
	int rc = -1;

	*out = NULL;
	if (name == NULL)
		name = "keyring";
	if (text == NULL) {
		text = "";
		len = 0;
	}
	end = text + len;

	/* First pass: count candidate key lines to size the array. */
	for (p = text; p < end; p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		if (!is_comment_or_blank(p, eol))
			nlines++;
		if (eol == end)
			break;
	}
	if (nlines > KEYRING_MAX_KEYS) {
		set_err(err, errlen, "%s: too many keys (at most %d)", name,
		    KEYRING_MAX_KEYS);
		goto out;
	}
	if ((ring = ring_alloc(nlines)) == NULL ||
	    (scratch = gcry_malloc_secure(KEY_SCRATCH_LEN)) == NULL) {
		set_err(err, errlen, "%s: out of secure memory", name);
		goto out;
	}

	for (p = text; p < end; p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		lineno++;
		if (is_comment_or_blank(p, eol))
			goto next;

		tok = skip_blanks(p, eol);
		tokend = skip_token(tok, eol);
		if ((problem = parse_key_id(tok, (size_t)(tokend - tok),
		    &id)) != NULL) {
			set_err(err, errlen, "%s:%zu: %s", name, lineno,
			    problem);
			goto out;
		}
		for (size_t i = 0; i < ring->n; i++) {
			if (ring->keys[i].id == id) {
				set_err(err, errlen,
				    "%s:%zu: duplicate key id %u", name,
				    lineno, (unsigned)id);
				goto out;
			}
		}

		tok = skip_blanks(tokend, eol);
		tokend = skip_token(tok, eol);
		if (tok == tokend) {
			set_err(err, errlen,
			    "%s:%zu: expected \"ID BASE64\" (no key after id)",
			    name, lineno);
			goto out;
		}
		if (skip_blanks(tokend, eol) != eol) {
			set_err(err, errlen,
			    "%s:%zu: expected \"ID BASE64\" (text after key)",
			    name, lineno);
			goto out;
		}
		if ((size_t)(tokend - tok) > KEY_TOKEN_MAX)
			got = KEY_SCRATCH_LEN + 1;
		else if ((got = b64_decode(tok, (size_t)(tokend - tok),
		    scratch, KEY_SCRATCH_LEN)) < 0) {
			set_err(err, errlen, "%s:%zu: key is not valid base64",
			    name, lineno);
			goto out;
		}
		if (got != CRYPTO_KEY_LEN) {
			set_err(err, errlen,
			    "%s:%zu: key must be exactly %d bytes", name,
			    lineno, CRYPTO_KEY_LEN);
			goto out;
		}
		ring->keys[ring->n].id = id;
		memcpy(ring->keys[ring->n].k, scratch, CRYPTO_KEY_LEN);
		crypto_wipe(scratch, KEY_SCRATCH_LEN);
		if (ring->n == 0 || id > ring->keys[ring->newest].id)
			ring->newest = ring->n;
		ring->n++;
next:
		if (eol == end)
			break;
	}
	if (ring->n == 0 && !allow_empty) {
		set_err(err, errlen, "%s: no keys", name);
		goto out;
	}
	*out = ring;
	ring = NULL;
	rc = 0;
out:
	if (scratch != NULL) {
		crypto_wipe(scratch, KEY_SCRATCH_LEN);
		gcry_free(scratch);
	}
	keyring_free(ring);
	return rc;
}

int
keyring_parse(const char *text, size_t len, const char *name,
              struct keyring **out, char *err, size_t errlen)
{
	return parse_ring(text, len, name, false, out, err, errlen);
}

/* Check that fd is a private regular file of sane size and read all of it
 * into a malloc'd buffer (*buf, *len; the caller wipes and frees it). */
static int
read_key_fd(int fd, const char *path, char **buf, size_t *len, char *err,
            size_t errlen)
{
	struct stat st;
	size_t cap, got = 0;
	ssize_t r;
	char *b;

	*buf = NULL;
	*len = 0;
	if (fstat(fd, &st) == -1) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		set_err(err, errlen, "%s: key file is not a regular file",
		    path);
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		set_err(err, errlen, "%s: key file must not be accessible by "
		    "group or others (mode 0600)", path);
		return -1;
	}
	if (st.st_size < 0 || st.st_size > KEYFILE_MAX_SIZE) {
		set_err(err, errlen, "%s: key file is larger than %d bytes",
		    path, KEYFILE_MAX_SIZE);
		return -1;
	}
	/* One spare byte to notice a file that grows while we read. */
	cap = (size_t)st.st_size + 1;
	if ((b = malloc(cap)) == NULL) {
		set_err(err, errlen, "%s: out of memory", path);
		return -1;
	}
	while (got < cap) {
		r = read(fd, b + got, cap - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			set_err(err, errlen, "%s: read: %s", path,
			    strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	if (got == cap) {
		set_err(err, errlen, "%s: key file changed while being read",
		    path);
		goto fail;
	}
	*buf = b;
	*len = got;
	return 0;
fail:
	crypto_wipe(b, cap);
	free(b);
	return -1;
}

static void
open_error(const char *path, int e, char *err, size_t errlen)
{
	if (e == ELOOP)
		set_err(err, errlen, "%s: key file is a symbolic link", path);
	else
		set_err(err, errlen, "%s: %s", path, strerror(e));
}

int
keyring_load(const char *path, struct keyring **out, char *err,
             size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	int fd, rc = -1;

	*out = NULL;
	/* O_NONBLOCK: a FIFO planted at PATH must not hang us before the
	 * regular-file check. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK);
	if (fd == -1) {
		open_error(path, errno, err, errlen);
		return -1;
	}
	if (read_key_fd(fd, path, &buf, &len, err, errlen) == -1)
		goto out;
	rc = parse_ring(buf, len, path, false, out, err, errlen);
out:
	if (buf != NULL) {
		crypto_wipe(buf, len);
		free(buf);
	}
	close(fd);
	return rc;
}

void
keyring_free(struct keyring *ring)
{
	if (ring == NULL)
		return;
	if (ring->keys != NULL) {
		crypto_wipe(ring->keys, ring->n * sizeof *ring->keys);
		gcry_free(ring->keys);
	}
	free(ring);
}

uint32_t
keyring_newest_id(const struct keyring *ring)
{
	if (ring == NULL || ring->n == 0)
		return 0;
	return ring->keys[ring->newest].id;
}

size_t
keyring_count(const struct keyring *ring)
{
	return ring ? ring->n : 0;
}

static const struct key *
ring_find(const struct keyring *ring, uint32_t id)
{
	for (size_t i = 0; i < ring->n; i++)
		if (ring->keys[i].id == id)
			return &ring->keys[i];
	return NULL;
}

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		r = write(fd, p, n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Make a new directory entry durable: fsync the directory holding path. */
static int
fsync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd, rc;

	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL)
		return -1;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int
keyring_generate(const char *path, uint32_t *new_id, char *err,
                 size_t errlen)
{
	/* "\n" + id + " " + base64 + "\n" + NUL */
	char line[1 + 10 + 1 + 44 + 1 + 1];
	struct keyring *ring = NULL;
	unsigned char *key = NULL;
	char *buf = NULL;
	size_t len = 0, linelen;
	bool created = false;
	uint32_t id;
	int fd, n, rc = -1;

	*new_id = 0;
	fd = open(path, O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK);
	if (fd == -1 && errno == ENOENT) {
		fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
		created = fd != -1;
	}
	if (fd == -1) {
		open_error(path, errno, err, errlen);
		return -1;
	}
	if (flock(fd, LOCK_EX) == -1) {
		set_err(err, errlen, "%s: flock: %s", path, strerror(errno));
		goto out;
	}
	if (read_key_fd(fd, path, &buf, &len, err, errlen) == -1 ||
	    parse_ring(buf, len, path, true, &ring, err, errlen) == -1)
		goto out;
	if (keyring_newest_id(ring) >= KEY_ID_MAX) {
		set_err(err, errlen, "%s: no key id left after %u", path,
		    (unsigned)KEY_ID_MAX);
		goto out;
	}
	id = keyring_newest_id(ring) + 1;

	if ((key = gcry_malloc_secure(CRYPTO_KEY_LEN)) == NULL) {
		set_err(err, errlen, "%s: out of secure memory", path);
		goto out;
	}
	gcry_randomize(key, CRYPTO_KEY_LEN, GCRY_VERY_STRONG_RANDOM);
	/* Begin with a newline if the file does not end with one. */
	n = snprintf(line, sizeof line, "%s%u ",
	    len > 0 && buf[len - 1] != '\n' ? "\n" : "", (unsigned)id);
	if (n < 0 || (size_t)n + b64_encoded_len(CRYPTO_KEY_LEN) + 2 >
	    sizeof line) {
		set_err(err, errlen, "%s: internal error", path);
		goto out;
	}
	linelen = (size_t)n + b64_encode(key, CRYPTO_KEY_LEN, line + n);
	line[linelen++] = '\n';
	if (write_all(fd, line, linelen) == -1 || fsync(fd) == -1) {
		set_err(err, errlen, "%s: write: %s", path, strerror(errno));
		/* Do not leave half a line behind. */
		if (ftruncate(fd, (off_t)len) == 0)
			(void)fsync(fd);
		goto out;
	}
	if (created && fsync_parent(path) == -1) {
		set_err(err, errlen, "%s: fsync of directory: %s", path,
		    strerror(errno));
		goto out;
	}
	*new_id = id;
	rc = 0;
out:
	crypto_wipe(line, sizeof line);
	if (key != NULL) {
		crypto_wipe(key, CRYPTO_KEY_LEN);
		gcry_free(key);
	}
	if (buf != NULL) {
		crypto_wipe(buf, len);
		free(buf);
	}
	keyring_free(ring);
	close(fd);		/* releases the lock */
	return rc;
}

/* Open an AES-256-GCM handle keyed with k, IV nonce, fed ad. */
static gcry_cipher_hd_t
gcm_start(const unsigned char *k, const unsigned char *nonce, const void *ad,
          size_t adlen)
{
	gcry_cipher_hd_t h;

	if (gcry_cipher_open(&h, GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_GCM,
	    GCRY_CIPHER_SECURE) != 0)
		return NULL;
	if (gcry_cipher_setkey(h, k, CRYPTO_KEY_LEN) != 0 ||
	    gcry_cipher_setiv(h, nonce, CRYPTO_NONCE_LEN) != 0 ||
	    (adlen > 0 && gcry_cipher_authenticate(h, ad, adlen) != 0) ||
	    gcry_cipher_final(h) != 0) {
		gcry_cipher_close(h);
		return NULL;
	}
	return h;
}

int
crypto_seal(const struct keyring *ring, const void *ad, size_t adlen,
            const void *pt, size_t ptlen, struct sealed *out)
{
	const struct key *key;
	gcry_cipher_hd_t h = NULL;
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (ring == NULL || ring->n == 0 || (ptlen > 0 && pt == NULL) ||
	    (adlen > 0 && ad == NULL))
		return -1;
	key = &ring->keys[ring->newest];
	out->key_id = key->id;
	gcry_create_nonce(out->nonce, CRYPTO_NONCE_LEN);
	if ((h = gcm_start(key->k, out->nonce, ad, adlen)) == NULL)
		goto out;
	if (ptlen > 0) {
		if ((out->ct = malloc(ptlen)) == NULL)
			goto out;
		out->ct_len = ptlen;
		if (gcry_cipher_encrypt(h, out->ct, ptlen, pt, ptlen) != 0)
			goto out;
	}
	if (gcry_cipher_gettag(h, out->tag, CRYPTO_TAG_LEN) != 0)
		goto out;
	rc = 0;
out:
	if (h != NULL)
		gcry_cipher_close(h);
	if (rc != 0)
		sealed_clear(out);
	return rc;
}

int
crypto_open(const struct keyring *ring, const void *ad, size_t adlen,
            const struct sealed *in, char **pt, size_t *ptlen)
{
	const struct key *key;
	gcry_cipher_hd_t h = NULL;
	char *buf = NULL;
	int rc = -1;

	*pt = NULL;
	*ptlen = 0;
	if (ring == NULL || in == NULL || (in->ct_len > 0 && in->ct == NULL) ||
	    in->ct_len == SIZE_MAX || (adlen > 0 && ad == NULL))
		return -1;
	if ((key = ring_find(ring, in->key_id)) == NULL)
		return -1;
	if ((h = gcm_start(key->k, in->nonce, ad, adlen)) == NULL)
		goto out;
	if ((buf = gcry_malloc_secure(in->ct_len + 1)) == NULL)
		goto out;
	if (in->ct_len > 0 &&
	    gcry_cipher_decrypt(h, buf, in->ct_len, in->ct, in->ct_len) != 0)
		goto out;
	/* The tag is a fixed 16-byte array: checktag never sees a
	 * truncated tag. */
	if (gcry_cipher_checktag(h, in->tag, CRYPTO_TAG_LEN) != 0)
		goto out;
	buf[in->ct_len] = '\0';
	*pt = buf;
	*ptlen = in->ct_len;
	buf = NULL;
	rc = 0;
out:
	if (h != NULL)
		gcry_cipher_close(h);
	if (buf != NULL) {
		crypto_wipe(buf, in->ct_len + 1);
		gcry_free(buf);
	}
	return rc;
}

void
crypto_secret_free(char *secret, size_t len)
{
	if (secret == NULL)
		return;
	crypto_wipe(secret, len);
	gcry_free(secret);
}

char *
crypto_secret_dup(const void *src, size_t len)
{
	char *s;

	if (len == SIZE_MAX || (len > 0 && src == NULL))
		return NULL;
	if ((s = gcry_malloc_secure(len + 1)) == NULL)
		return NULL;
	if (len > 0)
		memcpy(s, src, len);
	s[len] = '\0';
	return s;
}

void
sealed_clear(struct sealed *s)
{
	if (s == NULL)
		return;
	free(s->ct);
	memset(s, 0, sizeof *s);
}

void
crypto_random(void *buf, size_t n)
{
	if (n > 0)
		gcry_randomize(buf, n, GCRY_STRONG_RANDOM);
}

void
crypto_sha256(const void *data, size_t n, unsigned char out[32])
{
	static const unsigned char empty = 0;

	/* gcry_md_hash_buffer wants a valid pointer even for n == 0. */
	gcry_md_hash_buffer(GCRY_MD_SHA256, out, n > 0 ? data : &empty, n);
}

int
crypto_memeq(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= x[i] ^ y[i];
	/* 1 when acc == 0, without a branch on the data. */
	return (int)(1 & (((unsigned)acc - 1) >> 8));
}

void
crypto_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		explicit_bzero(p, n);
}
