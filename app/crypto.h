/*
 * crypto: libgcrypt set-up, the master key ring, and sealing of secrets
 * with AES-256-GCM.
 *
 * A sealed secret is (key_id, 96-bit nonce, ciphertext, 128-bit tag).
 * Every seal draws a fresh random nonce.  The caller's associated data
 * (for a registry password: workspace id and registry id) is
 * authenticated, so a ciphertext moved to another row does not open.
 *
 * Key file: text, one key per line, "ID BASE64" where ID is a decimal
 * key id (1 .. 2^31-1) and BASE64 is exactly 32 bytes in padded base64;
 * blank lines and lines starting with '#' are ignored.  The file must be
 * a regular file, not readable or writable by group or others (mode 0600
 * or 0400), or it is refused.  The key with the highest id is the newest:
 * it seals; every key opens.  Keys live in libgcrypt secure memory and are
 * wiped when the ring is freed.
 */
#ifndef MODBOX_CRYPTO_H
#define MODBOX_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_KEY_LEN 32
#define CRYPTO_NONCE_LEN 12
#define CRYPTO_TAG_LEN 16

/* Initialise libgcrypt (version check, secure memory pool, finished).
 * Call once at program start, before any thread.  Returns 0 or -1. */
int crypto_init(void);

struct keyring;

/* Load and check the key file.  Returns 0 and sets *out, or -1 with a one
 * line reason in err ("PATH: ..."), never including key material. */
int keyring_load(const char *path, struct keyring **out, char *err,
                 size_t errlen);
/* The same checks on text already read (no file-mode check): NAME is used
 * in messages.  Exposed for the unit tests and the fuzzer. */
int keyring_parse(const char *text, size_t len, const char *name,
                  struct keyring **out, char *err, size_t errlen);
void keyring_free(struct keyring *ring);
/* Id of the newest key (the one crypto_seal uses). */
uint32_t keyring_newest_id(const struct keyring *ring);
/* Number of keys in the ring. */
size_t keyring_count(const struct keyring *ring);

/* Append a freshly generated key (id = newest + 1, or 1) to the key file,
 * creating it with mode 0600 if absent; an existing file must pass the
 * same checks as keyring_load.  Sets *new_id.  Returns 0 or -1 with err. */
int keyring_generate(const char *path, uint32_t *new_id, char *err,
                     size_t errlen);

struct sealed {
	uint32_t key_id;
	unsigned char nonce[CRYPTO_NONCE_LEN];
	unsigned char tag[CRYPTO_TAG_LEN];
	unsigned char *ct;	/* malloc'd, ct_len bytes (== plaintext length) */
	size_t ct_len;
};

/* Encrypt ptlen bytes of pt under the newest key with associated data ad.
 * Fills out (free with sealed_clear).  Returns 0 or -1. */
int crypto_seal(const struct keyring *ring, const void *ad, size_t adlen,
                const void *pt, size_t ptlen, struct sealed *out);

/* Decrypt and verify.  On success returns 0 and sets *pt to a
 * NUL-terminated copy in secure memory (*ptlen bytes before the NUL);
 * release it with crypto_secret_free.  Returns -1 when the key id is
 * unknown, the tag is not exactly right, or anything else fails; then *pt
 * is NULL and no plaintext was ever visible. */
int crypto_open(const struct keyring *ring, const void *ad, size_t adlen,
                const struct sealed *in, char **pt, size_t *ptlen);

/* Wipe and free a secret returned by crypto_open or crypto_secret_dup.
 * Accepts NULL. */
void crypto_secret_free(char *secret, size_t len);
/* Copy len bytes into NUL-terminated secure memory; NULL on failure. */
char *crypto_secret_dup(const void *src, size_t len);

/* Free the ciphertext and zero the struct.  Accepts a zeroed struct. */
void sealed_clear(struct sealed *s);

/* Cryptographically strong random bytes (GCRY_STRONG_RANDOM). */
void crypto_random(void *buf, size_t n);
/* SHA-256 of n bytes. */
void crypto_sha256(const void *data, size_t n, unsigned char out[32]);
/* Constant-time comparison: 1 when equal, 0 otherwise. */
int crypto_memeq(const void *a, const void *b, size_t n);
/* Wipe memory so the compiler cannot drop it. */
void crypto_wipe(void *p, size_t n);

#endif
