/*
 * fuzz_wwwauth: wwwauth_parse on arbitrary bytes.  Properties, any broken
 * one aborts:
 * - on failure the result is all zero;
 * - on success the scheme is Basic or Bearer, each value is
 *   NUL-terminated inside its buffer and holds only printable ASCII or
 *   tabs;
 * - on success, the challenge written back (each known value quoted, '"'
 *   and '\' escaped) parses again to the same result.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wwwauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_value(const char *v)
{
	size_t n = strnlen(v, WWWAUTH_VALUE_MAX);

	if (n == WWWAUTH_VALUE_MAX)
		abort();
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)v[i] < 0x20 && v[i] != '\t') ||
		    (unsigned char)v[i] > 0x7e)
			abort();
}

/* Append name="value" with escapes; returns the new length. */
static size_t
put_param(char *buf, size_t k, const char *name, const char *v)
{
	if (*v == '\0')
		return k;
	k += (size_t)sprintf(buf + k, ",%s=\"", name);
	for (; *v != '\0'; v++) {
		if (*v == '"' || *v == '\\')
			buf[k++] = '\\';
		buf[k++] = *v;
	}
	buf[k++] = '"';
	return k;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct wwwauth zero;
	struct wwwauth w, again;
	char *buf;
	size_t k;

	if (wwwauth_parse((const char *)data, size, &w) != 0) {
		if (memcmp(&w, &zero, sizeof w) != 0)
			abort();
		return 0;
	}
	if (w.scheme != WWWAUTH_BASIC && w.scheme != WWWAUTH_BEARER)
		abort();
	check_value(w.realm);
	check_value(w.service);
	check_value(w.scope);

	if ((buf = malloc(7 * WWWAUTH_VALUE_MAX + 64)) == NULL)
		abort();
	k = (size_t)sprintf(buf, "%s ",
	    w.scheme == WWWAUTH_BASIC ? "Basic" : "Bearer");
	k = put_param(buf, k, "realm", w.realm);
	k = put_param(buf, k, "service", w.service);
	k = put_param(buf, k, "scope", w.scope);
	if (k <= WWWAUTH_INPUT_MAX) {
		if (wwwauth_parse(buf, k, &again) != 0 ||
		    memcmp(&w, &again, sizeof w) != 0)
			abort();
	}
	free(buf);
	return 0;
}
