/*
 * cursor: see cursor.h.  The cursor is base64url (no padding) of 17
 * bytes: a version byte, 0x01, then the 16 bytes of the last id.  The
 * decoder insists on the exact length and version; b64url_decode already
 * refuses any other alphabet, padding and non-canonical trailing bits, so
 * a cursor has exactly one spelling and a decoded one re-encodes to the
 * same text.
 */
#include "cursor.h"

#include <string.h>

#include "b64.h"

#define CURSOR_VERSION	0x01
#define CURSOR_RAW_LEN	17	/* version + 16 id bytes */

void
cursor_encode(const struct uuid *last, char out[CURSOR_TEXT_MAX + 1])
{
	unsigned char raw[CURSOR_RAW_LEN];

	raw[0] = CURSOR_VERSION;
	memcpy(raw + 1, last->b, sizeof last->b);
	b64url_encode(raw, sizeof raw, out);
}

int
cursor_decode(const char *s, size_t len, struct uuid *last)
{
	unsigned char raw[CURSOR_RAW_LEN];

	if (len != b64url_encoded_len(CURSOR_RAW_LEN))
		return -1;
	if (b64url_decode(s, len, raw, sizeof raw) != CURSOR_RAW_LEN)
		return -1;
	if (raw[0] != CURSOR_VERSION)
		return -1;
	memcpy(last->b, raw + 1, sizeof last->b);
	return 0;
}
