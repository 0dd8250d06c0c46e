/*
 * jsonin: see jsonin.h.  Two stages.
 *
 * 1. A lexical pre-scan of the raw bytes, because json-c 0.16 in strict
 *    mode still accepts things that are not JSON: NaN and Infinity inside
 *    containers, single-quoted strings, raw control characters in
 *    strings, numbers such as 00 and 1., and its UTF-8 check lets
 *    overlongs, surrogates and code points above U+10FFFF through.  The
 *    scan refuses those, a NUL byte anywhere, an object key holding
 *    \u0000 (json-c would cut the key at the NUL, so "name\u0000x" would
 *    pass for "name"), and nesting deeper than JSONIN_MAX_DEPTH.  Depth
 *    counts containers: 16 nested arrays/objects pass, 17 are refused,
 *    whatever the innermost value is.
 *
 * 2. json-c (strict, UTF-8 validating) builds the tree and checks the
 *    grammar.  json-c's max_depth counts every value on its stack, the
 *    innermost scalar included (with json_tokener_new_ex(16), 16 nested
 *    empty arrays pass but 16 arrays around a 1 do not), so the tokener
 *    gets JSONIN_MAX_DEPTH + 1 and never refuses what the scan allowed.
 *    Given the exact length, json-c cannot tell whether a top-level
 *    number or literal is complete and answers json_tokener_continue; the
 *    terminating NUL is then fed as a second chunk, which ends the input.
 *
 * Messages (*why) are predicates for the caller to put after a subject:
 * "body" + " is not valid UTF-8", "name" + " must be a string".  None
 * quotes the input.
 *
 * jsonin_check walks the object once for unknown keys and the table once
 * per kind of fault, so the fault reported is, in order: an unknown field,
 * a wrong type, a missing field, a NUL in a string (the README's order of
 * checks).  Only the table's own fields are looked into: what a JF_OBJECT
 * holds is its handler's to check.  Integers: json-c clamps out-of-range numbers to INT64_MIN or
 * to UINT64_MAX rather than failing, so a JF_INT accepts exactly
 * INT64_MIN + 1 .. INT64_MAX; INT64_MIN itself is refused because it
 * cannot be told from a clamped -99999999999999999999.  Everything
 * json-c hands back from an object is borrowed and never put here.
 */
#include "jsonin.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>
#include <json-c/printbuf.h>

#include "validate.h"

static int
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A string starting at buf[*i] == '"'; *i ends past the closing quote. */
static const char *
scan_string(const char *buf, size_t len, size_t *i)
{
	size_t p = *i + 1, q;
	int has_nul = 0;

	for (;;) {
		unsigned char c;

		if (p >= len)
			return "has an unterminated string";
		c = (unsigned char)buf[p];
		if (c == '"')
			break;
		if (c < 0x20)
			return "has a control character not escaped in a "
			    "string";
		if (c == '\\') {
			if (p + 1 >= len)
				return "has an unterminated string";
			if (buf[p + 1] == 'u' && len - p >= 6 &&
			    memcmp(buf + p + 2, "0000", 4) == 0)
				has_nul = 1;
			p += 2;	/* json-c checks the escape itself */
			continue;
		}
		p++;
	}
	*i = ++p;
	/* A string followed by ':' is an object key. */
	for (q = p; q < len && is_ws(buf[q]); q++)
		;
	if (has_nul && q < len && buf[q] == ':')
		return "has an object key holding \\u0000";
	return NULL;
}

