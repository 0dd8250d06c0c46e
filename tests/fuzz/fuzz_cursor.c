/*
 * fuzz_cursor: the strict decoders behind cursors and ids, with their
 * round-trip property: whatever cursor_decode, b64url_decode or
 * b64_decode accepts re-encodes to exactly the input, and whatever
 * uuid_parse accepts formats to the input in lowercase.  A decoder that
 * accepted two spellings of one value would abort here.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "b64.h"
#include "cursor.h"
#include "uuid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_b64(const char *s, size_t size, int url)
{
	unsigned char *raw;
	char *text;
	size_t cap = size / 4 * 3 + 3;
	long n;

	if ((raw = malloc(cap)) == NULL)
		abort();
	n = url ? b64url_decode(s, size, raw, cap) :
	    b64_decode(s, size, raw, cap);
	if (n >= 0) {
		size_t want = url ? b64url_encoded_len((size_t)n) :
		    b64_encoded_len((size_t)n);

		if (want != size || (text = malloc(want + 1)) == NULL)
			abort();
		if ((url ? b64url_encode(raw, (size_t)n, text) :
		    b64_encode(raw, (size_t)n, text)) != size ||
		    memcmp(text, s, size) != 0)
			abort();
		free(text);
	}
	free(raw);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	char text[CURSOR_TEXT_MAX + 1], id[UUID_TEXT_LEN + 1];
	struct uuid u;

	if (cursor_decode(s, size, &u) == 0) {
		cursor_encode(&u, text);
		if (strlen(text) != size || memcmp(text, s, size) != 0)
			abort();
	}
	if (uuid_parse(s, size, &u) == 0) {
		uuid_format(&u, id);
		if (size != UUID_TEXT_LEN || strncasecmp(id, s, size) != 0)
			abort();
		for (size_t i = 0; i < UUID_TEXT_LEN; i++)
			if (id[i] >= 'A' && id[i] <= 'Z')
				abort();
	}
	check_b64(s, size, 1);
	check_b64(s, size, 0);
	return 0;
}
