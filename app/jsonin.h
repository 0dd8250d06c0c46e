/*
 * jsonin: strict parsing of request bodies and checking them against a
 * declared field table, before any handler sees a value.
 *
 * jsonin_parse refuses: invalid JSON (json-c strict mode), invalid UTF-8,
 * nesting deeper than JSONIN_MAX_DEPTH, anything after the value but
 * blanks, and a top-level value that is not an object.
 * jsonin_check refuses: a field not in the table, a field of the wrong
 * JSON type (a number is never accepted for a string, "true" never for a
 * boolean), a missing required field, and a string holding a NUL
 * ("\u0000").
 */
#ifndef MODBOX_JSONIN_H
#define MODBOX_JSONIN_H

#include <stdbool.h>
#include <stddef.h>

struct json_object;

#define JSONIN_MAX_DEPTH 16

enum jsonin_status {
	JSONIN_OK = 0,
	JSONIN_MALFORMED,	/* 400: not JSON, bad UTF-8, too deep, trailing data */
	JSONIN_NOT_OBJECT,	/* 422: valid JSON but not an object */
};

/* Parse len bytes.  On JSONIN_OK *out is a new object (json_object_put
 * it).  Otherwise *out is NULL and *why a static message. */
enum jsonin_status jsonin_parse(const char *buf, size_t len,
                                struct json_object **out, const char **why);

enum jfield_type {
	JF_STRING,		/* a JSON string */
	JF_STRING_OR_NULL,	/* a JSON string or null */
	JF_BOOL,		/* true or false */
	JF_INT,			/* an integer that fits int64 (no fraction/exponent) */
	JF_INT_OR_NULL,		/* such an integer or null */
	JF_OBJECT,		/* an object */
};

struct jfield {
	const char *name;
	enum jfield_type type;
	bool required;
};

enum jsonin_check_status {
	JCHECK_OK = 0,
	JCHECK_UNKNOWN_FIELD,	/* *field = the offending key (borrowed from obj) */
	JCHECK_WRONG_TYPE,	/* *field = the table's name */
	JCHECK_MISSING_FIELD,	/* *field = the table's name */
	JCHECK_NUL_IN_STRING,	/* *field = the table's name */
};

/* Check obj against n fields.  On failure sets *field and *why (static). */
enum jsonin_check_status jsonin_check(struct json_object *obj,
                                      const struct jfield *fields, size_t n,
                                      const char **field, const char **why);

#endif
