/*
 * test_crypto: the key ring parser and loader (good rings, each kind of bad
 * line, file-mode and file-type refusals), key generation, and AES-256-GCM
 * sealing: round trips, fresh nonces, and that any change to ciphertext,
 * nonce, tag, associated data, key or key id makes crypto_open fail
 * without handing out plaintext.  Files go under a mkdtemp directory that
 * is removed at the end.
 */
#include "app/b64.h"
#include "app/crypto.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

#ifndef CRYPTO_TESTING_PLAIN_MEMORY
/*
 * The first GCRY_VERY_STRONG_RANDOM draw makes libgcrypt allocate a 128 KiB
 * entropy buffer whose only pointer lives in the secure memory pool, which
 * LeakSanitizer does not scan (valgrind does, and calls it reachable).  In
 * this build every secure allocation is in that pool and invisible to
 * LeakSanitizer anyway, so ignoring leaks from inside libgcrypt loses
 * nothing; a -DCRYPTO_TESTING_PLAIN_MEMORY build needs no suppression.
 */
const char *__lsan_default_suppressions(void);

const char *
__lsan_default_suppressions(void)
{
	return "leak:libgcrypt.so\n";
}
#endif

/* Base64 of 32 bytes all equal to c (44 characters + NUL). */
static void
key_b64(unsigned char c, char out[45])
{
	unsigned char k[CRYPTO_KEY_LEN];

	memset(k, c, sizeof k);
	b64_encode(k, sizeof k, out);
}

/* Base64 of n bytes all equal to c. */
static void
bytes_b64(unsigned char c, size_t n, char *out)
{
	unsigned char k[64];

	memset(k, c, n);
	b64_encode(k, n, out);
}

/* True when err shares no 8-character run with secret. */
static bool
err_is_clean(const char *err, const char *secret)
{
	size_t n = strlen(secret);

	if (n < 8)
		return strstr(err, secret) == NULL;
	for (size_t i = 0; i + 8 <= n; i++)
		if (memmem(err, strlen(err), secret + i, 8) != NULL)
			return false;
	return true;
}

static struct keyring *
parse(const char *text)
{
	struct keyring *ring = NULL;
	char err[256];

	if (keyring_parse(text, strlen(text), "t", &ring, err, sizeof err) != 0)
		printf("# unexpected: %s\n", err);
	return ring;
}

/* NAME inside the test directory; valid until the next call. */
static const char *
tmp_path(const char *name)
{
	static char buf[512];

	snprintf(buf, sizeof buf, "%s/%s", tmpdir, name);
	return buf;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd == -1 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
	    fchmod(fd, mode) == -1) {
		printf("# cannot write %s: %s\n", path, strerror(errno));
		exit(2);
	}
	close(fd);
}

static void
test_parse_good(void)
{
	char k1[45], k2[45], text[512], err[256] = "";
	struct keyring *ring = NULL;

	key_b64(0x11, k1);
	key_b64(0x22, k2);
	snprintf(text, sizeof text, "1 %s\n2 %s\n", k1, k2);
	is_int(keyring_parse(text, strlen(text), "t", &ring, err, sizeof err),
	    0, "two-key ring parses");
	is_int(keyring_count(ring), 2, "two keys");
	is_int(keyring_newest_id(ring), 2, "newest id is 2");
	keyring_free(ring);

	/* Comments, blank lines, blanks around fields, CRLF, no final
	 * newline, ids out of order. */
	snprintf(text, sizeof text,
	    "# modbox master keys\n\n   \n  # indented comment\n"
	    "7\t%s  \r\n\t3  %s", k1, k2);
	ring = NULL;
	is_int(keyring_parse(text, strlen(text), "t", &ring, err, sizeof err),
	    0, "comments, blank lines, tabs, CRLF, no final newline");
	is_int(keyring_count(ring), 2, "comments are not keys");
	is_int(keyring_newest_id(ring), 7, "newest is the highest id, not "
	    "the last line");
	keyring_free(ring);

	snprintf(text, sizeof text, "2147483647 %s\n", k1);
	ring = NULL;
	is_int(keyring_parse(text, strlen(text), "t", &ring, err, sizeof err),
	    0, "id 2^31-1 accepted");
	is_int(keyring_newest_id(ring), 2147483647, "id 2^31-1 kept");
	keyring_free(ring);

	keyring_free(NULL);
	is_int(keyring_count(NULL), 0, "count of NULL ring");
}

