/*
 * uuid: see uuid.h.  A UUIDv7 is the Unix time in milliseconds as 48 bits
 * big-endian, then the version nibble 7, 12 bits of sub-millisecond time
 * (RFC 9562 section 6.2, method 3: about 244 ns steps), the variant bits
 * 10 and 62 random bits.  Within one process ids strictly increase (a tick
 * already used, or a clock stepping back, takes the previous value + 1),
 * so a process's ids sort in creation order; across processes they sort
 * by time to within a tick.
 *
 * Parsing accepts only the canonical 8-4-4-4-12 form; hex digits may be
 * of either case, formatting writes lowercase.
 */
#include "uuid.h"

#include <stdint.h>
#include <time.h>

#include "crypto.h"

static const char hex_digits[] = "0123456789abcdef";

void
uuid_v7(struct uuid *out)
{
	static uint64_t last;	/* (ms << 12 | sub-ms) of the previous id */
	struct timespec ts;
	uint64_t ms = 0, sub = 0, t;

	if (clock_gettime(CLOCK_REALTIME, &ts) == 0 && ts.tv_sec >= 0) {
		ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
		sub = (uint64_t)(ts.tv_nsec % 1000000) * 4096 / 1000000;
	}
	t = ms << 12 | sub;
	if (t <= last)		/* same tick, or the clock stepped back */
		t = last + 1;
	last = t;
	ms = t >> 12;
	crypto_random(out->b + 6, 10);
	for (int i = 0; i < 6; i++)
		out->b[i] = (unsigned char)(ms >> (40 - 8 * i));
	out->b[6] = (unsigned char)(0x70 | (t >> 8 & 0x0f));
	out->b[7] = (unsigned char)(t & 0xff);
	out->b[8] = (unsigned char)((out->b[8] & 0x3f) | 0x80);
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
is_hyphen_pos(size_t i)
{
	return i == 8 || i == 13 || i == 18 || i == 23;
}

int
uuid_parse(const char *s, size_t len, struct uuid *out)
{
	struct uuid u;
	size_t n = 0;

	if (len != UUID_TEXT_LEN)
		return -1;
	for (size_t i = 0; i < UUID_TEXT_LEN; i++) {
		int hi, lo;

		if (is_hyphen_pos(i)) {
			if (s[i] != '-')
				return -1;
			continue;
		}
		if ((hi = hex_value(s[i])) < 0 || (lo = hex_value(s[i + 1])) < 0)
			return -1;
		u.b[n++] = (unsigned char)(hi << 4 | lo);
		i++;
	}
	*out = u;
	return 0;
}

void
uuid_format(const struct uuid *u, char out[UUID_TEXT_LEN + 1])
{
	size_t o = 0;

	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex_digits[u->b[i] >> 4];
		out[o++] = hex_digits[u->b[i] & 0xf];
	}
	out[o] = '\0';
}
