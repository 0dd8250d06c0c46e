/*
 * test_jsonin: jsonin_parse on good bodies and on every kind of malformed
 * one (json-c's own leniencies included), the nesting limit at its exact
 * boundary, and jsonin_check on each kind of fault and their order.
 *
 * Depth: 16 nested containers (objects or arrays) pass, 17 are refused,
 * whatever the innermost value is (json-c alone would count a scalar
 * leaf as a level; jsonin.c evens that out).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jsonin.h"
#include "tap.h"

struct pcase {
	const char *s;
	size_t len;
	enum jsonin_status want;
	const char *what;
};

#define P(lit, want, what) { lit, sizeof lit - 1, want, what }

static const struct pcase pcases[] = {
	P("{}", JSONIN_OK, "empty object"),
	P("{\"name\":\"x\"}", JSONIN_OK, "one field"),
	P(" \t\r\n{ \"a\" : [ 1 , 2.5e-3 , -0 , true , false , null ] }\n",
	    JSONIN_OK, "blanks everywhere"),
	P("{\"a\":\"\\u00e9\\ud83d\\ude00\\n\\\"\\\\\\/\"}", JSONIN_OK,
	    "escapes"),
	P("{\"a\":\"\xc3\xa9\xf0\x9f\x98\x80\"}", JSONIN_OK, "raw UTF-8"),
	P("{\"a\":\"\\ud800\"}", JSONIN_OK,
	    "lone surrogate escape (json-c makes it U+FFFD)"),
	P("{\"a\":\"\\u0000\"}", JSONIN_OK, "\\u0000 in a value (jsonin_check's)"),
	P("{\"a\":1,\"a\":2}", JSONIN_OK, "duplicate key"),
	P("{\"a\":1e400}", JSONIN_OK, "huge number is still JSON"),
	P("{\"a\":99999999999999999999}", JSONIN_OK, "huge integer is JSON"),

	P("", JSONIN_MALFORMED, "empty"),
	P("   ", JSONIN_MALFORMED, "blanks only"),
	P("\n\r\t", JSONIN_MALFORMED, "newlines only"),
	P("{", JSONIN_MALFORMED, "unclosed object"),
	P("{\"a\":", JSONIN_MALFORMED, "no value"),
	P("{\"a\":\"b", JSONIN_MALFORMED, "unterminated string"),
	P("{\"a\":\"b\\", JSONIN_MALFORMED, "unterminated escape"),
	P("}", JSONIN_MALFORMED, "lone close"),
	P("{}x", JSONIN_MALFORMED, "trailing garbage"),
	P("{}{}", JSONIN_MALFORMED, "two objects"),
	P("{} {}", JSONIN_MALFORMED, "two objects with a blank"),
	P("{}}", JSONIN_MALFORMED, "extra close"),
	P("{}\0", JSONIN_MALFORMED, "raw NUL after the object"),
	P("{\"a\":\"b\0c\"}", JSONIN_MALFORMED, "raw NUL in a string"),
	P("\0{}", JSONIN_MALFORMED, "raw NUL before"),
	P("{\"a\":\"\xff\"}", JSONIN_MALFORMED, "invalid UTF-8 in a string"),
	P("{\"a\":\"\xc0\xaf\"}", JSONIN_MALFORMED, "overlong UTF-8"),
	P("{\"a\":\"\xe0\x80\xaf\"}", JSONIN_MALFORMED, "overlong 3-byte"),
	P("{\"a\":\"\xed\xa0\x80\"}", JSONIN_MALFORMED, "raw surrogate"),
	P("{\"a\":\"\xf4\x90\x80\x80\"}", JSONIN_MALFORMED, "above U+10FFFF"),
	P("{\"a\":\"\xc3\"}", JSONIN_MALFORMED, "truncated UTF-8"),
	P("{\"\xff\":1}", JSONIN_MALFORMED, "invalid UTF-8 in a key"),
	P("\xef\xbb\xbf{}", JSONIN_MALFORMED, "byte order mark"),
	P("{'a':1}", JSONIN_MALFORMED, "single quotes"),
	P("{\"a\":'b'}", JSONIN_MALFORMED, "single-quoted value"),
	P("{a:1}", JSONIN_MALFORMED, "bare key"),
	P("{\"a\":1,}", JSONIN_MALFORMED, "trailing comma in object"),
	P("{\"a\":[1,]}", JSONIN_MALFORMED, "trailing comma in array"),
	P("{,}", JSONIN_MALFORMED, "lone comma"),
	P("{\"a\":NaN}", JSONIN_MALFORMED, "NaN"),
	P("{\"a\":Infinity}", JSONIN_MALFORMED, "Infinity"),
	P("{\"a\":-Infinity}", JSONIN_MALFORMED, "-Infinity"),
	P("{\"a\":nan}", JSONIN_MALFORMED, "nan"),
	P("{\"a\":[NaN]}", JSONIN_MALFORMED, "NaN in an array"),
	P("{\"a\":1}//c", JSONIN_MALFORMED, "line comment"),
	P("/*c*/{}", JSONIN_MALFORMED, "block comment before"),
	P("{\"a\":/*c*/1}", JSONIN_MALFORMED, "block comment inside"),
	P("#c\n{}", JSONIN_MALFORMED, "hash comment"),
	P("{\"a\":00}", JSONIN_MALFORMED, "number 00"),
	P("{\"a\":01}", JSONIN_MALFORMED, "leading zero"),
	P("{\"a\":-01}", JSONIN_MALFORMED, "negative leading zero"),
	P("{\"a\":1.}", JSONIN_MALFORMED, "1."),
	P("{\"a\":.5}", JSONIN_MALFORMED, ".5"),
	P("{\"a\":+1}", JSONIN_MALFORMED, "+1"),
	P("{\"a\":1e}", JSONIN_MALFORMED, "1e"),
	P("{\"a\":1e+}", JSONIN_MALFORMED, "1e+"),
	P("{\"a\":-}", JSONIN_MALFORMED, "lone minus"),
	P("{\"a\":0x10}", JSONIN_MALFORMED, "hex number"),
	P("{\"a\":1.5.5}", JSONIN_MALFORMED, "two dots"),
	P("{\"a\":True}", JSONIN_MALFORMED, "True"),
	P("{\"a\":tru}", JSONIN_MALFORMED, "tru"),
	P("{\"a\":nulll}", JSONIN_MALFORMED, "nulll"),
	P("{\"a\":undefined}", JSONIN_MALFORMED, "undefined"),
	P("{\"a\":\"x\ny\"}", JSONIN_MALFORMED, "raw newline in a string"),
	P("{\"a\":\"x\ty\"}", JSONIN_MALFORMED, "raw tab in a string"),
	P("{\"a\":\"\\x41\"}", JSONIN_MALFORMED, "bad escape \\x"),
	P("{\"a\":\"\\u00g0\"}", JSONIN_MALFORMED, "bad \\u escape"),
	P("{\"na\\u0000me\":1}", JSONIN_MALFORMED, "\\u0000 in a key"),
	P("{\"a\":{\"\\u0000\" :1}}", JSONIN_MALFORMED,
	    "\\u0000 in a nested key"),
	P("\v{}", JSONIN_MALFORMED, "vertical tab is not a JSON blank"),
	P("{}\f", JSONIN_MALFORMED, "form feed is not a JSON blank"),
	P("{\"a\" 1}", JSONIN_MALFORMED, "missing colon"),
	P("{\"a\":1 \"b\":2}", JSONIN_MALFORMED, "missing comma"),

	P("[]", JSONIN_NOT_OBJECT, "array"),
	P("[{}]", JSONIN_NOT_OBJECT, "array holding an object"),
	P("1", JSONIN_NOT_OBJECT, "number"),
	P(" 1 ", JSONIN_NOT_OBJECT, "number with blanks"),
	P("-0", JSONIN_NOT_OBJECT, "-0"),
	P("1.5e3", JSONIN_NOT_OBJECT, "float"),
	P("null", JSONIN_NOT_OBJECT, "null"),
	P("true", JSONIN_NOT_OBJECT, "true"),
	P("\"s\"", JSONIN_NOT_OBJECT, "string"),
	P("1x", JSONIN_MALFORMED, "number then garbage"),
	P("01", JSONIN_MALFORMED, "top-level leading zero"),
	P("nul", JSONIN_MALFORMED, "top-level nul"),
};