static void
bad_ring(const char *text, const char *secret, const char *want,
         const char *what)
{
	struct keyring *ring = (struct keyring *)&ring;
	char err[256] = "";
	int rc;

	rc = keyring_parse(text, strlen(text), "keys.txt", &ring, err,
	    sizeof err);
	ok(rc == -1 && ring == NULL, "refused: %s", what);
	if (!ok(strstr(err, want) != NULL, "message for %s names the problem",
	    what))
		printf("#   got '%s', want '%s'\n", err, want);
	ok(strchr(err, '\n') == NULL, "message for %s is one line", what);
	ok(secret == NULL || err_is_clean(err, secret),
	    "message for %s has no key material", what);
	keyring_free(rc == 0 ? ring : NULL);
}

static void
test_parse_bad(void)
{
	char k[45], k31[64], k33[64], text[512], bad64[45];

	key_b64(0x33, k);
	bytes_b64(0x44, 31, k31);
	bytes_b64(0x55, 33, k33);

	snprintf(text, sizeof text, "x1 %s\n", k);
	bad_ring(text, k, "keys.txt:1: key id is not a decimal", "bad id");
	snprintf(text, sizeof text, "0 %s\n", k);
	bad_ring(text, k, "keys.txt:1: key id out of range", "id 0");
	snprintf(text, sizeof text, "# c\n01 %s\n", k);
	bad_ring(text, k, "keys.txt:2: key id has leading zeros",
	    "leading zero");
	snprintf(text, sizeof text, "+1 %s\n", k);
	bad_ring(text, k, "keys.txt:1: key id is not a decimal", "'+' sign");
	snprintf(text, sizeof text, "-1 %s\n", k);
	bad_ring(text, k, "keys.txt:1: key id is not a decimal", "'-' sign");
	snprintf(text, sizeof text, "2147483648 %s\n", k);
	bad_ring(text, k, "keys.txt:1: key id out of range", "id 2^31");
	snprintf(text, sizeof text, "99999999999999999999 %s\n", k);
	bad_ring(text, k, "keys.txt:1: key id out of range", "id of 20 digits");
	snprintf(text, sizeof text, "1 %s\n\n1 %s\n", k, k);
	bad_ring(text, k, "keys.txt:3: duplicate key id 1", "duplicate id");
	snprintf(text, sizeof text, "1 %s\n", k31);
	bad_ring(text, k31, "keys.txt:1: key must be exactly 32 bytes",
	    "31-byte key");
	snprintf(text, sizeof text, "1 %s\n", k33);
	bad_ring(text, k33, "keys.txt:1: key must be exactly 32 bytes",
	    "33-byte key");
	snprintf(text, sizeof text, "1 %s%s\n", k, k);
	bad_ring(text, k, "keys.txt:1: key must be exactly 32 bytes",
	    "88-character key");
	strcpy(bad64, k);
	bad64[10] = '*';
	snprintf(text, sizeof text, "1 %s\n", bad64);
	bad_ring(text, bad64, "keys.txt:1: key is not valid base64",
	    "bad base64 character");
	strcpy(bad64, k);
	bad64[43] = '\0';	/* drop the padding */
	snprintf(text, sizeof text, "1 %s\n", bad64);
	bad_ring(text, bad64, "keys.txt:1: key is not valid base64",
	    "key without padding");
	bad_ring("", NULL, "keys.txt: no keys", "empty text");
	bad_ring("# only a comment\n\n", NULL, "keys.txt: no keys",
	    "comments only");
	snprintf(text, sizeof text, "%s\n", k);
	bad_ring(text, k, "keys.txt:1: key id is not a decimal",
	    "key without id");
	bad_ring("1\n", NULL, "keys.txt:1: expected \"ID BASE64\"",
	    "id without key");
	snprintf(text, sizeof text, "1 %s extra\n", k);
	bad_ring(text, k, "keys.txt:1: expected \"ID BASE64\"",
	    "text after key");
	snprintf(text, sizeof text, "1 %s\nhello world\n", k);
	bad_ring(text, k, "keys.txt:2: key id is not a decimal",
	    "garbage line");
	snprintf(text, sizeof text, "1=%s\n", k);
	bad_ring(text, k, "keys.txt:1: key id is not a decimal",
	    "'=' instead of blank");

	/* A NUL inside the text is just a bad byte. */
	{
		struct keyring *ring = NULL;
		char t2[64] = "1 ", err[128];

		memcpy(t2 + 2, k, 44);
		t2[20] = '\0';
		ok(keyring_parse(t2, 2 + 44, "t", &ring, err, sizeof err) ==
		    -1 && ring == NULL, "NUL byte inside key refused");
		is_int(keyring_parse(t2, 2 + 44, "t", &ring, NULL, 0), -1,
		    "NULL error buffer is allowed");
	}
}

