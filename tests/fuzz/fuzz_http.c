/*
 * fuzz_http: the request-side parsers of app/http.c and the router, on
 * hostile input.  The input is split at NUL bytes into: REQUEST_URI,
 * SCRIPT_NAME, PATH_INFO, Content-Type, Authorization, CONTENT_LENGTH,
 * and the rest is the body.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_params {
	const char *v[6];
};

static const char *const names[] = { "REQUEST_URI", "SCRIPT_NAME", "PATH_INFO",
	"CONTENT_TYPE", "HTTP_AUTHORIZATION", "CONTENT_LENGTH" };

static const char *
param(const char *name, void *arg)
{
	struct fuzz_params *p = arg;

	for (int i = 0; i < 6; i++)
		if (strcmp(name, names[i]) == 0)
			return p->v[i];
	return strcmp(name, "REQUEST_METHOD") == 0 ? "POST" : NULL;
}

struct src {
	const char *p;
	size_t n;
};

static long
rd(void *buf, size_t n, void *arg)
{
	struct src *s = arg;
	size_t k = n < s->n ? n : s->n;

	memcpy(buf, s->p, k);
	s->p += k;
	s->n -= k;
	return (long)k;
}

static void h(struct api_ctx *c) { (void)c; }

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct route t[] = {
		{ "POST", "/registries", h, ROUTE_WORKSPACE, ROLE_ADMIN },
		{ "GET", "/registries/{id}", h, 0, ROLE_VIEWER },
	};
	char *copy = malloc(size + 1), *p, *end;
	struct fuzz_params fp;
	struct http_request req;
	struct src s;
	const struct route *m;
	struct route_params id;
	char allow[32], k[32], v[64];
	const char *q, *tok;
	size_t toklen;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	p = copy;
	end = copy + size;
	for (int i = 0; i < 6; i++) {
		fp.v[i] = p < end ? p : NULL;
		if (p < end)
			p += strlen(p) + 1;
	}
	if (http_request_parse(&req, param, &fp, (size & 1) ? "/api" : NULL) == 0) {
		s.p = p < end ? p : end;
		s.n = p < end ? (size_t)(end - p) : 0;
		(void)http_read_body(&req, 64, rd, &s);
		(void)http_content_type_is_json(req.content_type);
		if (http_bearer(req.authorization, &tok, &toklen) == 0 &&
		    (toklen == 0 || tok[toklen] != '\0'))
			abort();
		q = req.query;
		while (http_query_next(&q, k, sizeof k, v, sizeof v) == 1)
			if (strlen(k) >= sizeof k || strlen(v) >= sizeof v)
				abort();
		(void)router_match(t, 2, req.method, req.path, &m, &id, allow,
		    sizeof allow);
		/* path is the full path less the prefix, or "" when a
		 * configured prefix is absent */
		if (*req.path != '\0' &&
		    strcmp(req.full_path + strlen(req.base), req.path) != 0)
			abort();
		http_request_free(&req);
	}
	free(copy);
	return 0;
}
