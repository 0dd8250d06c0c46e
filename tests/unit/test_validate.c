/*
 * test_validate: the field validators at their boundaries (counted in
 * characters, with multibyte text) and the strict UTF-8 counter on the
 * classic edge cases.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"
#include "tap.h"

struct u8case {
	const char *s;
	size_t len;
	long want;
	const char *what;
};

#define U8(lit, want, what) { lit, sizeof lit - 1, want, what }

static const struct u8case u8cases[] = {
	U8("", 0, "empty"),
	U8("abc", 3, "ASCII"),
	U8("\xc3\xa9", 1, "U+00E9, 2 bytes"),
	U8("\xe2\x82\xac", 1, "U+20AC, 3 bytes"),
	U8("\xf0\x9f\x98\x80", 1, "U+1F600, 4 bytes"),
	U8("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z", 5, "mixed"),
	U8("\x7f", 1, "U+007F"),
	U8("\xc2\x80", 1, "U+0080"),
	U8("\xdf\xbf", 1, "U+07FF"),
	U8("\xe0\xa0\x80", 1, "U+0800, smallest 3-byte"),
	U8("\xed\x9f\xbf", 1, "U+D7FF, below surrogates"),
	U8("\xee\x80\x80", 1, "U+E000, above surrogates"),
	U8("\xef\xbb\xbf", 1, "U+FEFF"),
	U8("\xef\xbf\xbf", 1, "U+FFFF"),
	U8("\xf0\x90\x80\x80", 1, "U+10000, smallest 4-byte"),
	U8("\xf4\x8f\xbf\xbf", 1, "U+10FFFF, largest"),
	U8("\xc0\xaf", -1, "overlong '/' (C0 AF)"),
	U8("\xc1\xbf", -1, "overlong C1 BF"),
	U8("\xc0\x80", -1, "overlong NUL (C0 80)"),
	U8("\xe0\x80\xaf", -1, "overlong 3-byte '/'"),
	U8("\xe0\x9f\xbf", -1, "overlong 3-byte U+07FF"),
	U8("\xf0\x80\x80\xaf", -1, "overlong 4-byte '/'"),
	U8("\xf0\x8f\xbf\xbf", -1, "overlong 4-byte U+FFFF"),
	U8("\xed\xa0\x80", -1, "surrogate U+D800"),
	U8("\xed\xbf\xbf", -1, "surrogate U+DFFF"),
	U8("\xed\xa0\xbd\xed\xb8\x80", -1, "CESU-8 surrogate pair"),
	U8("\xf4\x90\x80\x80", -1, "U+110000"),
	U8("\xf5\x80\x80\x80", -1, "F5 lead"),
	U8("\xf8\x88\x80\x80\x80", -1, "5-byte form"),
	U8("\xfe", -1, "FE"),
	U8("\xff", -1, "FF"),
	U8("\x80", -1, "lone continuation"),
	U8("a\xbf" "b", -1, "continuation inside ASCII"),
	U8("\xc3", -1, "truncated 2-byte"),
	U8("\xe2\x82", -1, "truncated 3-byte"),
	U8("\xf0\x9f\x98", -1, "truncated 4-byte"),
	U8("\xc3" "a", -1, "2-byte lead then ASCII"),
	U8("\xe2\x28\xa1", -1, "bad second byte"),
	U8("\xe2\x82\x28", -1, "bad third byte"),
	U8("\0", -1, "NUL"),
	U8("a\0b", -1, "NUL inside"),
};

/* n copies of unit into a malloc'd buffer; *len gets the byte count. */
static char *
repeat(const char *unit, size_t n, size_t *len)
{
	size_t u = strlen(unit);
	char *p = malloc(u * n + 1);

	if (p == NULL)
		abort();
	for (size_t i = 0; i < n; i++)
		memcpy(p + i * u, unit, u);
	p[u * n] = '\0';
	*len = u * n;
	return p;
}

static void
test_utf8(void)
{
	for (size_t i = 0; i < sizeof u8cases / sizeof *u8cases; i++)
		is_int(utf8_count(u8cases[i].s, u8cases[i].len), u8cases[i].want,
		    "utf8_count: %s", u8cases[i].what);
	/* Only len bytes are read. */
	is_int(utf8_count("\xc3\xa9\xff", 2), 1, "utf8_count reads only len");
}

