/*
 * validate: see validate.h.  Everything rests on one strict UTF-8 decoder
 * (Unicode 15, table 3-7: no overlongs, no surrogates, nothing above
 * U+10FFFF, no truncated sequence); each check walks the value once with
 * it and stops at the first fault.  Nothing allocates.
 *
 * "Blank" means a Unicode space separator (U+0020, U+00A0, U+1680,
 * U+2000-200A, U+202F, U+205F, U+3000); tabs and newlines are control
 * characters and refused on their own.  A name of no-break spaces is as
 * invisible as one of spaces, so it is refused too.
 */
#include "validate.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define NAME_MAX_CHARS		128
#define USERNAME_MAX_CHARS	255
#define PASSWORD_MAX_BYTES	16384
#define EMAIL_MIN_CHARS		3
#define EMAIL_MAX_CHARS		254
#define DESCRIPTION_MAX_CHARS	1024

/* Decode the code point at s[*i] (i < len) and advance *i past it.
 * Returns 0, or -1 when the bytes there are not well-formed UTF-8. */
static int
utf8_next(const unsigned char *s, size_t len, size_t *i, uint32_t *cp)
{
	size_t p = *i, need;
	unsigned char c = s[p];
	unsigned char lo = 0x80, hi = 0xbf;	/* range of the 2nd byte */
	uint32_t v;

	if (c < 0x80) {
		*cp = c;
		*i = p + 1;
		return 0;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		v = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (c == 0xed)
			hi = 0x9f;	/* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		v = c & 0x07;
		if (c == 0xf0)
			lo = 0x90;	/* overlong */
		else if (c == 0xf4)
			hi = 0x8f;	/* above U+10FFFF */
	} else
		return -1;	/* continuation byte, C0/C1, F5-FF */
	if (len - p - 1 < need)
		return -1;	/* truncated */
	for (size_t k = 1; k <= need; k++) {
		unsigned char b = s[p + k];

		if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xbf))
			return -1;
		v = v << 6 | (b & 0x3f);
	}
	*cp = v;
	*i = p + 1 + need;
	return 0;
}

static bool
is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

static bool
is_blank(uint32_t cp)
{
	return cp == 0x20 || cp == 0xa0 || cp == 0x1680 ||
	    (cp >= 0x2000 && cp <= 0x200a) || cp == 0x202f || cp == 0x205f ||
	    cp == 0x3000;
}

long
utf8_count(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	long n = 0;
	uint32_t cp;

	while (i < len) {
		if (utf8_next(u, len, &i, &cp) < 0 || cp == 0)
			return -1;
		n++;
	}
	return n;
}

/*
 * The common walk for text fields: valid UTF-8, no control character, at
 * most max code points.  Counts the blanks seen and the '@' signs, for the
 * callers that care.
 */
struct text_stats {
	size_t chars;
	size_t blanks;
	size_t ats;
};

static const char *
check_text(const char *s, size_t len, size_t max, const char *too_long,
           struct text_stats *st, bool multiline)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	uint32_t cp;

	memset(st, 0, sizeof *st);
	while (i < len) {
		if (utf8_next(u, len, &i, &cp) < 0)
			return "must be valid UTF-8";
		if (is_control(cp) && !(multiline &&
		    (cp == '\n' || cp == '\r' || cp == '\t')))
			return "must not contain control characters";
		if (is_blank(cp))
			st->blanks++;
		if (cp == '@')
			st->ats++;
		if (++st->chars > max)
			return too_long;
	}
	return NULL;
}

const char *
validate_name(const char *s, size_t len)
{
	struct text_stats st;
	const char *why;

	if (len == 0)
		return "must not be empty";
	why = check_text(s, len, NAME_MAX_CHARS,
	    "must be at most 128 characters", &st, false);
	if (why != NULL)
		return why;
	if (st.blanks == st.chars)
		return "must not be only blanks";
	return NULL;
}

const char *
validate_username(const char *s, size_t len)
{
	struct text_stats st;

	if (len == 0)
		return "must not be empty";
	return check_text(s, len, USERNAME_MAX_CHARS,
	    "must be at most 255 characters", &st, false);
}

const char *
validate_password(const char *s, size_t len)
{
	if (len == 0)
		return "must not be empty";
	if (len > PASSWORD_MAX_BYTES)
		return "must be at most 16384 bytes";
	if (memchr(s, '\0', len) != NULL)
		return "must not contain a NUL byte";
	return NULL;
}

const char *
validate_email(const char *s, size_t len)
{
	struct text_stats st;
	const char *why;
	const char *at;

	if (len == 0)
		return "must not be empty (use null for no email)";
	why = check_text(s, len, EMAIL_MAX_CHARS,
	    "must be at most 254 characters", &st, false);
	if (why != NULL)
		return why;
	if (st.chars < EMAIL_MIN_CHARS)
		return "must be at least 3 characters";
	if (st.blanks != 0)
		return "must not contain blanks";
	if (st.ats != 1)
		return "must contain exactly one '@'";
	at = memchr(s, '@', len);
	if (at == s || at == s + len - 1)
		return "must have text before and after the '@'";
	return NULL;
}

const char *
validate_description(const char *s, size_t len)
{
	struct text_stats st;

	return check_text(s, len, DESCRIPTION_MAX_CHARS,
	    "must be at most 1024 characters", &st, true);
}

const char *
validate_task_id(const char *s, size_t len)
{
	if (len == 0)
		return "must not be empty";
	if (len > 128)
		return "must be at most 128 characters";
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '~' ||
		    c == '-'))
			return "may only hold letters, digits and . _ ~ -";
	}
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return "must not be . or ..";
	if ((len == 9 && memcmp(s, "provision", 9) == 0) ||
	    (len == 4 && memcmp(s, "wait", 4) == 0))
		return "must not be \"provision\" or \"wait\"";
	return NULL;
}

const char *
validate_env_name(const char *s, size_t len)
{
	if (len == 0 || len > 128)
		return "must be 1-128 characters";
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		    (i > 0 && c >= '0' && c <= '9')))
			return "must match [A-Za-z_][A-Za-z0-9_]*";
	}
	return NULL;
}
