/*
 * test_b64: RFC 4648 test vectors for base64 and base64url, round trips of
 * every length from 0 to 64, and the strictness the rest of the program
 * relies on: bad characters, bad or misplaced padding, non-canonical
 * trailing bits and short output buffers are all refused, and nothing is
 * written past the space the caller gave.  An exhaustive pass over short
 * strings checks that anything accepted re-encodes to exactly itself.
 */
#include "app/b64.h"
#include "tap.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define CANARY 0xA5

static const char *const rfc_plain[] = {
	"", "f", "fo", "foo", "foob", "fooba", "foobar" };
static const char *const rfc_std[] = {
	"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
static const char *const rfc_url[] = {
	"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy" };

static uint32_t rng_state = 0x9e3779b9u;

/* xorshift32: reproducible bytes; no cryptography needed here. */
static unsigned char
next_byte(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return (unsigned char)(rng_state >> 24);
}

static long
dec(bool url, const char *s, size_t len, void *d, size_t cap)
{
	return url ? b64url_decode(s, len, d, cap) : b64_decode(s, len, d, cap);
}

static size_t
enc(bool url, const void *s, size_t n, char *d)
{
	return url ? b64url_encode(s, n, d) : b64_encode(s, n, d);
}

static size_t
enc_len(bool url, size_t n)
{
	return url ? b64url_encoded_len(n) : b64_encoded_len(n);
}

static void
test_vectors(void)
{
	unsigned char out[16];
	char buf[16];

	for (size_t i = 0; i < sizeof rfc_plain / sizeof rfc_plain[0]; i++) {
		size_t n = strlen(rfc_plain[i]);
		long got;

		is_int(b64_encoded_len(n), strlen(rfc_std[i]),
		    "b64_encoded_len(%zu)", n);
		is_int(b64url_encoded_len(n), strlen(rfc_url[i]),
		    "b64url_encoded_len(%zu)", n);
		is_int(b64_encode(rfc_plain[i], n, buf), strlen(rfc_std[i]),
		    "b64_encode(\"%s\") length", rfc_plain[i]);
		is_str(buf, rfc_std[i], "b64_encode(\"%s\")", rfc_plain[i]);
		is_int(b64url_encode(rfc_plain[i], n, buf), strlen(rfc_url[i]),
		    "b64url_encode(\"%s\") length", rfc_plain[i]);
		is_str(buf, rfc_url[i], "b64url_encode(\"%s\")", rfc_plain[i]);

		got = b64_decode(rfc_std[i], strlen(rfc_std[i]), out,
		    sizeof out);
		ok(got == (long)n && memcmp(out, rfc_plain[i], n) == 0,
		    "b64_decode(\"%s\")", rfc_std[i]);
		got = b64url_decode(rfc_url[i], strlen(rfc_url[i]), out,
		    sizeof out);
		ok(got == (long)n && memcmp(out, rfc_plain[i], n) == 0,
		    "b64url_decode(\"%s\")", rfc_url[i]);
	}

	/* The two alphabets differ only in the last two characters. */
	{
		static const unsigned char v[] = { 0xfb, 0xff, 0xbf, 0x00 };

		b64_encode(v, 4, buf);
		is_str(buf, "+/+/AA==", "std alphabet uses + and /");
		b64url_encode(v, 4, buf);
		is_str(buf, "-_-_AA", "url alphabet uses - and _");
		ok(b64_decode("+/+/AA==", 8, out, sizeof out) == 4 &&
		    memcmp(out, v, 4) == 0, "std decodes + and /");
		ok(b64url_decode("-_-_AA", 6, out, sizeof out) == 4 &&
		    memcmp(out, v, 4) == 0, "url decodes - and _");
		is_int(b64_decode("-_-_AA==", 8, out, sizeof out), -1,
		    "std refuses - and _");
		is_int(b64url_decode("+/+/AA", 6, out, sizeof out), -1,
		    "url refuses + and /");
	}
}

static void
test_round_trips(void)
{
	unsigned char src[64], out[64 + 8];
	char text[100];

	for (int u = 0; u <= 1; u++) {
		bool url = u;
		int bad = 0;

		for (size_t n = 0; n <= 64; n++) {
			size_t elen;
			long got;

			for (size_t i = 0; i < n; i++)
				src[i] = next_byte();
			memset(text, CANARY, sizeof text);
			elen = enc(url, src, n, text);
			if (elen != enc_len(url, n) || strlen(text) != elen ||
			    (unsigned char)text[elen + 1] != CANARY) {
				printf("# %s encode %zu\n", url ? "url" : "std", n);
				bad++;
				continue;
			}
			/* Exact capacity works, one less does not, and
			 * nothing is written past the capacity. */
			memset(out, CANARY, sizeof out);
			got = dec(url, text, elen, out, n);
			if (got != (long)n || memcmp(out, src, n) != 0 ||
			    out[n] != CANARY) {
				printf("# %s decode %zu\n", url ? "url" : "std", n);
				bad++;
			}
			if (n > 0) {
				memset(out, CANARY, sizeof out);
				got = dec(url, text, elen, out, n - 1);
				for (size_t i = n - 1; i < sizeof out; i++)
					if (out[i] != CANARY)
						got = -2;
				if (got != -1) {
					printf("# %s cap %zu\n",
					    url ? "url" : "std", n - 1);
					bad++;
				}
			}
		}
		is_int(bad, 0, "%s: round trips of lengths 0..64, exact "
		    "capacity, capacity - 1 refused", url ? "url" : "std");
	}
}

static void
refuse(bool url, const char *s, size_t len, const char *what)
{
	unsigned char out[64];

	is_int(dec(url, s, len, out, sizeof out), -1, "%s refuses %s",
	    url ? "url" : "std", what);
}

static void
test_refusals(void)
{
	unsigned char out[8];

	refuse(false, "Zm9v*mFy", 8, "'*'");
	refuse(false, "Zm9v YmFy", 9, "a space");
	refuse(false, "Zm9v\nYmFy", 9, "a newline");
	refuse(false, "Zm9vYmF\0", 8, "a NUL");
	refuse(false, "Zm9vYmF\xc3", 8, "a byte >= 0x80");
	refuse(false, "Zm9vYmFy\n", 9, "a trailing newline");
	refuse(true, "Zm9v*mFy", 8, "'*'");
	refuse(true, "Zm9vYmF\0", 8, "a NUL");
	refuse(true, "Zm9vYmF\xff", 8, "a byte >= 0x80");

	refuse(false, "Zg", 2, "missing padding");
	refuse(false, "Zg=", 3, "short padding");
	refuse(false, "Zm8", 3, "missing single '='");
	refuse(false, "Zg===", 5, "three '=' (length 5)");
	refuse(false, "Z===", 4, "three '='");
	refuse(false, "====", 4, "only padding");
	refuse(false, "=Zm9", 4, "'=' first");
	refuse(false, "Zm=v", 4, "'=' in the middle of a group");
	refuse(false, "Zg==Zg==", 8, "'=' in the middle of the text");
	refuse(false, "Zm8=Zm9v", 8, "padded group before another");
	refuse(false, "Zg=A", 4, "'=' then a letter");
	refuse(false, "Z", 1, "a single character");

	refuse(true, "Zg==", 4, "padding");
	refuse(true, "Zm8=", 4, "a single '='");
	refuse(true, "Z", 1, "length % 4 == 1");
	refuse(true, "Zm9vY", 5, "length % 4 == 1 (5)");
	refuse(true, "Zm9vYmFyZ", 9, "length % 4 == 1 (9)");
	refuse(true, "Z=", 2, "'=' as data");

	/* Non-canonical trailing bits: the unused low bits must be zero. */
	refuse(false, "QR==", 4, "\"QR==\" (non-zero bits after one byte)");
	refuse(false, "Zh==", 4, "\"Zh==\"");
	refuse(false, "Zm9=", 4, "\"Zm9=\" (non-zero bits after two bytes)");
	refuse(true, "QR", 2, "\"QR\"");
	refuse(true, "Zm9", 3, "\"Zm9\"");
	ok(b64_decode("QQ==", 4, out, sizeof out) == 1 && out[0] == 'A',
	    "std accepts the canonical \"QQ==\"");
	ok(b64url_decode("QQ", 2, out, sizeof out) == 1 && out[0] == 'A',
	    "url accepts the canonical \"QQ\"");

	/* Output capacity. */
	is_int(b64_decode("Zm9vYmFy", 8, out, 5), -1, "std: 6 bytes into 5");
	is_int(b64_decode("Zm9vYmFy", 8, out, 6), 6, "std: 6 bytes into 6");
	is_int(b64_decode("Zm9vYg==", 8, out, 3), -1, "std: 4 bytes into 3");
	is_int(b64_decode("Zm9vYmE=", 8, out, 4), -1, "std: 5 bytes into 4");
	is_int(b64url_decode("Zm9vYg", 6, out, 3), -1, "url: 4 bytes into 3");
	is_int(b64url_decode("Zm9vYmE", 7, out, 4), -1, "url: 5 bytes into 4");
	is_int(b64_decode("Zg==", 4, NULL, 0), -1, "std: 1 byte into 0");
	is_int(b64_decode("", 0, NULL, 0), 0, "std: empty into nothing");
	is_int(b64url_decode("", 0, NULL, 0), 0, "url: empty into nothing");
	/* len bounds the input: what follows is not read. */
	is_int(b64_decode("Zm9vYmFy", 4, out, sizeof out), 3,
	    "std: only len characters are decoded");
}

/*
 * Every string of length 0..4 over a set of characters that covers each
 * class the decoder cares about (trailing-bit patterns, both alphabets'
 * extras, '=', NUL, a high byte, junk): when the decoder accepts one, the
 * encoder must give it back exactly, and the std and url decoders must
 * agree with each other once padding is accounted for.
 */
static void
test_exhaustive(void)
{
	static const char set[] = "ABDQRgw89+/-_=*\x80 ";
	const size_t k = sizeof set;	/* includes the NUL */
	unsigned char out[8];
	char s[5], back[16];
	size_t total = 0, accepted[2] = { 0, 0 };
	int bad = 0;

	for (size_t len = 0; len <= 4; len++) {
		size_t combos = 1;

		for (size_t i = 0; i < len; i++)
			combos *= k;
		for (size_t c = 0; c < combos; c++) {
			size_t x = c;

			for (size_t i = 0; i < len; i++) {
				s[i] = set[x % k];
				x /= k;
			}
			total++;
			for (int u = 0; u <= 1; u++) {
				long got = dec(u, s, len, out, sizeof out);

				if (got < 0)
					continue;
				accepted[u]++;
				enc(u, out, (size_t)got, back);
				if (strlen(back) != len ||
				    memcmp(back, s, len) != 0) {
					if (bad++ < 5)
						printf("# %s accepted "
						    "non-canonical input\n",
						    u ? "url" : "std");
				}
			}
		}
	}
	is_int(bad, 0, "exhaustive: all %zu accepted strings of %zu tried "
	    "re-encode to themselves", accepted[0] + accepted[1], total);
	/* Guard against a decoder that passes by refusing everything. */
	ok(accepted[0] > 100 && accepted[1] > 100,
	    "exhaustive: both decoders accept something (%zu std, %zu url)",
	    accepted[0], accepted[1]);
}

int
main(void)
{
	test_vectors();
	test_round_trips();
	test_refusals();
	test_exhaustive();
	return done_testing();
}