#define NAME_OK(lit, what) \
	ok(validate_name(lit, sizeof lit - 1) == NULL, "name ok: %s", what)
#define NAME_BAD(lit, what) do { \
	const char *w_ = validate_name(lit, sizeof lit - 1); \
	ok(w_ != NULL, "name refused: %s (%s)", what, w_ ? w_ : "-"); \
} while (0)

static void
test_name(void)
{
	char *s;
	size_t len;

	NAME_OK("a", "one letter");
	NAME_OK("My GHCR", "with a space");
	NAME_OK(" x ", "blanks around");
	NAME_OK("\xe6\x97\xa5\xe6\x9c\xac", "CJK");
	NAME_OK("a\xc2\xa0" "b", "no-break space inside");
	NAME_OK("\xf0\x9f\x90\xb3 docker", "emoji");
	NAME_BAD("", "empty");
	NAME_BAD(" ", "one space");
	NAME_BAD("     ", "only spaces");
	NAME_BAD("\xc2\xa0\xc2\xa0", "only no-break spaces");
	NAME_BAD(" \xe3\x80\x80 ", "only spaces and an ideographic space");
	NAME_BAD("\t", "a tab");
	NAME_BAD(" \t ", "blanks and a tab");
	NAME_BAD("a\tb", "tab inside");
	NAME_BAD("a\nb", "newline inside");
	NAME_BAD("a\rb", "CR inside");
	NAME_BAD("a\x1b[31mb", "ESC inside");
	NAME_BAD("a\x7f", "DEL");
	NAME_BAD("a\xc2\x80", "U+0080");
	NAME_BAD("a\xc2\x9f", "U+009F");
	NAME_BAD("a\0b", "NUL inside");
	NAME_BAD("a\xff", "invalid UTF-8");
	NAME_BAD("a\xc0\xaf", "overlong");
	NAME_BAD("a\xed\xa0\x80", "surrogate");

	s = repeat("a", 128, &len);
	ok(validate_name(s, len) == NULL, "name of 128 ASCII characters ok");
	free(s);
	s = repeat("a", 129, &len);
	ok(validate_name(s, len) != NULL, "name of 129 ASCII characters refused");
	free(s);
	s = repeat("\xc3\xa9", 128, &len);
	ok(len == 256 && validate_name(s, len) == NULL,
	    "name of 128 two-byte characters (256 bytes) ok");
	free(s);
	s = repeat("\xc3\xa9", 129, &len);
	ok(validate_name(s, len) != NULL,
	    "name of 129 two-byte characters refused");
	free(s);
	s = repeat("\xf0\x9f\x98\x80", 128, &len);
	ok(len == 512 && validate_name(s, len) == NULL,
	    "name of 128 four-byte characters (512 bytes) ok");
	free(s);
	s = repeat("\xf0\x9f\x98\x80", 129, &len);
	ok(validate_name(s, len) != NULL,
	    "name of 129 four-byte characters refused");
	free(s);
	s = repeat("\xe2\x82\xac", 129, &len);
	ok(validate_name(s, len - 3) == NULL,
	    "name of 128 three-byte characters (len cut) ok");
	free(s);
}

static void
test_username(void)
{
	char *s;
	size_t len;

	ok(validate_username("AWS", 3) == NULL, "username AWS");
	ok(validate_username("_json_key", 9) == NULL, "username _json_key");
	ok(validate_username("00000000-0000-0000-0000-000000000000", 36) == NULL,
	    "username ACR token user");
	ok(validate_username("first last", 10) == NULL, "username with space");
	ok(validate_username("", 0) != NULL, "username empty refused");
	ok(validate_username("a\nb", 3) != NULL, "username newline refused");
	ok(validate_username("a\0b", 3) != NULL, "username NUL refused");
	ok(validate_username("a\xc2\x85", 3) != NULL, "username U+0085 refused");
	ok(validate_username("a\xff", 2) != NULL, "username bad UTF-8 refused");

	s = repeat("u", 255, &len);
	ok(validate_username(s, len) == NULL, "username 255 ASCII ok");
	free(s);
	s = repeat("u", 256, &len);
	ok(validate_username(s, len) != NULL, "username 256 ASCII refused");
	free(s);
	s = repeat("\xc3\xbc", 255, &len);
	ok(validate_username(s, len) == NULL,
	    "username 255 two-byte characters (510 bytes) ok");
	free(s);
	s = repeat("\xc3\xbc", 256, &len);
	ok(validate_username(s, len) != NULL,
	    "username 256 two-byte characters refused");
	free(s);
}