static void
test_load(void)
{
	char k[45], text[128], err[512];
	struct keyring *ring;
	const char *p;
	char good[512];

	snprintf(good, sizeof good, "%s", tmp_path("good"));
	key_b64(0x66, k);
	snprintf(text, sizeof text, "1 %s\n", k);

	write_file(good, text, 0600);
	ring = NULL;
	is_int(keyring_load(good, &ring, err, sizeof err), 0, "0600 accepted");
	is_int(keyring_count(ring), 1, "0600 file has one key");
	keyring_free(ring);

	p = tmp_path("ro");
	write_file(p, text, 0400);
	ring = NULL;
	is_int(keyring_load(p, &ring, err, sizeof err), 0, "0400 accepted");
	keyring_free(ring);

	p = tmp_path("world");
	write_file(p, text, 0644);
	ring = (struct keyring *)&ring;
	is_int(keyring_load(p, &ring, err, sizeof err), -1, "0644 refused");
	ok(ring == NULL, "no ring on refusal");
	ok(strstr(err, "must not be accessible by group or others") != NULL &&
	    strncmp(err, p, strlen(p)) == 0, "0644: message names the path "
	    "and the mode rule");
	ok(err_is_clean(err, k), "0644: no key material in message");

	p = tmp_path("group");
	write_file(p, text, 0640);
	is_int(keyring_load(p, &ring, err, sizeof err), -1, "0640 refused");
	p = tmp_path("gw");
	write_file(p, text, 0620);
	is_int(keyring_load(p, &ring, err, sizeof err), -1, "0620 refused");
	p = tmp_path("ox");
	write_file(p, text, 0601);
	is_int(keyring_load(p, &ring, err, sizeof err), -1, "0601 refused");

	p = tmp_path("link");
	unlink(p);
	if (symlink(good, p) == -1)
		printf("# symlink: %s\n", strerror(errno));
	is_int(keyring_load(p, &ring, err, sizeof err), -1,
	    "symlink to a 0600 file refused");
	ok(strstr(err, "symbolic link") != NULL, "symlink: says so (%s)", err);

	p = tmp_path("dir");
	mkdir(p, 0700);
	is_int(keyring_load(p, &ring, err, sizeof err), -1, "directory refused");
	ok(strstr(err, "not a regular file") != NULL, "directory: says so");

	p = tmp_path("fifo");
	unlink(p);
	mkfifo(p, 0600);
	is_int(keyring_load(p, &ring, err, sizeof err), -1,
	    "FIFO refused without blocking");

	p = tmp_path("missing");
	is_int(keyring_load(p, &ring, err, sizeof err), -1, "missing refused");

	p = tmp_path("badline");
	snprintf(text, sizeof text, "# keys\n1 %s\n2 %.43s\n", k, k);
	write_file(p, text, 0600);
	is_int(keyring_load(p, &ring, err, sizeof err), -1,
	    "bad line in file refused");
	snprintf(text, sizeof text, "%s:3: ", p);
	ok(strncmp(err, text, strlen(text)) == 0, "message is PATH:LINE (%s)",
	    err);
	ok(err_is_clean(err, k), "file error has no key material");

	p = tmp_path("big");
	{
		size_t n = 1024 * 1024 + 1;
		char *big = malloc(n + 1);

		memset(big, '#', n);
		big[n] = '\0';
		write_file(p, big, 0600);
		free(big);
	}
	is_int(keyring_load(p, &ring, err, sizeof err), -1,
	    "file over 1 MiB refused");
}

