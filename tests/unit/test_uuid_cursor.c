/*
 * test_uuid_cursor: UUID text round trips and refusals, UUIDv7 bits and
 * ordering, and the pagination cursor (round trip and every kind of
 * tampering).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "b64.h"
#include "crypto.h"
#include "cursor.h"
#include "uuid.h"
#include "tap.h"

static const char *const bad_uuids[] = {
	"",
	"0",
	"01890a5d-ac96-774b-bcce-b302099a8057x",	/* 37 chars */
	"01890a5d-ac96-774b-bcce-b302099a805",		/* 35 chars */
	"{01890a5d-ac96-774b-bcce-b302099a8057}",
	"urn:uuid:01890a5d-ac96-774b-bcce-b302099a8057",
	"01890a5dac96774bbccceb302099a8057",		/* no hyphens, 33 */
	"01890a5dac96774bbcceb302099a8057",		/* no hyphens, 32 */
	"01890a5d-ac96-774b-bcce-b302099a805g",
	"01890a5d-ac96-774b-bcce_b302099a8057",
	"01890a5dac96-774b-bcce-b302099a8057-",		/* hyphens moved */
	"01890a5-dac96-774b-bcce-b302099a8057",
	"01890a5d-ac96-774b-bcceb-302099a8057",
	"01890a5d+ac96-774b-bcce-b302099a8057",
	" 1890a5d-ac96-774b-bcce-b302099a8057",
	"01890a5d-ac96-774b-bcce-b302099a805 ",
	"0x890a5d-ac96-774b-bcce-b302099a8057",
	"01890a5d-ac96-774b-bcce-b302099a80\xc3\xa9",	/* non-ASCII */
	"-1890a5d-ac96-774b-bcce-b302099a8057",
	"01890a5d--c96-774b-bcce-b302099a8057",
	"g1890a5d-ac96-774b-bcce-b302099a8057",
};

static void
test_parse_format(void)
{
	struct uuid u, v;
	char text[UUID_TEXT_LEN + 1];
	const char *canon = "01890a5d-ac96-774b-bcce-b302099a8057";
	const char *upper = "01890A5D-AC96-774B-BCCE-B302099A8057";
	static const unsigned char want[16] = {
		0x01, 0x89, 0x0a, 0x5d, 0xac, 0x96, 0x77, 0x4b,
		0xbc, 0xce, 0xb3, 0x02, 0x09, 0x9a, 0x80, 0x57,
	};

	ok(uuid_parse(canon, strlen(canon), &u) == 0, "parses canonical");
	ok(memcmp(u.b, want, 16) == 0, "bytes are right");
	uuid_format(&u, text);
	is_str(text, canon, "formats back to the same text");
	ok(uuid_parse(upper, strlen(upper), &v) == 0, "parses uppercase");
	ok(memcmp(u.b, v.b, 16) == 0, "uppercase gives the same bytes");
	uuid_format(&v, text);
	is_str(text, canon, "uppercase in, lowercase out");
	ok(uuid_parse("01890a5D-Ac96-774b-BCCE-b302099a8057", 36, &v) == 0,
	    "parses mixed case");
	memset(&u, 0, sizeof u);
	uuid_format(&u, text);
	is_str(text, "00000000-0000-0000-0000-000000000000", "nil uuid");
	memset(&u, 0xff, sizeof u);
	uuid_format(&u, text);
	is_str(text, "ffffffff-ffff-ffff-ffff-ffffffffffff", "max uuid");
	ok(uuid_parse(text, strlen(text), &v) == 0 && memcmp(u.b, v.b, 16) == 0,
	    "max uuid round trip");

	for (size_t i = 0; i < sizeof bad_uuids / sizeof *bad_uuids; i++) {
		memset(&v, 0xaa, sizeof v);
		ok(uuid_parse(bad_uuids[i], strlen(bad_uuids[i]), &v) == -1,
		    "refuses malformed #%zu (%zu chars)", i,
		    strlen(bad_uuids[i]));
	}
	/* NUL inside, with the length saying 36. */
	ok(uuid_parse("01890a5d-ac96-774b-bcce-b302099a80\0" "7", 36, &v) == -1,
	    "refuses a NUL inside");
	/* The length is obeyed: 36 characters out of a longer string. */
	ok(uuid_parse("01890a5d-ac96-774b-bcce-b302099a8057trailing", 36, &v) == 0,
	    "reads exactly len characters");
	/* A refused parse leaves the output alone. */
	memset(&v, 0xaa, sizeof v);
	(void)uuid_parse("nope", 4, &v);
	ok(v.b[0] == 0xaa && v.b[15] == 0xaa, "refusal does not write out");
}

static unsigned long long
v7_ms(const struct uuid *u)
{
	unsigned long long ms = 0;

	for (int i = 0; i < 6; i++)
		ms = ms << 8 | u->b[i];
	return ms;
}

