/*
 * test_wwwauth: WWW-Authenticate parsing as registries send it, and the
 * malformed values a hostile or broken registry might.
 */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "wwwauth.h"

struct good {
	const char *in;
	enum wwwauth_scheme scheme;
	const char *realm, *service, *scope;
};

static const struct good goods[] = {
	{ "Basic realm=\"Registry Realm\"", WWWAUTH_BASIC, "Registry Realm", "", "" },
	{ "Basic realm=h9-realm", WWWAUTH_BASIC, "h9-realm", "", "" },
	{ "Basic", WWWAUTH_BASIC, "", "", "" },
	{ "basic REALM=\"x\"", WWWAUTH_BASIC, "x", "", "" },
	{ "BASIC Realm=x", WWWAUTH_BASIC, "x", "", "" },
	{ "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\",scope=\"repository:library/ubuntu:pull\"",
	  WWWAUTH_BEARER, "https://auth.docker.io/token", "registry.docker.io",
	  "repository:library/ubuntu:pull" },
	{ "Bearer scope=\"repository:a/b:pull\",realm=\"https://r/t\",service=\"s\"",
	  WWWAUTH_BEARER, "https://r/t", "s", "repository:a/b:pull" },
	{ "Bearer service=\"s\", scope=\"x\", realm=\"https://r/t\"",
	  WWWAUTH_BEARER, "https://r/t", "s", "x" },
	{ "bEaReR ReAlM=\"https://r/t\",SERVICE=svc", WWWAUTH_BEARER,
	  "https://r/t", "svc", "" },
	/* commas, blanks and escapes inside quotes */
	{ "Bearer realm=\"https://r/t\",scope=\"repository:a/b:pull,push\"",
	  WWWAUTH_BEARER, "https://r/t", "", "repository:a/b:pull,push" },
	{ "Bearer realm=\"a\\\"b\\\\c\"", WWWAUTH_BEARER, "a\"b\\c", "", "" },
	{ "Bearer realm=\"\\x\\y\"", WWWAUTH_BEARER, "xy", "", "" },
	{ "Bearer realm=\"a = b , c\"", WWWAUTH_BEARER, "a = b , c", "", "" },
	/* blanks around '=' and ',' (BWS, OWS), tabs, leading/trailing */
	{ "  Bearer \t realm = \"https://r/t\" ,\tservice= s ", WWWAUTH_BEARER,
	  "https://r/t", "s", "" },
	/* empty list elements and a trailing comma */
	{ "Bearer realm=r,,service=s,", WWWAUTH_BEARER, "r", "s", "" },
	{ "Bearer ,realm=r", WWWAUTH_BEARER, "r", "", "" },
	/* unknown parameters are ignored */
	{ "Bearer realm=\"r\",error=\"insufficient_scope\",error_description=\"x, y\"",
	  WWWAUTH_BEARER, "r", "", "" },
	{ "Basic realm=x, charset=\"UTF-8\"", WWWAUTH_BASIC, "x", "", "" },
	/* unquoted tokens with tchar punctuation */
	{ "Bearer realm=https-r!#$%&'*+-.^_`|~9", WWWAUTH_BEARER,
	  "https-r!#$%&'*+-.^_`|~9", "", "" },
	{ "Bearer", WWWAUTH_BEARER, "", "", "" },
};

static const struct {
	const char *in;
	const char *what;
} bads[] = {
	{ "", "empty" },
	{ "   ", "only blanks" },
	{ "Digest realm=x", "unknown scheme" },
	{ "Negotiate", "unknown scheme alone" },
	{ "Basicrealm=x", "scheme glued to parameter" },
	{ "Basic,realm=x", "scheme followed by comma" },
	{ "Bearer realm=\"https://r/t", "unterminated quote" },
	{ "Bearer realm=\"abc\\", "dangling backslash" },
	{ "Bearer realm", "missing '='" },
	{ "Bearer realm=", "missing value" },
	{ "Bearer realm=,service=s", "empty token value" },
	{ "Bearer realm=\"\"", "empty quoted value" },
	{ "Bearer =x", "missing name" },
	{ "Basic realm=a, Bearer realm=b", "two schemes" },
	{ "Bearer realm=a, Basic", "second scheme without params" },
	{ "Bearer realm=a service=b", "missing comma" },
	{ "Bearer realm=\"a\"x", "junk after quoted value" },
	{ "Bearer abc==", "token68" },
	{ "Bearer realm=a,realm=b", "realm twice" },
	{ "Bearer realm=a,REALM=b", "realm twice, other case" },
	{ "Bearer realm=a,foo=1,Foo=2", "unknown param twice" },
	{ "Bearer realm=\"a\rb\"", "CR inside quotes" },
	{ "Bearer realm=a\n, service=b", "LF" },
	{ "Bearer realm=\"\x01\"", "control character" },
	{ "Bearer realm=\"\x7f\"", "DEL" },
	{ "Bearer realm=\"caf\xc3\xa9\"", "non-ASCII" },
	{ "Bearer realm=a;service=b", "semicolon separator" },
	{ "Bearer realm=(x)", "delimiter in token" },
};