/* RFC 8259 number: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static const char *
scan_number(const char *buf, size_t len, size_t *i)
{
	static const char bad[] = "has an invalid number";
	size_t p = *i;

	if (buf[p] == '-')
		p++;
	if (p >= len || !is_digit(buf[p]))
		return bad;
	if (buf[p] == '0')
		p++;
	else
		while (p < len && is_digit(buf[p]))
			p++;
	if (p < len && buf[p] == '.') {
		if (++p >= len || !is_digit(buf[p]))
			return bad;
		while (p < len && is_digit(buf[p]))
			p++;
	}
	if (p < len && (buf[p] == 'e' || buf[p] == 'E')) {
		p++;
		if (p < len && (buf[p] == '+' || buf[p] == '-'))
			p++;
		if (p >= len || !is_digit(buf[p]))
			return bad;
		while (p < len && is_digit(buf[p]))
			p++;
	}
	if (p < len && (is_digit(buf[p]) || buf[p] == '.' || buf[p] == 'e' ||
	    buf[p] == 'E' || buf[p] == '+' || buf[p] == '-'))
		return bad;
	*i = p;
	return NULL;
}

/* true, false or null (json-c then checks where they stand). */
static const char *
scan_literal(const char *buf, size_t len, size_t *i)
{
	size_t p = *i, n;

	while (p < len && buf[p] >= 'a' && buf[p] <= 'z')
		p++;
	n = p - *i;
	if (!((n == 4 && memcmp(buf + *i, "true", 4) == 0) ||
	    (n == 5 && memcmp(buf + *i, "false", 5) == 0) ||
	    (n == 4 && memcmp(buf + *i, "null", 4) == 0)))
		return "is not valid JSON (misspelt true, false or null)";
	*i = p;
	return NULL;
}

static const char *
scan(const char *buf, size_t len)
{
	size_t i = 0, depth = 0;
	int tokens = 0;
	const char *why;

	if (len == 0)
		return "is empty";
	if (memchr(buf, '\0', len) != NULL)
		return "holds a NUL byte";
	if (utf8_count(buf, len) < 0)
		return "is not valid UTF-8";
	while (i < len) {
		char c = buf[i];

		if (is_ws(c)) {
			i++;
			continue;
		}
		tokens++;
		if (c == '{' || c == '[') {
			if (++depth > JSONIN_MAX_DEPTH)
				return "is nested deeper than 16 levels";
			i++;
		} else if (c == '}' || c == ']') {
			if (depth > 0)
				depth--;	/* json-c checks the balance */
			i++;
		} else if (c == ',' || c == ':') {
			i++;
		} else if (c == '"') {
			if ((why = scan_string(buf, len, &i)) != NULL)
				return why;
		} else if (c == '-' || is_digit(c)) {
			if ((why = scan_number(buf, len, &i)) != NULL)
				return why;
		} else if (c == 't' || c == 'f' || c == 'n') {
			if ((why = scan_literal(buf, len, &i)) != NULL)
				return why;
		} else
			return "is not valid JSON (unexpected character)";
	}
	if (tokens == 0)
		return "is empty";
	return NULL;
}

static const char *
tokener_why(enum json_tokener_error err)
{
	switch (err) {
	case json_tokener_continue:
	case json_tokener_error_parse_eof:
		return "is incomplete JSON";
	case json_tokener_error_depth:
		return "is nested deeper than 16 levels";
	case json_tokener_error_parse_utf8_string:
		return "is not valid UTF-8";
	case json_tokener_error_parse_null:
	case json_tokener_error_parse_boolean:
		return "is not valid JSON (misspelt true, false or null)";
	case json_tokener_error_parse_number:
		return "has an invalid number";
	case json_tokener_error_parse_array:
		return "is not valid JSON (',' or ']' expected in an array)";
	case json_tokener_error_parse_object_key_name:
		return "is not valid JSON (a quoted key expected)";
	case json_tokener_error_parse_object_key_sep:
		return "is not valid JSON (':' expected after a key)";
	case json_tokener_error_parse_object_value_sep:
		return "is not valid JSON (',' or '}' expected in an object)";
	case json_tokener_error_parse_string:
		return "has an invalid escape in a string";
	case json_tokener_error_parse_comment:
		return "is not valid JSON (comments are not allowed)";
	default:
		return "is not valid JSON";
	}
}