static void
test_v7(void)
{
	struct uuid a, b, c;
	struct timespec ts, pause = { 0, 3 * 1000 * 1000 };
	unsigned long long now;
	char ta[UUID_TEXT_LEN + 1], tb[UUID_TEXT_LEN + 1];
	int bits_ok = 1, distinct = 1;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (unsigned long long)ts.tv_sec * 1000 +
	    (unsigned long long)ts.tv_nsec / 1000000;
	uuid_v7(&a);
	ok((a.b[6] >> 4) == 7, "version nibble is 7");
	ok((a.b[8] & 0xc0) == 0x80, "variant bits are 10");
	ok(v7_ms(&a) >= now && v7_ms(&a) <= now + 1000,
	    "timestamp is now in milliseconds");
	uuid_format(&a, ta);
	ok(ta[14] == '7', "text shows version 7 (%s)", ta);
	ok(strchr("89ab", ta[19]) != NULL, "text shows variant 10xx");

	for (int i = 0; i < 1000; i++) {
		uuid_v7(&b);
		uuid_v7(&c);
		if ((b.b[6] >> 4) != 7 || (b.b[8] & 0xc0) != 0x80)
			bits_ok = 0;
		if (memcmp(b.b, c.b, 16) == 0)
			distinct = 0;
	}
	ok(bits_ok, "version and variant right on 1000 ids");
	ok(distinct, "ids made back to back differ");

	uuid_v7(&a);
	nanosleep(&pause, NULL);
	uuid_v7(&b);
	ok(memcmp(a.b, b.b, 16) < 0, "ids made ms apart sort ascending");
	uuid_format(&a, ta);
	uuid_format(&b, tb);
	ok(strcmp(ta, tb) < 0, "and so does their text");
}

static void
test_cursor(void)
{
	struct uuid id, got;
	char text[CURSOR_TEXT_MAX + 1], t2[CURSOR_TEXT_MAX + 1];
	char padded[CURSOR_TEXT_MAX + 8];
	unsigned char raw[18];
	size_t n;
	int all = 1;

	memset(raw, 0, sizeof raw);
	uuid_parse("01890a5d-ac96-774b-bcce-b302099a8057", 36, &id);
	cursor_encode(&id, text);
	n = strlen(text);
	is_int(n, 23, "cursor is 23 characters");
	ok(n <= CURSOR_TEXT_MAX, "within CURSOR_TEXT_MAX");
	ok(strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_") == n, "base64url alphabet, no padding");
	ok(cursor_decode(text, n, &got) == 0 && memcmp(got.b, id.b, 16) == 0,
	    "round trip");
	for (int i = 0; i < 200; i++) {
		uuid_v7(&id);
		cursor_encode(&id, text);
		if (cursor_decode(text, strlen(text), &got) != 0 ||
		    memcmp(got.b, id.b, 16) != 0)
			all = 0;
	}
	ok(all, "round trip of 200 fresh ids");
	memset(&id, 0xff, sizeof id);
	cursor_encode(&id, text);
	ok(cursor_decode(text, strlen(text), &got) == 0 &&
	    memcmp(got.b, id.b, 16) == 0, "round trip of all-ones id");

	/* Tampering: change one character. */
	strcpy(t2, text);
	t2[5] = t2[5] == 'A' ? 'B' : 'A';
	ok(cursor_decode(t2, strlen(t2), &got) == 0 &&
	    memcmp(got.b, id.b, 16) != 0,
	    "a changed character gives another id (cursors are not MACed)");
	strcpy(t2, text);
	t2[0] = 'B';	/* the first character carries the version */
	ok(cursor_decode(t2, 23, &got) == -1,
	    "a changed first character (version) refused");
	strcpy(t2, text);
	t2[22] = 'B';	/* last char carries 4 bits of padding: must be 0 */
	ok(cursor_decode(t2, 23, &got) == -1,
	    "non-canonical trailing bits refused");
	strcpy(t2, text);
	t2[3] = '+';
	ok(cursor_decode(t2, 23, &got) == -1, "standard base64 '+' refused");
	t2[3] = '=';
	ok(cursor_decode(t2, 23, &got) == -1, "'=' inside refused");
	t2[3] = '\0';
	ok(cursor_decode(t2, 23, &got) == -1, "NUL inside refused");
	t2[3] = ' ';
	ok(cursor_decode(t2, 23, &got) == -1, "blank inside refused");

	/* Other version bytes. */
	raw[0] = 0x02;
	memcpy(raw + 1, id.b, 16);
	b64url_encode(raw, 17, t2);
	ok(cursor_decode(t2, strlen(t2), &got) == -1, "version 2 refused");
	raw[0] = 0x00;
	b64url_encode(raw, 17, t2);
	ok(cursor_decode(t2, strlen(t2), &got) == -1, "version 0 refused");

	/* Lengths. */
	ok(cursor_decode(text, 22, &got) == -1, "one character short refused");
	ok(cursor_decode(text, 0, &got) == -1, "empty refused");
	ok(cursor_decode("", 0, &got) == -1, "empty string refused");
	raw[0] = 0x01;
	b64url_encode(raw, 16, t2);
	ok(cursor_decode(t2, strlen(t2), &got) == -1, "16 bytes refused");
	b64url_encode(raw, 18, t2);
	ok(cursor_decode(t2, strlen(t2), &got) == -1, "18 bytes refused");
	strcpy(t2, text);
	strcat(t2, "A");
	ok(cursor_decode(t2, strlen(t2), &got) == -1,
	    "one character long refused");
	snprintf(padded, sizeof padded, "%s=", text);
	ok(cursor_decode(padded, strlen(padded), &got) == -1,
	    "padded cursor refused");
	/* The same 17 bytes in padded standard base64. */
	raw[0] = 0x01;
	b64_encode(raw, 17, padded);
	ok(cursor_decode(padded, strlen(padded), &got) == -1,
	    "standard padded base64 refused");
	ok(cursor_decode("01890a5d-ac96-774b-bcce-b302099a8057", 36, &got) == -1,
	    "a bare uuid refused");
}

int
main(void)
{
	if (!ok(crypto_init() == 0, "crypto_init"))
		return done_testing();
	test_parse_format();
	test_v7();
	test_cursor();
	return done_testing();
}