static void
test_parse_table(void)
{
	for (size_t i = 0; i < sizeof pcases / sizeof *pcases; i++) {
		struct json_object *o = (struct json_object *)1;
		const char *why = NULL;
		enum jsonin_status st;

		/* A malloc'd copy of the exact size, so ASan sees over-reads. */
		char *buf = malloc(pcases[i].len ? pcases[i].len : 1);

		if (buf == NULL)
			abort();
		memcpy(buf, pcases[i].s, pcases[i].len);
		st = jsonin_parse(buf, pcases[i].len, &o, &why);
		if (!ok(st == pcases[i].want &&
		    (st == JSONIN_OK ? o != NULL : o == NULL && why != NULL),
		    "parse: %s (%s)", pcases[i].what,
		    st == JSONIN_OK ? "ok" : why))
			printf("#   status %d, want %d\n", st, pcases[i].want);
		json_object_put(st == JSONIN_OK ? o : NULL);
		free(buf);
	}
}

/* depth containers nested: objects {"a":...} or arrays [...]; the leaf is
 * "1" or nothing. */
static char *
nest(int depth, int objects, int leaf)
{
	char *s = malloc((size_t)depth * 6 + 2), *p = s;

	if (s == NULL)
		abort();
	for (int i = 0; i < depth; i++) {
		if (objects && i == depth - 1 && !leaf)
			*p++ = '{';
		else if (objects) {
			memcpy(p, "{\"a\":", 5);
			p += 5;
		} else
			*p++ = '[';
	}
	if (leaf)
		*p++ = '1';
	for (int i = 0; i < depth; i++)
		*p++ = objects ? '}' : ']';
	*p = '\0';
	return s;
}

