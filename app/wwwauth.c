/*
 * wwwauth: see wwwauth.h.  A hand-written scanner over the RFC 7235
 * grammar, narrowed to what a registry sends:
 *
 *   challenge  = OWS scheme [ 1*SP param-list ] OWS
 *   param-list = element *( OWS "," OWS element )
 *   element    = [ token BWS "=" BWS ( token / quoted-string ) ]
 *
 * Empty list elements ("a=1,,b=2", a trailing comma) are allowed, as the
 * RFC's #rule allows them.  Refused: an empty value, a NUL or any control
 * character but HTAB, a byte above 0x7e (registries send ASCII: a realm
 * is a URL), a token68 ("Bearer abc=="), a second challenge
 * ("Basic realm=a, Bearer realm=b", seen as an element that is a token
 * followed by a blank and another token), a parameter named twice, an
 * unterminated quoted string, a dangling backslash, a known parameter
 * (realm, service, scope) longer than WWWAUTH_VALUE_MAX - 1 bytes after
 * unescaping, and a whole value longer than WWWAUTH_INPUT_MAX.
 * Parameter names and the scheme are compared without regard to case;
 * unknown parameters are checked for syntax and dropped.  On any failure
 * *out is all zero (scheme WWWAUTH_NONE).
 */
#include "wwwauth.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* tchar of RFC 7230: visible ASCII but delimiters. */
static bool
is_tchar(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return true;
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
		return true;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool
is_blank(unsigned char c)
{
	return c == ' ' || c == '\t';
}

struct cursor {
	const char *s;
	size_t len;
	size_t i;
};

static void
skip_blanks(struct cursor *c)
{
	while (c->i < c->len && is_blank((unsigned char)c->s[c->i]))
		c->i++;
}

/* A token at the cursor: sets *start and *n (0 when there is none). */
static void
take_token(struct cursor *c, size_t *start, size_t *n)
{
	*start = c->i;
	while (c->i < c->len && is_tchar((unsigned char)c->s[c->i]))
		c->i++;
	*n = c->i - *start;
}

/*
 * A value (token or quoted string) at the cursor, unescaped into dst
 * (cap bytes, NUL-terminated) when dst is not NULL.  Returns 0, or -1 when
 * malformed, empty, or too long for dst.
 */
static int
take_value(struct cursor *c, char *dst, size_t cap)
{
	size_t o = 0;

	if (c->i >= c->len)
		return -1;
	if (c->s[c->i] != '"') {
		size_t start, n;

		take_token(c, &start, &n);
		if (n == 0)
			return -1;
		if (dst != NULL) {
			if (n >= cap)
				return -1;
			memcpy(dst, c->s + start, n);
			dst[n] = '\0';
		}
		return 0;
	}
	c->i++;			/* opening quote */
	for (;;) {
		unsigned char ch;

		if (c->i >= c->len)
			return -1;	/* unterminated */
		ch = (unsigned char)c->s[c->i++];
		if (ch == '"')
			break;
		if (ch == '\\') {
			if (c->i >= c->len)
				return -1;
			ch = (unsigned char)c->s[c->i++];
		}
		/* The input was checked for controls and non-ASCII. */
		if (dst != NULL) {
			if (o + 1 >= cap)
				return -1;
			dst[o] = (char)ch;
		}
		o++;
	}
	if (o == 0)
		return -1;	/* realm="" is as good as no realm */
	if (dst != NULL)
		dst[o] = '\0';
	return 0;
}

enum known_param { P_REALM, P_SERVICE, P_SCOPE, P_OTHER };

static enum known_param
param_of(const char *name, size_t n)
{
	if (n == 5 && strncasecmp(name, "realm", 5) == 0)
		return P_REALM;
	if (n == 7 && strncasecmp(name, "service", 7) == 0)
		return P_SERVICE;
	if (n == 5 && strncasecmp(name, "scope", 5) == 0)
		return P_SCOPE;
	return P_OTHER;
}

/* Names of unknown parameters already seen, to refuse repeats. */
#define SEEN_MAX 16

static bool
seen_before(const char *s, const size_t *start, const size_t *n,
            unsigned count, size_t at, size_t len)
{
	for (unsigned k = 0; k < count; k++)
		if (n[k] == len && strncasecmp(s + start[k], s + at, len) == 0)
			return true;
	return false;
}

static int
parse_params(struct cursor *c, struct wwwauth *out)
{
	size_t seen_start[SEEN_MAX], seen_n[SEEN_MAX];
	unsigned n_seen = 0;
	bool want_element = true;

	for (;;) {
		size_t start, n;
		char *dst;
		enum known_param kp;

		skip_blanks(c);
		if (c->i >= c->len)
			return 0;
		if (c->s[c->i] == ',') {	/* empty element or separator */
			c->i++;
			want_element = true;
			continue;
		}
		if (!want_element)
			return -1;	/* "a=1 b=2": missing comma */
		take_token(c, &start, &n);
		if (n == 0)
			return -1;
		skip_blanks(c);
		if (c->i >= c->len || c->s[c->i] != '=')
			return -1;	/* a second scheme, or a bare word */
		c->i++;
		skip_blanks(c);
		if (n_seen == SEEN_MAX ||
		    seen_before(c->s, seen_start, seen_n, n_seen, start, n))
			return -1;
		seen_start[n_seen] = start;
		seen_n[n_seen++] = n;
		kp = param_of(c->s + start, n);
		dst = kp == P_REALM ? out->realm : kp == P_SERVICE ?
		    out->service : kp == P_SCOPE ? out->scope : NULL;
		if (take_value(c, dst, WWWAUTH_VALUE_MAX) < 0)
			return -1;
		want_element = false;
	}
}

int
wwwauth_parse(const char *s, size_t len, struct wwwauth *out)
{
	struct cursor c = { s, len, 0 };
	size_t start, n;

	memset(out, 0, sizeof *out);
	if (s == NULL || len == 0 || len > WWWAUTH_INPUT_MAX)
		goto fail;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch < 0x20 && ch != '\t') || ch > 0x7e)
			goto fail;
	}
	skip_blanks(&c);
	take_token(&c, &start, &n);
	if (n == 5 && strncasecmp(s + start, "basic", 5) == 0)
		out->scheme = WWWAUTH_BASIC;
	else if (n == 6 && strncasecmp(s + start, "bearer", 6) == 0)
		out->scheme = WWWAUTH_BEARER;
	else
		goto fail;
	if (c.i < len && !is_blank((unsigned char)s[c.i]))
		goto fail;	/* "Basic,realm=x", "Bearer=..." */
	if (parse_params(&c, out) < 0)
		goto fail;
	return 0;
fail:
	memset(out, 0, sizeof *out);
	return -1;
}