static void
test_generate(void)
{
	struct keyring *ring = NULL;
	struct stat st;
	char p[512], err[512], text[128];
	const char *q;
	uint32_t id = 99;
	int fd;

	snprintf(p, sizeof p, "%s", tmp_path("gen"));
	unlink(p);
	is_int(keyring_generate(p, &id, err, sizeof err), 0, "generate creates");
	is_int(id, 1, "first id is 1");
	ok(stat(p, &st) == 0 && (st.st_mode & 07777) == 0600, "mode is 0600");
	is_int(st.st_size, 47, "one line of 47 bytes");
	is_int(keyring_generate(p, &id, err, sizeof err), 0, "generate appends");
	is_int(id, 2, "second id is 2");
	is_int(keyring_load(p, &ring, err, sizeof err), 0, "generated file loads");
	is_int(keyring_count(ring), 2, "two keys");
	is_int(keyring_newest_id(ring), 2, "newest is 2");
	keyring_free(ring);

	/* Continues after the highest id, even when it is not last; adds a
	 * newline to a file that lacks one. */
	q = tmp_path("gen2");
	{
		char k[45];

		key_b64(0x77, k);
		snprintf(text, sizeof text, "# admin notes\n9 %s\n3 %s", k, k);
		k[0] = k[0] == 'A' ? 'B' : 'A';
		memcpy(strrchr(text, ' ') + 1, k, 44);
	}
	write_file(q, text, 0600);
	is_int(keyring_generate(q, &id, err, sizeof err), 0,
	    "generate on file without final newline");
	is_int(id, 10, "new id is highest + 1");
	ring = NULL;
	is_int(keyring_load(q, &ring, err, sizeof err), 0, "still loads");
	is_int(keyring_count(ring), 3, "three keys");
	keyring_free(ring);

	/* A comments-only file is a valid start for generate. */
	q = tmp_path("gen3");
	write_file(q, "# keys for modbox\n", 0600);
	is_int(keyring_generate(q, &id, err, sizeof err), 0,
	    "generate on comments-only file");
	is_int(id, 1, "first id is 1");

	q = tmp_path("gen4");
	write_file(q, "# keys\n", 0644);
	is_int(keyring_generate(q, &id, err, sizeof err), -1,
	    "generate refuses a 0644 file");
	is_int(id, 0, "no id on failure");
	ok(stat(q, &st) == 0 && st.st_size == 7, "0644 file left alone");

	q = tmp_path("gen5");
	write_file(q, "1 short\n", 0600);
	is_int(keyring_generate(q, &id, err, sizeof err), -1,
	    "generate refuses a bad file");

	q = tmp_path("genlink");
	unlink(q);
	(void)!symlink(p, q);
	is_int(keyring_generate(q, &id, err, sizeof err), -1,
	    "generate refuses a symlink");

	q = tmp_path("nodir/keys");
	is_int(keyring_generate(q, &id, err, sizeof err), -1,
	    "generate in a missing directory fails");

	/* The file never holds anything but what we asked for. */
	fd = open(p, O_RDONLY);
	ok(fd != -1 && read(fd, text, sizeof text) == 94 && text[46] == '\n' &&
	    text[93] == '\n' && strncmp(text, "1 ", 2) == 0 &&
	    strncmp(text + 47, "2 ", 2) == 0, "file is two \"ID BASE64\" lines");
	if (fd != -1)
		close(fd);
}

