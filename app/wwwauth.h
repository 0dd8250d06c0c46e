/*
 * wwwauth: parse a WWW-Authenticate header value (RFC 7235) as registries
 * send it: one challenge, "Basic realm=..." or "Bearer realm=...,
 * service=..., scope=...", parameters as token=token or token="quoted"
 * (with \-escapes), separated by commas and optional blanks.  Refuses
 * anything else.  Pure; fuzzed.
 */
#ifndef MODBOX_WWWAUTH_H
#define MODBOX_WWWAUTH_H

#include <stddef.h>

enum wwwauth_scheme { WWWAUTH_NONE = 0, WWWAUTH_BASIC, WWWAUTH_BEARER };

#define WWWAUTH_VALUE_MAX 1024
/* Longest header value parsed (unknown parameters count too). */
#define WWWAUTH_INPUT_MAX 8192

struct wwwauth {
	enum wwwauth_scheme scheme;
	char realm[WWWAUTH_VALUE_MAX];	/* "" when absent */
	char service[WWWAUTH_VALUE_MAX];
	char scope[WWWAUTH_VALUE_MAX];
};

/* Parse len bytes of the header value.  Returns 0, or -1 when malformed,
 * of an unknown scheme, or a value is too long; then *out is all zero.
 * Parameters may be absent: the caller checks that Bearer has a realm. */
int wwwauth_parse(const char *s, size_t len, struct wwwauth *out);

#endif
