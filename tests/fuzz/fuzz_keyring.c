/*
 * fuzz_keyring: libFuzzer target for the key ring parser.  Any input must
 * either be refused or give a ring that seals and opens a short secret;
 * a parsed ring that cannot round-trip aborts.  tests/fuzz/replay.c links
 * this file to replay the corpus in tests/fuzz/corpus/keyring/ without
 * libFuzzer.
 *
 * Build with -DCRYPTO_TESTING_PLAIN_MEMORY (see app/crypto.c) so that the
 * sanitizers see the ring's secure-memory allocations.
 */
#include <stddef.h>
#include <stdint.h>

#include "app/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char secret[] = "registry-password";
	static const char ad[] = "ws=1;reg=2";
	static int ready;
	struct keyring *ring = NULL;
	struct sealed s = { 0 };
	char err[256], *pt = NULL;
	size_t ptlen = 0;

	if (!ready) {
		if (crypto_init() != 0)
			__builtin_abort();
		ready = 1;
	}
	if (keyring_parse((const char *)data, size, "fuzz", &ring, err,
	    sizeof err) != 0) {
		if (ring != NULL || err[0] == '\0')
			__builtin_abort();
		return 0;
	}
	if (ring == NULL || keyring_count(ring) == 0 ||
	    keyring_newest_id(ring) == 0 ||
	    crypto_seal(ring, ad, sizeof ad - 1, secret, sizeof secret - 1,
	    &s) != 0 ||
	    s.key_id != keyring_newest_id(ring) ||
	    crypto_open(ring, ad, sizeof ad - 1, &s, &pt, &ptlen) != 0 ||
	    ptlen != sizeof secret - 1 ||
	    !crypto_memeq(pt, secret, sizeof secret - 1) ||
	    pt[ptlen] != '\0')
		__builtin_abort();
	crypto_secret_free(pt, ptlen);
	/* The last tag byte must matter. */
	s.tag[CRYPTO_TAG_LEN - 1] ^= 1;
	if (crypto_open(ring, ad, sizeof ad - 1, &s, &pt, &ptlen) != -1 ||
	    pt != NULL)
		__builtin_abort();
	sealed_clear(&s);
	keyring_free(ring);
	return 0;
}