static void
test_depth(void)
{
	static const char *const kinds[] = { "arrays", "objects" };

	for (int objects = 0; objects <= 1; objects++)
		for (int leaf = 0; leaf <= 1; leaf++)
			for (int d = 15; d <= 18; d++) {
				struct json_object *o = NULL;
				const char *why = NULL;
				char *s, *body;
				enum jsonin_status st, want;

				s = nest(d - (objects ? 0 : 1), objects, leaf);
				/* arrays are wrapped in an object: one level */
				if (!objects) {
					body = malloc(strlen(s) + 8);
					if (body == NULL)
						abort();
					sprintf(body, "{\"a\":%s}", s);
					free(s);
				} else
					body = s;
				st = jsonin_parse(body, strlen(body), &o, &why);
				want = d <= JSONIN_MAX_DEPTH ? JSONIN_OK :
				    JSONIN_MALFORMED;
				ok(st == want, "depth %d %s%s: %s", d,
				    kinds[objects], leaf ? " around 1" : "",
				    st == JSONIN_OK ? "ok" : why);
				json_object_put(o);
				free(body);
			}
}

static void
test_parse_details(void)
{
	struct json_object *o = NULL, *v;
	const char *why;
	enum jsonin_status st;

	st = jsonin_parse("{\"a\":1,\"a\":2}", 13, &o, &why);
	ok(st == JSONIN_OK && json_object_object_get_ex(o, "a", &v) &&
	    json_object_get_int(v) == 2, "duplicate key: the last one wins");
	json_object_put(o);

	st = jsonin_parse("{\"a\":\"\\ud800\"}", 14, &o, &why);
	ok(st == JSONIN_OK && json_object_object_get_ex(o, "a", &v) &&
	    json_object_get_string_len(v) == 3 &&
	    memcmp(json_object_get_string(v), "\xef\xbf\xbd", 3) == 0,
	    "lone surrogate escape becomes U+FFFD");
	json_object_put(o);

	/* Only len bytes are read. */
	st = jsonin_parse("{}garbage", 2, &o, &why);
	ok(st == JSONIN_OK, "reads only len bytes");
	json_object_put(o);

	/* A big but flat body. */
	{
		size_t n = 60000, len;
		char *s = malloc(n + 16);

		if (s == NULL)
			abort();
		strcpy(s, "{\"a\":\"");
		len = strlen(s);
		memset(s + len, 'x', n);
		len += n;
		memcpy(s + len, "\"}", 2);
		len += 2;
		st = jsonin_parse(s, len, &o, &why);
		ok(st == JSONIN_OK, "60000-character string");
		json_object_put(o);
		free(s);
	}
}

/* ------------------------------------------------------------ check */

static const struct jfield fields[] = {
	{ "name", JF_STRING, true },
	{ "server", JF_STRING, true },
	{ "email", JF_STRING_OR_NULL, false },
	{ "enabled", JF_BOOL, false },
	{ "limit", JF_INT, false },
	{ "ttl", JF_INT_OR_NULL, false },
	{ "env", JF_OBJECT, false },
};