static struct keyring *
ring_of(const char *spec)
{
	/* spec: pairs "id:c" separated by spaces; key is 32 bytes of c. */
	char text[1024] = "", line[64], k[45];
	unsigned id;
	char c;
	int used;

	while (sscanf(spec, "%u:%c%n", &id, &c, &used) == 2) {
		key_b64((unsigned char)c, k);
		snprintf(line, sizeof line, "%u %s\n", id, k);
		strcat(text, line);
		spec += used;
	}
	return parse(text);
}

static int
open_fails(const struct keyring *ring, const char *ad,
           const struct sealed *s)
{
	char *pt = (char *)&pt;
	size_t len = 77;
	int rc;

	rc = crypto_open(ring, ad, strlen(ad), s, &pt, &len);
	return rc == -1 && pt == NULL && len == 0;
}

static void
test_seal(void)
{
	static const size_t lens[] = { 0, 1, 15, 16, 17, 255, 4096, 16384 };
	struct keyring *ring = ring_of("1:a 2:b"), *r1 = ring_of("1:a");
	struct keyring *other = ring_of("1:z 2:y");
	const char *ad = "ws=7;reg=12";
	struct sealed s, t, u;
	unsigned char *buf;
	char *pt;
	size_t len;

	ok(ring != NULL && r1 != NULL && other != NULL, "test rings parse");
	buf = malloc(16384);
	crypto_random(buf, 16384);
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		size_t n = lens[i];
		int rc;

		rc = crypto_seal(ring, ad, strlen(ad), buf, n, &s);
		is_int(rc, 0, "seal %zu bytes", n);
		is_int(s.ct_len, n, "ciphertext length %zu", n);
		is_int(s.key_id, 2, "sealed with newest key");
		pt = NULL;
		rc = crypto_open(ring, ad, strlen(ad), &s, &pt, &len);
		ok(rc == 0 && len == n && pt != NULL &&
		    memcmp(pt, buf, n) == 0 && pt[n] == '\0',
		    "open %zu bytes round-trips, NUL-terminated", n);
		crypto_secret_free(pt, len);
		/* Tag tamper for every length, including empty. */
		s.tag[15] ^= 0x01;
		ok(open_fails(ring, ad, &s), "%zu bytes: tag differing in the "
		    "last byte fails", n);
		sealed_clear(&s);
	}

	/* Empty plaintext with NULL pointers and no associated data. */
	is_int(crypto_seal(ring, NULL, 0, NULL, 0, &s), 0,
	    "seal NULL/0 without ad");
	ok(crypto_open(ring, NULL, 0, &s, &pt, &len) == 0 && len == 0 &&
	    pt != NULL && pt[0] == '\0', "open empty gives \"\"");
	crypto_secret_free(pt, len);
	ok(open_fails(ring, "x", &s), "empty: ad added after sealing fails");
	sealed_clear(&s);
	sealed_clear(&s);	/* idempotent on a zeroed struct */
	ok(s.ct == NULL && s.ct_len == 0, "sealed_clear zeroes");

	/* Fresh nonces. */
	crypto_seal(ring, ad, strlen(ad), "hunter2", 7, &s);
	crypto_seal(ring, ad, strlen(ad), "hunter2", 7, &t);
	ok(memcmp(s.nonce, t.nonce, CRYPTO_NONCE_LEN) != 0,
	    "two seals use different nonces");
	ok(memcmp(s.ct, t.ct, 7) != 0, "and give different ciphertexts");
	ok(memcmp(s.tag, t.tag, CRYPTO_TAG_LEN) != 0, "and different tags");
	sealed_clear(&t);

	/* Tampering. */
	s.ct[0] ^= 0x80;
	ok(open_fails(ring, ad, &s), "flipped bit in first ciphertext byte");
	s.ct[0] ^= 0x80;
	s.ct[6] ^= 0x01;
	ok(open_fails(ring, ad, &s), "flipped bit in last ciphertext byte");
	s.ct[6] ^= 0x01;
	s.nonce[0] ^= 0x01;
	ok(open_fails(ring, ad, &s), "flipped bit in nonce");
	s.nonce[0] ^= 0x01;
	s.nonce[11] ^= 0x40;
	ok(open_fails(ring, ad, &s), "flipped bit in last nonce byte");
	s.nonce[11] ^= 0x40;
	s.tag[0] ^= 0x01;
	ok(open_fails(ring, ad, &s), "flipped bit in tag");
	s.tag[0] ^= 0x01;
	s.tag[15] ^= 0x80;
	ok(open_fails(ring, ad, &s), "tag differing only in the last byte");
	s.tag[15] ^= 0x80;
	ok(open_fails(ring, "ws=7;reg=13", &s), "wrong associated data");
	ok(open_fails(ring, "", &s), "missing associated data");
	ok(open_fails(other, ad, &s), "different key under the same id");
	s.key_id = 3;
	ok(open_fails(ring, ad, &s), "unknown key id");
	s.key_id = 1;
	ok(open_fails(ring, ad, &s), "other known key id");
	s.key_id = 2;
	s.ct_len = 6;
	ok(open_fails(ring, ad, &s), "truncated ciphertext");
	s.ct_len = 7;
	ok(crypto_open(ring, ad, strlen(ad), &s, &pt, &len) == 0 &&
	    strcmp(pt, "hunter2") == 0, "restored sealed value still opens");
	crypto_secret_free(pt, len);
	sealed_clear(&s);

	/* Rotation: sealed under the old ring, opened by the new one. */
	is_int(crypto_seal(r1, ad, strlen(ad), "old", 3, &u), 0,
	    "seal with a one-key ring");
	is_int(u.key_id, 1, "key id 1");
	ok(crypto_open(ring, ad, strlen(ad), &u, &pt, &len) == 0 &&
	    strcmp(pt, "old") == 0, "two-key ring opens what key 1 sealed");
	crypto_secret_free(pt, len);
	sealed_clear(&u);
	is_int(crypto_seal(ring, ad, strlen(ad), "new", 3, &u), 0,
	    "seal with the two-key ring");
	ok(open_fails(r1, ad, &u), "old ring cannot open key 2");
	sealed_clear(&u);

	/* Secrets. */
	pt = crypto_secret_dup("s3cret", 6);
	ok(pt != NULL && strcmp(pt, "s3cret") == 0, "secret_dup copies");
	crypto_secret_free(pt, 6);
	pt = crypto_secret_dup(NULL, 0);
	ok(pt != NULL && pt[0] == '\0', "secret_dup of nothing is \"\"");
	crypto_secret_free(pt, 0);
	crypto_secret_free(NULL, 0);

	free(buf);
	keyring_free(ring);
	keyring_free(r1);
	keyring_free(other);
}