enum jsonin_status
jsonin_parse(const char *buf, size_t len, struct json_object **out,
             const char **why)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error err;
	size_t end = len;
	const char *w;

	*out = NULL;
	if (len > INT_MAX) {
		*why = "is too large";
		return JSONIN_MALFORMED;
	}
	if ((w = scan(buf, len)) != NULL) {
		*why = w;
		return JSONIN_MALFORMED;
	}
	if ((tok = json_tokener_new_ex(JSONIN_MAX_DEPTH + 1)) == NULL) {
		*why = "could not be parsed (out of memory)";
		return JSONIN_MALFORMED;
	}
	json_tokener_set_flags(tok,
	    JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	err = json_tokener_get_error(tok);
	if (err == json_tokener_success)
		end = json_tokener_get_parse_end(tok);
	else if (err == json_tokener_continue) {
		obj = json_tokener_parse_ex(tok, "", 1);
		err = json_tokener_get_error(tok);
	}
	/* The tokener's buffer held the last string it read (perhaps a
	 * password): wipe it before it goes back to the allocator. */
	if (tok->pb != NULL && tok->pb->buf != NULL && tok->pb->size > 0)
		explicit_bzero(tok->pb->buf, (size_t)tok->pb->size);
	json_tokener_free(tok);
	if (err != json_tokener_success) {
		json_object_put(obj);
		*why = tokener_why(err);
		return JSONIN_MALFORMED;
	}
	for (; end < len; end++)
		if (!is_ws(buf[end])) {
			json_object_put(obj);
			*why = "has data after the JSON value";
			return JSONIN_MALFORMED;
		}
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		*why = "must be a JSON object";
		return JSONIN_NOT_OBJECT;
	}
	*out = obj;
	return JSONIN_OK;
}

/* An integer json-c did not clamp (see the top of the file). */
static int
int_in_range(struct json_object *v)
{
	int64_t i = json_object_get_int64(v);

	if (i == INT64_MIN)
		return 0;
	if (i == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX)
		return 0;
	return 1;
}

static const char *
int_why(struct json_object *v, const char *wrong)
{
	if (!json_object_is_type(v, json_type_int))
		return wrong;
	return int_in_range(v) ? NULL :
	    "must be an integer between -9223372036854775807 and "
	    "9223372036854775807";
}

/* NULL when v (NULL for JSON null) has the type t, else the message. */
static const char *
type_why(struct json_object *v, enum jfield_type t)
{
	switch (t) {
	case JF_STRING:
		return json_object_is_type(v, json_type_string) ? NULL :
		    "must be a string";
	case JF_STRING_OR_NULL:
		return v == NULL || json_object_is_type(v, json_type_string) ?
		    NULL : "must be a string or null";
	case JF_BOOL:
		return json_object_is_type(v, json_type_boolean) ? NULL :
		    "must be true or false";
	case JF_INT:
		return int_why(v, "must be an integer");
	case JF_INT_OR_NULL:
		return v == NULL ? NULL :
		    int_why(v, "must be an integer or null");
	case JF_OBJECT:
		return json_object_is_type(v, json_type_object) ? NULL :
		    "must be an object";
	}
	return "has an unknown type";
}

enum jsonin_check_status
jsonin_check(struct json_object *obj, const struct jfield *fields, size_t n,
             const char **field, const char **why)
{
	struct json_object *v;
	const char *w;
	size_t k;

	json_object_object_foreach(obj, key, val) {
		(void)val;
		for (k = 0; k < n; k++)
			if (strcmp(key, fields[k].name) == 0)
				break;
		if (k == n) {
			*field = key;
			*why = "is not a known field";
			return JCHECK_UNKNOWN_FIELD;
		}
	}
	for (k = 0; k < n; k++)
		if (json_object_object_get_ex(obj, fields[k].name, &v) &&
		    (w = type_why(v, fields[k].type)) != NULL) {
			*field = fields[k].name;
			*why = w;
			return JCHECK_WRONG_TYPE;
		}
	for (k = 0; k < n; k++)
		if (fields[k].required &&
		    !json_object_object_get_ex(obj, fields[k].name, NULL)) {
			*field = fields[k].name;
			*why = "is required";
			return JCHECK_MISSING_FIELD;
		}
	for (k = 0; k < n; k++)
		if (json_object_object_get_ex(obj, fields[k].name, &v) &&
		    json_object_is_type(v, json_type_string) &&
		    memchr(json_object_get_string(v), '\0',
		    (size_t)json_object_get_string_len(v)) != NULL) {
			*field = fields[k].name;
			*why = "must not contain a NUL character";
			return JCHECK_NUL_IN_STRING;
		}
	return JCHECK_OK;
}