struct ccase {
	const char *json;
	enum jsonin_check_status want;
	const char *field;
	const char *what;
};

#define BASE "\"name\":\"n\",\"server\":\"s\""

static const struct ccase ccases[] = {
	{ "{" BASE "}", JCHECK_OK, NULL, "required only" },
	{ "{" BASE ",\"email\":\"e@x\",\"enabled\":false,\"limit\":5,"
	  "\"ttl\":null,\"env\":{\"K\":\"v\"}}", JCHECK_OK, NULL, "all fields" },
	{ "{" BASE ",\"email\":null}", JCHECK_OK, NULL, "null for string-or-null" },
	{ "{" BASE ",\"ttl\":7}", JCHECK_OK, NULL, "int for int-or-null" },
	{ "{" BASE ",\"limit\":-0}", JCHECK_OK, NULL, "-0 is an int" },
	{ "{" BASE ",\"limit\":9223372036854775807}", JCHECK_OK, NULL,
	  "INT64_MAX" },
	{ "{" BASE ",\"limit\":-9223372036854775807}", JCHECK_OK, NULL,
	  "INT64_MIN + 1" },
	{ "{" BASE ",\"name\":\"m\"}", JCHECK_OK, NULL,
	  "duplicate key (last wins)" },

	{ "{" BASE ",\"nmae\":\"x\"}", JCHECK_UNKNOWN_FIELD, "nmae", "unknown" },
	{ "{\"Name\":\"n\",\"server\":\"s\"}", JCHECK_UNKNOWN_FIELD, "Name",
	  "keys are case-sensitive" },
	{ "{\"\":1}", JCHECK_UNKNOWN_FIELD, "", "empty key" },
	{ "{\"name\":1,\"zzz\":1}", JCHECK_UNKNOWN_FIELD, "zzz",
	  "unknown beats wrong type" },

	{ "{\"name\":1,\"server\":\"s\"}", JCHECK_WRONG_TYPE, "name",
	  "number for string" },
	{ "{\"name\":null,\"server\":\"s\"}", JCHECK_WRONG_TYPE, "name",
	  "null for string" },
	{ "{\"name\":true,\"server\":\"s\"}", JCHECK_WRONG_TYPE, "name",
	  "bool for string" },
	{ "{\"name\":[],\"server\":\"s\"}", JCHECK_WRONG_TYPE, "name",
	  "array for string" },
	{ "{\"name\":{},\"server\":\"s\"}", JCHECK_WRONG_TYPE, "name",
	  "object for string" },
	{ "{" BASE ",\"email\":1}", JCHECK_WRONG_TYPE, "email",
	  "number for string-or-null" },
	{ "{" BASE ",\"email\":false}", JCHECK_WRONG_TYPE, "email",
	  "bool for string-or-null" },
	{ "{" BASE ",\"enabled\":\"true\"}", JCHECK_WRONG_TYPE, "enabled",
	  "string \"true\" for bool" },
	{ "{" BASE ",\"enabled\":1}", JCHECK_WRONG_TYPE, "enabled",
	  "1 for bool" },
	{ "{" BASE ",\"enabled\":null}", JCHECK_WRONG_TYPE, "enabled",
	  "null for bool" },
	{ "{" BASE ",\"limit\":1.5}", JCHECK_WRONG_TYPE, "limit", "1.5 for int" },
	{ "{" BASE ",\"limit\":1.0}", JCHECK_WRONG_TYPE, "limit", "1.0 for int" },
	{ "{" BASE ",\"limit\":1e3}", JCHECK_WRONG_TYPE, "limit", "1e3 for int" },
	{ "{" BASE ",\"limit\":1e400}", JCHECK_WRONG_TYPE, "limit",
	  "1e400 for int" },
	{ "{" BASE ",\"limit\":-1e400}", JCHECK_WRONG_TYPE, "limit",
	  "-1e400 for int" },
	{ "{" BASE ",\"limit\":99999999999999999999}", JCHECK_WRONG_TYPE,
	  "limit", "99999999999999999999 for int" },
	{ "{" BASE ",\"limit\":-99999999999999999999}", JCHECK_WRONG_TYPE,
	  "limit", "-99999999999999999999 for int" },
	{ "{" BASE ",\"limit\":9223372036854775808}", JCHECK_WRONG_TYPE,
	  "limit", "INT64_MAX + 1 for int" },
	{ "{" BASE ",\"limit\":18446744073709551615}", JCHECK_WRONG_TYPE,
	  "limit", "UINT64_MAX for int" },
	{ "{" BASE ",\"limit\":-9223372036854775808}", JCHECK_WRONG_TYPE,
	  "limit", "INT64_MIN refused (cannot tell from a clamped value)" },
	{ "{" BASE ",\"limit\":\"5\"}", JCHECK_WRONG_TYPE, "limit",
	  "string for int" },
	{ "{" BASE ",\"limit\":null}", JCHECK_WRONG_TYPE, "limit",
	  "null for int" },
	{ "{" BASE ",\"ttl\":1.5}", JCHECK_WRONG_TYPE, "ttl",
	  "1.5 for int-or-null" },
	{ "{" BASE ",\"ttl\":\"x\"}", JCHECK_WRONG_TYPE, "ttl",
	  "string for int-or-null" },
	{ "{" BASE ",\"env\":[]}", JCHECK_WRONG_TYPE, "env", "array for object" },
	{ "{" BASE ",\"env\":null}", JCHECK_WRONG_TYPE, "env", "null for object" },
	{ "{\"enabled\":1}", JCHECK_WRONG_TYPE, "enabled",
	  "wrong type beats missing" },

	{ "{}", JCHECK_MISSING_FIELD, "name", "empty object" },
	{ "{\"name\":\"n\"}", JCHECK_MISSING_FIELD, "server", "server missing" },
	{ "{\"name\":\"a\\u0000b\",\"server\":\"s\"}", JCHECK_NUL_IN_STRING,
	  "name", "\\u0000 inside" },
	{ "{" BASE ",\"email\":\"\\u0000\"}", JCHECK_NUL_IN_STRING, "email",
	  "\\u0000 alone in string-or-null" },
	{ "{\"name\":\"\\u0000\"}", JCHECK_MISSING_FIELD, "server",
	  "missing beats NUL" },
};

