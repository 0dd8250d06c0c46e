/*
 * uuid: 16-byte identifiers stored compactly (BINARY(16)) and shown in
 * canonical text form (8-4-4-4-12 lowercase hex).  New ids are UUIDv7
 * (RFC 9562): 48-bit Unix milliseconds then random bits, so ids sort by
 * creation time and keyset pagination on the id is creation order.
 */
#ifndef MODBOX_UUID_H
#define MODBOX_UUID_H

#include <stddef.h>

#define UUID_TEXT_LEN 36

struct uuid {
	unsigned char b[16];
};

/* A new UUIDv7 (random part from crypto_random). */
void uuid_v7(struct uuid *out);

/* Parse exactly len characters of canonical text (hex digits of either
 * case, hyphens at positions 8, 13, 18, 23).  Returns 0, or -1 on any
 * other input (braces, urn: prefix, missing hyphens, wrong length, NUL). */
int uuid_parse(const char *s, size_t len, struct uuid *out);

/* Write the lowercase canonical form and a NUL into out. */
void uuid_format(const struct uuid *u, char out[UUID_TEXT_LEN + 1]);

#endif