static void
test_gcm_vector(void)
{
	/* NIST GCM test case 14 (AES-256, zero key, zero IV, one zero
	 * block): checks that seal really is AES-256-GCM with a 96-bit IV,
	 * by opening a known ciphertext. */
	static const unsigned char ct[16] = {
		0xce, 0xa7, 0x40, 0x3d, 0x4d, 0x60, 0x6b, 0x6e,
		0x07, 0x4e, 0xc5, 0xd3, 0xba, 0xf3, 0x9d, 0x18 };
	static const unsigned char tag[16] = {
		0xd0, 0xd1, 0xc8, 0xa7, 0x99, 0x99, 0x6b, 0xf0,
		0x26, 0x5b, 0x98, 0xb5, 0xd4, 0x8a, 0xb9, 0x19 };
	static const unsigned char zero[16];
	struct keyring *ring;
	struct sealed s;
	char *pt = NULL, k[45], text[64];
	size_t len = 0;

	key_b64(0, k);
	snprintf(text, sizeof text, "1 %s\n", k);
	ring = parse(text);
	memset(&s, 0, sizeof s);
	s.key_id = 1;
	memcpy(s.tag, tag, 16);
	s.ct = malloc(16);
	memcpy(s.ct, ct, 16);
	s.ct_len = 16;
	ok(crypto_open(ring, NULL, 0, &s, &pt, &len) == 0 && len == 16 &&
	    memcmp(pt, zero, 16) == 0, "NIST AES-256-GCM test case 14 opens");
	crypto_secret_free(pt, len);
	s.tag[15] ^= 1;
	ok(open_fails(ring, "", &s), "test case 14 with last tag byte "
	    "changed fails");
	sealed_clear(&s);
	keyring_free(ring);
}