static void
test_password(void)
{
	char *s;
	const char *w;

	ok(validate_password("x", 1) == NULL, "password of 1 byte");
	ok(validate_password("", 0) != NULL, "empty password refused");
	ok(validate_password("{\n  \"type\": \"service_account\"\n}", 31) == NULL,
	    "password with newlines (JSON key file)");
	ok(validate_password("  ", 2) == NULL, "password of blanks ok");
	ok(validate_password("\x01\x7f", 2) == NULL,
	    "password with control characters ok");
	ok(validate_password("a\0b", 3) != NULL, "password with NUL refused");
	ok(validate_password("\0", 1) != NULL, "password of one NUL refused");

	s = malloc(16385);
	if (s == NULL)
		abort();
	memset(s, 'p', 16385);
	ok(validate_password(s, 16384) == NULL, "password of 16384 bytes ok");
	w = validate_password(s, 16385);
	ok(w != NULL, "password of 16385 bytes refused (%s)", w ? w : "-");
	ok(w != NULL && strstr(w, "ppp") == NULL,
	    "reason does not quote the password");
	s[16383] = '\0';
	ok(validate_password(s, 16384) != NULL,
	    "password with NUL at the last byte refused");
	free(s);
}

#define EMAIL_OK(lit, what) \
	ok(validate_email(lit, sizeof lit - 1) == NULL, "email ok: %s", what)
#define EMAIL_BAD(lit, what) do { \
	const char *w_ = validate_email(lit, sizeof lit - 1); \
	ok(w_ != NULL, "email refused: %s (%s)", what, w_ ? w_ : "-"); \
} while (0)

static void
test_email(void)
{
	char *s;
	size_t len;

	EMAIL_OK("a@b", "3 characters");
	EMAIL_OK("dev@example.com", "plain");
	EMAIL_OK("first.last+tag@sub.example.co.uk", "plus and dots");
	EMAIL_OK("\xc3\xbc@b", "non-ASCII local part (3 characters)");
	EMAIL_BAD("", "empty");
	EMAIL_BAD("a@", "2 characters");
	EMAIL_BAD("ab", "no @, 2 characters");
	EMAIL_BAD("abc", "no @");
	EMAIL_BAD("@ab", "nothing before @");
	EMAIL_BAD("ab@", "nothing after @");
	EMAIL_BAD("a@@b", "two @ together");
	EMAIL_BAD("a@b@c", "two @");
	EMAIL_BAD("a b@c.d", "space");
	EMAIL_BAD("a@c.d ", "trailing space");
	EMAIL_BAD("a\xc2\xa0" "b@c.d", "no-break space");
	EMAIL_BAD("a\t@c.d", "tab");
	EMAIL_BAD("a@c.d\n", "newline");
	EMAIL_BAD("a\0@c.d", "NUL");
	EMAIL_BAD("a@c.\xff", "invalid UTF-8");

	/* 254 characters: 64 + '@' + 189. */
	s = repeat("x", 254, &len);
	s[64] = '@';
	ok(validate_email(s, len) == NULL, "email of 254 characters ok");
	free(s);
	s = repeat("x", 255, &len);
	s[64] = '@';
	ok(validate_email(s, len) != NULL, "email of 255 characters refused");
	free(s);
	/* 254 characters of which many are two bytes: counted as characters. */
	s = repeat("\xc3\xa9", 253, &len);
	s[0] = 'a';	/* "a@" then 252 two-byte characters */
	s[1] = '@';
	ok(len == 506 && validate_email(s, len) == NULL,
	    "email of 254 characters in 506 bytes ok");
	free(s);
	s = repeat("\xc3\xa9", 254, &len);
	s[0] = 'a';
	s[1] = '@';
	ok(validate_email(s, len) != NULL,
	    "email of 255 characters in 508 bytes refused");
	free(s);
}

int
main(void)
{
	test_utf8();
	test_name();
	test_username();
	test_password();
	test_email();
	return done_testing();
}
