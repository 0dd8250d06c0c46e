#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>
#include <dirent.h>
#include <time.h>
#include "tap.h"
#include <sys/wait.h>
#include <sys/file.h>
#include <fcntl.h>
#include "crypto.h"
#include "ocistore.h"

static char root[64];

/* root + suffix, in one of 8 rotating buffers. */
static const char *
path(const char *suffix)
{
	static char bufs[8][256];
	static int i;
	char *b = bufs[i++ % 8];

	snprintf(b, 256, "%s/store%s", root, suffix);
	return b;
}

static char *slurp(const char *p) { FILE *f = fopen(p, "r"); static char b[65536]; size_t n; if (!f) return NULL; n = fread(b, 1, sizeof b - 1, f); b[n] = 0; fclose(f); return b; }
static int count_tmp(const char *d) { DIR *x = opendir(d); struct dirent *e; int n = 0; if (!x) return -1; while ((e = readdir(x))) if (!strncmp(e->d_name, ".tmp-", 5)) n++; closedir(x); return n; }
#define DG(h) "sha256:" h
int main(void)
{
	struct ocistore *st; struct ocistore_blob *b; char *t;
	const char *dir;
	/* sha256("hello") */
	const char *hello = DG("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
	const char *other = DG("0000000000000000000000000000000000000000000000000000000000000000");
	crypto_init();
	strcpy(root, "/tmp/modbox-ocitest-XXXXXX");
	if (mkdtemp(root) == NULL)
		return 1;
	{
		static char dirbuf[256];
		snprintf(dirbuf, sizeof dirbuf, "%s", path(""));
		dir = dirbuf;
	}
	
	ok(ocistore_open(dir, &st) == OCISTORE_OK, "open creates");
	is_str(slurp(path("/oci-layout")), "{\"imageLayoutVersion\":\"1.0.0\"}", "oci-layout");
	ok(ocistore_has_blob(st, hello, 5) == 0, "absent");
	ok(ocistore_has_blob(st, "sha256:abc", 5) == -1, "bad digest");
	ok(ocistore_put_blob(st, other, "hello", 5) == OCISTORE_DIGEST, "wrong digest refused");
	ok(count_tmp(path("/blobs/sha256")) == 0, "no tmp left after mismatch");
	ok(ocistore_has_blob(st, other, -1) == 0, "mismatched blob absent");
	ok(ocistore_put_blob(st, hello, "hello", 5) == OCISTORE_OK, "put");
	ok(ocistore_has_blob(st, hello, 5) == 1 && ocistore_has_blob(st, hello, -1) == 1 && ocistore_has_blob(st, hello, 6) == 0, "has_blob size check");
	ok(ocistore_blob_begin(st, hello, 4, &b) == OCISTORE_OK && ocistore_blob_write(b, "hello", 5) == OCISTORE_SIZE, "overrun refused");
	ocistore_blob_abort(b);
	ok(ocistore_blob_begin(st, hello, 5, &b) == OCISTORE_OK && ocistore_blob_write(b, "hell", 4) == OCISTORE_OK && ocistore_blob_commit(b) == OCISTORE_SIZE, "short refused");
	ok(ocistore_blob_begin(st, hello, -1, &b) == OCISTORE_OK && ocistore_blob_write(b, "hel", 3) == OCISTORE_OK && ocistore_blob_write(b, "lo", 2) == OCISTORE_OK && ocistore_blob_written(b) == 5 && ocistore_blob_commit(b) == OCISTORE_OK, "streamed in two pieces, unknown size");
	ok(count_tmp(path("/blobs/sha256")) == 0, "no tmp left");
	ok(ocistore_set_ref(st, "a:1", "application/vnd.oci.image.manifest.v1+json", hello, 5, NULL) == OCISTORE_OK, "set a:1");
	ok(ocistore_set_ref(st, "b", "application/vnd.oci.image.manifest.v1+json", hello, 5, "linux/arm64/v8") == OCISTORE_OK, "set b");
	ok(ocistore_set_ref(st, "a:1", "application/vnd.oci.image.manifest.v1+json", other, 7, NULL) == OCISTORE_OK, "replace a:1");
	t = slurp(path("/index.json"));
	printf("# %s\n", t);
	ok(strstr(t, other) && strstr(t, "\"variant\":\"v8\"") && strstr(t, hello) && strstr(t, "\"b\"") && !strstr(strstr(t, "a:1") + 1, "a:1"), "index has b and the new a:1 only once");
	ok(ocistore_set_ref(st, "-bad", "x", hello, 5, NULL) == OCISTORE_INVALID, "bad ref");
	ok(ocistore_set_ref(st, "a", "x", "sha256:1", 5, NULL) == OCISTORE_INVALID, "bad digest");
	ok(ocistore_set_ref(st, "a", "x", hello, -1, NULL) == OCISTORE_INVALID, "bad size");
	/* foreign entries and fields kept */
	FILE *f = fopen(path("/index.json"), "w");
	fputs("{\"schemaVersion\":2,\"annotations\":{\"k\":\"v\"},\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:1111111111111111111111111111111111111111111111111111111111111111\",\"size\":3}]}", f); fclose(f);
	ok(ocistore_set_ref(st, "c", "application/vnd.oci.image.manifest.v1+json", hello, 5, NULL) == OCISTORE_OK, "set c over a foreign index");
	t = slurp(path("/index.json"));
	ok(strstr(t, "\"k\":\"v\"") && strstr(t, "1111111111") && strstr(t, "\"c\""), "foreign fields and entries kept");
	f = fopen(path("/index.json"), "w"); fputs("{not json", f); fclose(f);
	ok(ocistore_set_ref(st, "c", "x/y", hello, 5, NULL) == OCISTORE_CORRUPT, "corrupt index refused");
	is_str(slurp(path("/index.json")), "{not json", "corrupt index left alone");
	f = fopen(path("/index.json"), "w"); fputs("{\"manifests\":{}}", f); fclose(f);
	ok(ocistore_set_ref(st, "c", "x/y", hello, 5, NULL) == OCISTORE_CORRUPT, "manifests not array refused");
	ok(count_tmp(path("")) == 0, "no tmp in root");
	ocistore_close(st);
	/* stale sweep */
	f = fopen(path("/blobs/sha256/.tmp-old"), "w"); fclose(f);
	f = fopen(path("/blobs/sha256/.tmp-new"), "w"); fclose(f);
	struct utimbuf ut = { time(NULL) - 2 * 86400, time(NULL) - 2 * 86400 };
	utime(path("/blobs/sha256/.tmp-old"), &ut);
	ok(ocistore_open(dir, &st) == OCISTORE_OK, "reopen");
	ok(access(path("/blobs/sha256/.tmp-old"), F_OK) != 0 && access(path("/blobs/sha256/.tmp-new"), F_OK) == 0, "stale tmp swept, fresh kept");
	{
		/* the blob lock is exclusive between processes */
		int fd = ocistore_blob_lock(st, hello), pfd[2], status = 0;
		pid_t pid;
		char c = 0;

		ok(fd >= 0, "blob lock taken");
		if (pipe(pfd) == 0 && (pid = fork()) == 0) {
			int lf = open(path("/.blob-locks/2c"), O_RDWR);
			c = (lf >= 0 && flock(lf, LOCK_EX | LOCK_NB) < 0) ? 'b' : 'f';
			(void)!write(pfd[1], &c, 1);
			_exit(0);
		}
		(void)!read(pfd[0], &c, 1);
		waitpid(-1, &status, 0);
		ok(c == 'b', "another process cannot take the same stripe meanwhile");
		ocistore_blob_unlock(fd);
		fd = open(path("/.blob-locks/2c"), O_RDWR);
		ok(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0, "free again after unlock");
		if (fd >= 0)
			close(fd);
		ok(ocistore_blob_lock(st, "sha256:xyz") == -1, "bad digest: no lock");
	}
	ocistore_close(st);
	ok(ocistore_ref_valid("127.0.0.1:5000/team/app:v1") && ocistore_ref_valid("a--b") && ocistore_ref_valid("v1.0+x@y") && !ocistore_ref_valid("a---b") && !ocistore_ref_valid("a//b") && !ocistore_ref_valid("a/") && !ocistore_ref_valid("") && !ocistore_ref_valid("[::1]:5000/a:b") && !ocistore_ref_valid("a b"), "ref grammar");
	ok(ocistore_open("/nonexistent/x/y", &st) == OCISTORE_IO && st == NULL, "open fails cleanly");
	{
		char cmd[128];
		snprintf(cmd, sizeof cmd, "rm -rf %s", root);
		(void)!system(cmd);
	}
	return done_testing();
}