static void
test_check_table(void)
{
	for (size_t i = 0; i < sizeof ccases / sizeof *ccases; i++) {
		const struct ccase *c = &ccases[i];
		struct json_object *o = NULL;
		const char *why = NULL, *field = NULL;
		enum jsonin_check_status st;

		if (jsonin_parse(c->json, strlen(c->json), &o, &why) !=
		    JSONIN_OK) {
			ok(0, "check: %s (did not parse: %s)", c->what, why);
			continue;
		}
		st = jsonin_check(o, fields, sizeof fields / sizeof *fields,
		    &field, &why);
		if (!ok(st == c->want &&
		    (st == JCHECK_OK || (field != NULL && why != NULL &&
		    strcmp(field, c->field) == 0)),
		    "check: %s (%s%s%s)", c->what, st == JCHECK_OK ? "ok" :
		    field, st == JCHECK_OK ? "" : ": ", st == JCHECK_OK ? "" :
		    why))
			printf("#   status %d, want %d\n", st, c->want);
		json_object_put(o);
	}
}

static void
test_check_details(void)
{
	static const struct jfield none[] = { { "x", JF_STRING, false } };
	struct json_object *o = NULL;
	const char *why = NULL, *field = NULL;

	/* An empty table: every key is unknown, {} is fine. */
	jsonin_parse("{}", 2, &o, &why);
	ok(jsonin_check(o, none, 0, &field, &why) == JCHECK_OK,
	    "empty table, empty object");
	json_object_put(o);
	jsonin_parse("{\"x\":\"y\"}", 9, &o, &why);
	ok(jsonin_check(o, none, 0, &field, &why) == JCHECK_UNKNOWN_FIELD,
	    "empty table, one key");
	ok(jsonin_check(o, none, 1, &field, &why) == JCHECK_OK,
	    "optional string present");
	json_object_put(o);
	/* The unknown key is borrowed from the object and is the key. */
	jsonin_parse("{\"x\":\"y\",\"secret-key\":1}", 24, &o, &why);
	ok(jsonin_check(o, none, 1, &field, &why) == JCHECK_UNKNOWN_FIELD &&
	    strcmp(field, "secret-key") == 0, "unknown key reported");
	json_object_put(o);
}

int
main(void)
{
	test_parse_table();
	test_depth();
	test_parse_details();
	test_check_table();
	test_check_details();
	return done_testing();
}