static void
check_good(const struct good *g)
{
	struct wwwauth w;
	int rc = wwwauth_parse(g->in, strlen(g->in), &w);

	if (!ok(rc == 0 && w.scheme == g->scheme &&
	    strcmp(w.realm, g->realm) == 0 &&
	    strcmp(w.service, g->service) == 0 &&
	    strcmp(w.scope, g->scope) == 0, "accepts: %s", g->in))
		printf("#   rc %d scheme %d realm '%s' service '%s' scope '%s'\n",
		    rc, w.scheme, w.realm, w.service, w.scope);
}

static int
is_zero(const struct wwwauth *w)
{
	static const struct wwwauth z;

	return memcmp(w, &z, sizeof z) == 0;
}

static void
check_bad(const char *in, size_t len, const char *what)
{
	struct wwwauth w;

	memset(&w, 0x55, sizeof w);
	ok(wwwauth_parse(in, len, &w) == -1 && is_zero(&w),
	    "refuses %s", what);
}

static void
test_lengths(void)
{
	char *buf = malloc(WWWAUTH_INPUT_MAX + 64);
	struct wwwauth w;
	size_t k;

	if (buf == NULL)
		exit(2);
	/* realm of exactly VALUE_MAX - 1 bytes fits, VALUE_MAX does not */
	k = (size_t)sprintf(buf, "Bearer realm=\"");
	memset(buf + k, 'a', WWWAUTH_VALUE_MAX - 1);
	k += WWWAUTH_VALUE_MAX - 1;
	k += (size_t)sprintf(buf + k, "\"");
	ok(wwwauth_parse(buf, k, &w) == 0 &&
	    strlen(w.realm) == WWWAUTH_VALUE_MAX - 1,
	    "a realm of VALUE_MAX - 1 bytes fits");

	k = (size_t)sprintf(buf, "Bearer realm=\"");
	memset(buf + k, 'a', WWWAUTH_VALUE_MAX);
	k += WWWAUTH_VALUE_MAX;
	k += (size_t)sprintf(buf + k, "\"");
	check_bad(buf, k, "a quoted realm of VALUE_MAX bytes");

	k = (size_t)sprintf(buf, "Bearer scope=");
	memset(buf + k, 'a', WWWAUTH_VALUE_MAX);
	k += WWWAUTH_VALUE_MAX;
	check_bad(buf, k, "a token scope of VALUE_MAX bytes");

	/* escapes count once: 1023 escaped bytes fit */
	k = (size_t)sprintf(buf, "Bearer service=\"");
	for (size_t i = 0; i < WWWAUTH_VALUE_MAX - 1; i++) {
		buf[k++] = '\\';
		buf[k++] = '"';
	}
	buf[k++] = '"';
	ok(wwwauth_parse(buf, k, &w) == 0 &&
	    strlen(w.service) == WWWAUTH_VALUE_MAX - 1 && w.service[0] == '"',
	    "escaped characters count once against VALUE_MAX");

	/* an unknown parameter may be long, the whole value may not */
	k = (size_t)sprintf(buf, "Bearer realm=r,x=\"");
	memset(buf + k, 'b', 4000);
	k += 4000;
	buf[k++] = '"';
	ok(wwwauth_parse(buf, k, &w) == 0 && strcmp(w.realm, "r") == 0,
	    "a long unknown parameter is ignored");

	k = (size_t)sprintf(buf, "Bearer realm=r,x=\"");
	memset(buf + k, 'b', WWWAUTH_INPUT_MAX);
	k += WWWAUTH_INPUT_MAX;
	buf[k++] = '"';
	check_bad(buf, k, "a value longer than WWWAUTH_INPUT_MAX");
	free(buf);
}

static void
test_nul(void)
{
	static const char in[] = "Bearer realm=\"a\0b\"";
	static const char tail[] = "Basic realm=x\0";
	struct wwwauth w;

	check_bad(in, sizeof in - 1, "a NUL inside quotes");
	check_bad(tail, sizeof tail - 1, "a trailing NUL");
	/* the length is what counts, not a NUL terminator */
	ok(wwwauth_parse("Basic realm=xyz", 13, &w) == 0 &&
	    strcmp(w.realm, "x") == 0, "only len bytes are read");
	check_bad(NULL, 0, "NULL");
}

static void
test_too_many_params(void)
{
	char buf[1024];
	struct wwwauth w;
	size_t k = (size_t)sprintf(buf, "Bearer realm=r");

	for (int i = 0; i < 15; i++)
		k += (size_t)sprintf(buf + k, ",p%d=v", i);
	ok(wwwauth_parse(buf, k, &w) == 0, "16 parameters are accepted");
	k += (size_t)sprintf(buf + k, ",p99=v");
	check_bad(buf, k, "17 parameters");
}

int
main(void)
{
	for (size_t i = 0; i < sizeof goods / sizeof goods[0]; i++)
		check_good(&goods[i]);
	for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++)
		check_bad(bads[i].in, strlen(bads[i].in), bads[i].what);
	test_lengths();
	test_nul();
	test_too_many_params();
	return done_testing();
}
