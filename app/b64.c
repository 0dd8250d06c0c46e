/*
 * b64: see b64.h.  One encoder and one decoder, parameterised by alphabet
 * and padding.
 */
#include "b64.h"

#include <stdbool.h>
#include <string.h>

static const char std_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
b64_encoded_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

size_t
b64url_encoded_len(size_t n)
{
	return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

static size_t
encode(const char *alpha, bool pad, const unsigned char *s, size_t n, char *d)
{
	size_t o = 0, i = 0;

	for (; i + 3 <= n; i += 3) {
		unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8 | s[i + 2];
		d[o++] = alpha[v >> 18 & 63];
		d[o++] = alpha[v >> 12 & 63];
		d[o++] = alpha[v >> 6 & 63];
		d[o++] = alpha[v & 63];
	}
	if (n - i == 1) {
		unsigned v = (unsigned)s[i] << 16;
		d[o++] = alpha[v >> 18 & 63];
		d[o++] = alpha[v >> 12 & 63];
		if (pad) {
			d[o++] = '=';
			d[o++] = '=';
		}
	} else if (n - i == 2) {
		unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8;
		d[o++] = alpha[v >> 18 & 63];
		d[o++] = alpha[v >> 12 & 63];
		d[o++] = alpha[v >> 6 & 63];
		if (pad)
			d[o++] = '=';
	}
	d[o] = '\0';
	return o;
}

size_t
b64_encode(const void *src, size_t n, char *dst)
{
	return encode(std_alpha, true, src, n, dst);
}

size_t
b64url_encode(const void *src, size_t n, char *dst)
{
	return encode(url_alpha, false, src, n, dst);
}

static int
value_of(const char *alpha, char c)
{
	const char *p;

	if (c == '\0' || c == '=')
		return -1;
	p = memchr(alpha, c, 64);
	return p ? (int)(p - alpha) : -1;
}

static long
decode(const char *alpha, bool pad, const char *s, size_t len,
       unsigned char *d, size_t cap)
{
	size_t o = 0, i = 0, rem;
	unsigned v = 0;
	int k;

	if (pad) {
		if (len % 4 != 0)
			return -1;
		if (len >= 1 && s[len - 1] == '=')
			len--;
		if (len >= 1 && s[len - 1] == '=')
			len--;
	}
	rem = len % 4;
	if (rem == 1)
		return -1;
	for (; i + 4 <= len; i += 4) {
		v = 0;
		for (int j = 0; j < 4; j++) {
			if ((k = value_of(alpha, s[i + j])) < 0)
				return -1;
			v = v << 6 | (unsigned)k;
		}
		if (o + 3 > cap)
			return -1;
		d[o++] = (unsigned char)(v >> 16);
		d[o++] = (unsigned char)(v >> 8);
		d[o++] = (unsigned char)v;
	}
	if (rem) {
		v = 0;
		for (size_t j = 0; j < rem; j++) {
			if ((k = value_of(alpha, s[i + j])) < 0)
				return -1;
			v = v << 6 | (unsigned)k;
		}
		if (rem == 2) {
			if (v & 0xf)	/* non-canonical trailing bits */
				return -1;
			if (o + 1 > cap)
				return -1;
			d[o++] = (unsigned char)(v >> 4);
		} else {
			if (v & 0x3)
				return -1;
			if (o + 2 > cap)
				return -1;
			d[o++] = (unsigned char)(v >> 10);
			d[o++] = (unsigned char)(v >> 2);
		}
	}
	return (long)o;
}

long
b64_decode(const char *src, size_t len, void *dst, size_t dstcap)
{
	return decode(std_alpha, true, src, len, dst, dstcap);
}

long
b64url_decode(const char *src, size_t len, void *dst, size_t dstcap)
{
	return decode(url_alpha, false, src, len, dst, dstcap);
}