static void
test_misc(void)
{
	static const unsigned char abc[32] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
		0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
		0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
		0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad };
	static const unsigned char empty[32] = {
		0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14,
		0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
		0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c,
		0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55 };
	unsigned char h[32], r1[32], r2[32], w[16];

	crypto_sha256("abc", 3, h);
	ok(memcmp(h, abc, 32) == 0, "sha256(\"abc\") known vector");
	crypto_sha256(NULL, 0, h);
	ok(memcmp(h, empty, 32) == 0, "sha256 of nothing");

	is_int(crypto_memeq("abcd", "abcd", 4), 1, "memeq equal");
	is_int(crypto_memeq("abcd", "abce", 4), 0, "memeq last byte differs");
	is_int(crypto_memeq("\x80" "bcd", "abcd", 4), 0,
	    "memeq first byte differs");
	is_int(crypto_memeq("\x01", "\x00", 1), 0, "memeq one bit differs");
	is_int(crypto_memeq("a", "b", 0), 1, "memeq of zero bytes");

	crypto_random(r1, sizeof r1);
	crypto_random(r2, sizeof r2);
	ok(memcmp(r1, r2, 32) != 0, "random gives different bytes");
	crypto_random(NULL, 0);

	memset(w, 0xa5, sizeof w);
	crypto_wipe(w, sizeof w);
	ok(memcmp(w, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16) == 0,
	    "wipe zeroes");
	crypto_wipe(NULL, 0);
}

static void
cleanup(void)
{
	static const char *names[] = { "good", "ro", "world", "group", "gw",
	    "ox", "link", "fifo", "badline", "big", "gen", "gen2", "gen3",
	    "gen4", "gen5", "genlink" };

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		unlink(tmp_path(names[i]));
	rmdir(tmp_path("dir"));
	if (rmdir(tmpdir) == -1)
		printf("# rmdir %s: %s\n", tmpdir, strerror(errno));
}

int
main(void)
{
	const char *t = getenv("TMPDIR");

	umask(022);
	snprintf(tmpdir, sizeof tmpdir, "%s/test_crypto.XXXXXX",
	    t && *t ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	is_int(crypto_init(), 0, "crypto_init");
	is_int(crypto_init(), 0, "crypto_init again is a no-op");

	test_parse_good();
	test_parse_bad();
	test_load();
	test_generate();
	test_seal();
	test_gcm_vector();
	test_misc();
	cleanup();
	return done_testing();
}
