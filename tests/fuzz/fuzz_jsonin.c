/*
 * fuzz_jsonin: jsonin_parse on arbitrary bytes, then jsonin_check against
 * the registry fields, then the validators on the strings that passed, as
 * the API does.  Properties: a parse either gives an object or a reason,
 * never both; a check failure names a field and a reason; the validators
 * only ever see valid UTF-8 without NUL.
 */
#include <stdint.h>
#include <stdlib.h>

#include <json-c/json.h>

#include "jsonin.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct jfield registry_fields[] = {
	{ "name", JF_STRING, true },
	{ "server", JF_STRING, true },
	{ "username", JF_STRING, true },
	{ "password", JF_STRING, true },
	{ "email", JF_STRING_OR_NULL, false },
	{ "enabled", JF_BOOL, false },
};

typedef const char *(*validator)(const char *, size_t);

static void
validate_field(struct json_object *obj, const char *name, validator fn)
{
	struct json_object *v;
	const char *s;
	size_t len;

	if (!json_object_object_get_ex(obj, name, &v) ||
	    !json_object_is_type(v, json_type_string))
		return;
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (utf8_count(s, len) < 0)	/* jsonin let bad text through */
		abort();
	if (fn != NULL)
		(void)fn(s, len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *obj = NULL;
	const char *why = NULL, *field = NULL;
	enum jsonin_status st;
	enum jsonin_check_status cs;

	st = jsonin_parse((const char *)data, size, &obj, &why);
	if (st != JSONIN_OK) {
		if (obj != NULL || why == NULL)
			abort();
		return 0;
	}
	if (obj == NULL || !json_object_is_type(obj, json_type_object))
		abort();
	cs = jsonin_check(obj, registry_fields,
	    sizeof registry_fields / sizeof *registry_fields, &field, &why);
	if (cs != JCHECK_OK) {
		if (field == NULL || why == NULL)
			abort();
	} else {
		validate_field(obj, "name", validate_name);
		validate_field(obj, "server", NULL);
		validate_field(obj, "username", validate_username);
		validate_field(obj, "password", validate_password);
		validate_field(obj, "email", validate_email);
	}
	json_object_put(obj);
	return 0;
}
