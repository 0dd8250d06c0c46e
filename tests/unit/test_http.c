/*
 * test_http: the HTTP layer and the router, without FastCGI: parameters
 * come from a table, the body from a buffer, the response goes to a buffer.
 */
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "http.h"
#include "router.h"
#include "tap.h"

struct params {
	const char *const *kv;	/* name, value, ..., NULL */
};

static const char *
param(const char *name, void *arg)
{
	const struct params *p = arg;

	for (const char *const *kv = p->kv; kv[0]; kv += 2)
		if (strcmp(kv[0], name) == 0)
			return kv[1];
	return NULL;
}

struct src {
	const char *data;
	size_t len, pos, chunk;
};

static long
src_read(void *buf, size_t n, void *arg)
{
	struct src *s = arg;
	size_t k = s->len - s->pos;

	if (k > n)
		k = n;
	if (s->chunk && k > s->chunk)
		k = s->chunk;
	memcpy(buf, s->data + s->pos, k);
	s->pos += k;
	return (long)k;
}

struct sink {
	char buf[4096];
	size_t len;
};

static int
sink_write(const void *p, size_t n, void *arg)
{
	struct sink *s = arg;

	if (s->len + n >= sizeof s->buf)
		return -1;
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return 0;
}

static void
test_parse(void)
{
	struct http_request req;
	const char *root[] = { "REQUEST_METHOD", "GET", "REQUEST_URI",
	    "/registries/abc?limit=3", "SCRIPT_NAME", "/registries",
	    "PATH_INFO", "/abc", "HTTP_AUTHORIZATION", "Bearer x",
	    "HTTP_X_WORKSPACE_ID", "w", NULL };
	const char *pre[] = { "REQUEST_METHOD", "POST", "REQUEST_URI",
	    "/api/modbox.fcgi/registries", "SCRIPT_NAME", "/api/modbox.fcgi",
	    "PATH_INFO", "/registries", NULL };
	const char *mismatch[] = { "REQUEST_URI", "/a%2Fb/registries",
	    "SCRIPT_NAME", "/a/b", "PATH_INFO", "/registries", NULL };
	const char *none[] = { NULL };
	struct params p;

	p.kv = root;
	ok(http_request_parse(&req, param, &p, NULL) == 0, "parse root request");
	is_str(req.method, "GET", "method copied");
	is_str(req.full_path, "/registries/abc", "full path excludes the query");
	is_str(req.base, "/registries", "SCRIPT_NAME+PATH_INFO gives a candidate prefix");
	is_str(req.path, "/abc", "path below the candidate");
	is_str(req.query, "limit=3", "query copied");
	is_str(req.authorization, "Bearer x", "authorization copied");
	is_str(req.workspace, "w", "workspace header copied");
	ok(req.content_type == NULL, "absent content type is NULL");
	http_request_free(&req);

	p.kv = pre;
	ok(http_request_parse(&req, param, &p, NULL) == 0, "parse prefixed request");
	is_str(req.base, "/api/modbox.fcgi", "prefix detected");
	is_str(req.path, "/registries", "path below prefix");
	is_str(req.query, "", "no query gives empty string");
	http_request_free(&req);

	ok(http_request_parse(&req, param, &p, "/api/modbox.fcgi") == 0,
	    "parse with configured base_path");
	is_str(req.base, "/api/modbox.fcgi", "configured prefix stripped");
	is_str(req.path, "/registries", "path below configured prefix");
	http_request_free(&req);

	ok(http_request_parse(&req, param, &p, "/other") == 0,
	    "parse outside configured base_path");
	is_str(req.path, "", "outside the configured prefix: unroutable path");
	http_request_free(&req);

	p.kv = mismatch;
	ok(http_request_parse(&req, param, &p, NULL) == 0, "parse encoded prefix");
	is_str(req.base, "", "SCRIPT_NAME+PATH_INFO not the raw path: no prefix");
	is_str(req.path, "/a%2Fb/registries", "path kept raw");
	http_request_free(&req);

	p.kv = none;
	ok(http_request_parse(&req, param, &p, NULL) == 0, "parse with no params");
	is_str(req.method, "GET", "default method");
	is_str(req.path, "/", "default path");
	http_request_free(&req);
}

static enum http_body_status
body(const char *cl, const char *data, size_t len, size_t max, size_t chunk,
     struct http_request *req)
{
	struct src s = { data, len, 0, chunk };

	memset(req, 0, sizeof *req);
	req->content_length = cl ? strdup(cl) : NULL;
	return http_read_body(req, max, src_read, &s);
}

static void
test_body(void)
{
	struct http_request req;

	is_int(body("5", "hello", 5, 10, 2, &req), BODY_OK, "body read in chunks");
	ok(req.body_len == 5 && memcmp(req.body, "hello", 6) == 0, "body bytes and NUL");
	http_request_free(&req);
	is_int(body("10", "hello", 5, 10, 0, &req), BODY_SHORT, "short body");
	http_request_free(&req);
	is_int(body("11", "hello", 5, 10, 0, &req), BODY_TOO_LARGE, "declared over max");
	http_request_free(&req);
	is_int(body("99999999999999999999", "", 0, 10, 0, &req), BODY_BAD_LENGTH,
	    "20-digit length refused");
	http_request_free(&req);
	is_int(body("-1", "", 0, 10, 0, &req), BODY_BAD_LENGTH, "negative length");
	http_request_free(&req);
	is_int(body("1e3", "", 0, 10, 0, &req), BODY_BAD_LENGTH, "exponent length");
	http_request_free(&req);
	is_int(body(NULL, "hello", 5, 10, 0, &req), BODY_OK, "no length: read to end");
	is_int(req.body_len, 5, "no length: all bytes");
	http_request_free(&req);
	is_int(body(NULL, "hello world", 11, 10, 3, &req), BODY_TOO_LARGE,
	    "no length: over max");
	http_request_free(&req);
	is_int(body("0", "", 0, 10, 0, &req), BODY_OK, "empty body");
	is_int(req.body_len, 0, "empty body length");
	http_request_free(&req);
	is_int(body("3", "a\0b", 3, 10, 0, &req), BODY_OK, "NUL inside body kept");
	is_int(req.body_len, 3, "length counts the NUL");
	http_request_free(&req);
}

static void
test_content_type(void)
{
	static const struct { const char *ct; int want; } t[] = {
		{ "application/json", 1 },
		{ "Application/JSON", 1 },
		{ "application/json; charset=utf-8", 1 },
		{ "application/json;charset=UTF-8", 1 },
		{ "application/json; charset=\"utf-8\"", 1 },
		{ "application/json ; charset=utf-8", 1 },
		{ "application/json; foo=bar", 1 },
		{ "application/json; charset=latin1", 0 },
		{ "application/jsonx", 0 },
		{ "application/json-patch+json", 0 },
		{ "text/plain", 0 },
		{ "", 0 },
		{ "multipart/form-data; boundary=x", 0 },
		{ "application/json; charset", 0 },
		{ "application/json x", 0 },
	};

	ok(!http_content_type_is_json(NULL), "no content type is not JSON");
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		is_int(http_content_type_is_json(t[i].ct), t[i].want,
		    "content type '%s'", t[i].ct);
}

static void
test_bearer(void)
{
	const char *tok;
	size_t len;

	ok(http_bearer("Bearer abc", &tok, &len) == 0 && len == 3 &&
	    memcmp(tok, "abc", 3) == 0, "Bearer token");
	ok(http_bearer("bearer abc", &tok, &len) == 0, "scheme is case-insensitive");
	ok(http_bearer("Bearer   abc", &tok, &len) == 0 && len == 3, "several spaces");
	ok(http_bearer("Bearer", &tok, &len) != 0, "no token");
	ok(http_bearer("Bearer ", &tok, &len) != 0, "empty token");
	ok(http_bearer("Bearer abc ", &tok, &len) != 0, "trailing blank");
	ok(http_bearer("Bearer a b", &tok, &len) != 0, "two tokens");
	ok(http_bearer("Basic abc", &tok, &len) != 0, "Basic refused");
	ok(http_bearer("Bearerabc", &tok, &len) != 0, "no space");
	ok(http_bearer("Bearer ab\x01", &tok, &len) != 0, "control char");
	ok(http_bearer("Bearer ab\xc3\xa9", &tok, &len) != 0, "non-ASCII");
	ok(http_bearer(NULL, &tok, &len) != 0, "no header");
}

static void
test_query(void)
{
	const char *p = "limit=3&server=ghcr.io%3A443&&x&e=a+b&z=%zz";
	char k[16], v[32];

	ok(http_query_next(&p, k, sizeof k, v, sizeof v) == 1, "first pair");
	is_str(k, "limit", "key");
	is_str(v, "3", "value");
	ok(http_query_next(&p, k, sizeof k, v, sizeof v) == 1, "second pair");
	is_str(v, "ghcr.io:443", "percent-decoded");
	ok(http_query_next(&p, k, sizeof k, v, sizeof v) == 1, "bare key");
	is_str(k, "x", "bare key name");
	is_str(v, "", "bare key empty value");
	ok(http_query_next(&p, k, sizeof k, v, sizeof v) == 1, "plus pair");
	is_str(v, "a b", "plus is space");
	is_int(http_query_next(&p, k, sizeof k, v, sizeof v), -1, "bad escape");

	p = "a=%00";
	is_int(http_query_next(&p, k, sizeof k, v, sizeof v), -1, "decoded NUL refused");
	p = "a=%4";
	is_int(http_query_next(&p, k, sizeof k, v, sizeof v), -1, "truncated escape");
	p = "a=%";
	is_int(http_query_next(&p, k, sizeof k, v, sizeof v), -1, "lone percent");
	p = "a=0123456789012345678901234567890123456789";
	is_int(http_query_next(&p, k, sizeof k, v, sizeof v), -1, "value too long");
	p = "";
	is_int(http_query_next(&p, k, sizeof k, v, sizeof v), 0, "empty query");
	p = "&&&";
	is_int(http_query_next(&p, k, sizeof k, v, sizeof v), 0, "only separators");
}

static void
test_response(void)
{
	struct http_response r;
	struct sink s = { .len = 0 };
	struct json_object *o;

	http_response_init(&r);
	http_response_error(&r, 404, "not_found", "registry \"x\" not found", NULL);
	http_response_header(&r, "Allow", "GET, POST");
	http_response_header(&r, "X-Evil", "a\r\nSet-Cookie: x=1");
	http_response_header(&r, "Bad: Name", "v");
	ok(http_response_send(&r, sink_write, &s) == 0, "response written");
	ok(strncmp(s.buf, "Status: 404 Not Found\r\n", 23) == 0, "status line");
	ok(strstr(s.buf, "Content-Type: application/json\r\n") != NULL, "JSON type");
	ok(strstr(s.buf, "Allow: GET, POST\r\n") != NULL, "extra header");
	ok(strstr(s.buf, "Set-Cookie") == NULL, "header with CRLF refused");
	ok(strstr(s.buf, "Bad: Name") == NULL, "header name with blank refused");
	ok(strstr(s.buf, "Cache-Control: no-store\r\n") != NULL, "no-store");
	o = json_tokener_parse(strstr(s.buf, "\r\n\r\n") + 4);
	ok(o != NULL, "error body is JSON");
	if (o != NULL) {
		struct json_object *e, *v;
		ok(json_object_object_get_ex(o, "error", &e) &&
		    json_object_object_get_ex(e, "message", &v) &&
		    strcmp(json_object_get_string(v), "registry \"x\" not found") == 0,
		    "message escaped and round-trips");
		ok(!json_object_object_get_ex(e, "field", &v), "no field when NULL");
		json_object_put(o);
	}
	http_response_free(&r);

	http_response_init(&r);
	s.len = 0;
	http_response_empty(&r, 204);
	ok(http_response_send(&r, sink_write, &s) == 0, "204 written");
	ok(strstr(s.buf, "\r\nContent-Type:") == NULL, "204 has no content type");
	ok(strcmp(s.buf + s.len - 4, "\r\n\r\n") == 0, "204 has no body");
	http_response_free(&r);
}

static void dummy(struct api_ctx *c) { (void)c; }

static void
test_router(void)
{
	static const struct route t[] = {
		{ "POST", "/registries", dummy, ROUTE_WORKSPACE, ROLE_ADMIN },
		{ "GET", "/registries", dummy, ROUTE_WORKSPACE, ROLE_VIEWER },
		{ "GET", "/registries/{id}", dummy, 0, ROLE_VIEWER },
		{ "DELETE", "/registries/{id}", dummy, 0, ROLE_ADMIN },
	};
	const struct route *m = NULL;
	struct route_params id;
	char allow[64];
	const char *u = "/registries/01a22af5-5d21-735b-8ea7-c7f41aa9f699";

	is_int(router_match(t, 4, "GET", "/registries", &m, &id, allow, sizeof allow),
	    ROUTER_OK, "GET collection");
	ok(m == &t[1], "right route");
	is_int(router_match(t, 4, "GET", u, &m, &id, allow, sizeof allow),
	    ROUTER_OK, "GET item");
	ok(m == &t[2] && id.id.b[0] == 0x01 && id.id.b[15] == 0x99,
	    "item route and id captured");
	is_int(router_match(t, 4, "PATCH", u, &m, &id, allow, sizeof allow),
	    ROUTER_BAD_METHOD, "PATCH item");
	is_str(allow, "GET, DELETE", "Allow for item");
	is_int(router_match(t, 4, "PUT", "/registries", &m, &id, allow, sizeof allow),
	    ROUTER_BAD_METHOD, "PUT collection");
	is_str(allow, "POST, GET", "Allow for collection");
	is_int(router_match(t, 4, "GET", "/registries/", &m, &id, allow, sizeof allow),
	    ROUTER_NOT_FOUND, "trailing slash");
	is_int(router_match(t, 4, "GET", "/registries/not-a-uuid", &m, &id, allow,
	    sizeof allow), ROUTER_NOT_FOUND, "malformed id");
	is_int(router_match(t, 4, "GET", "/Registries", &m, &id, allow, sizeof allow),
	    ROUTER_NOT_FOUND, "case matters");
	is_int(router_match(t, 4, "GET", "/registries/x/y", &m, &id, allow,
	    sizeof allow), ROUTER_NOT_FOUND, "extra segments");
	is_int(router_match(t, 4, "GET", "", &m, &id, allow, sizeof allow),
	    ROUTER_NOT_FOUND, "empty path");
	is_int(router_match(t, 4, "get", "/registries", &m, &id, allow, sizeof allow),
	    ROUTER_BAD_METHOD, "method is case-sensitive");

	static const struct route n[] = {
		{ "POST", "/sandboxes/provision", dummy, ROUTE_WORKSPACE, ROLE_MEMBER },
		{ "GET", "/sandboxes/{name}", dummy, ROUTE_WORKSPACE, ROLE_VIEWER },
	};
	is_int(router_match(n, 2, "GET", "/sandboxes/task-1.a_b~c", &m, &id, allow,
	    sizeof allow), ROUTER_OK, "{name} matches a task id");
	is_str(id.name, "task-1.a_b~c", "{name} captured");
	ok(m == &n[1], "{name} route");
	is_int(router_match(n, 2, "POST", "/sandboxes/provision", &m, &id, allow,
	    sizeof allow), ROUTER_OK, "literal route before {name}");
	ok(m == &n[0], "provision route");
	is_int(router_match(n, 2, "GET", "/sandboxes/a%20b", &m, &id, allow,
	    sizeof allow), ROUTER_NOT_FOUND, "{name} refuses a percent escape");
	is_int(router_match(n, 2, "GET", "/sandboxes/..", &m, &id, allow,
	    sizeof allow), ROUTER_NOT_FOUND, "{name} refuses ..");
	is_int(router_match(n, 2, "GET", "/sandboxes/", &m, &id, allow,
	    sizeof allow), ROUTER_NOT_FOUND, "{name} refuses empty");
	char longname[160];
	memset(longname, 'a', sizeof longname);
	memcpy(longname, "/sandboxes/", 11);
	longname[11 + 129] = '\0';
	is_int(router_match(n, 2, "GET", longname, &m, &id, allow, sizeof allow),
	    ROUTER_NOT_FOUND, "{name} refuses 129 characters");
	longname[11 + 128] = '\0';
	is_int(router_match(n, 2, "GET", longname, &m, &id, allow, sizeof allow),
	    ROUTER_OK, "{name} takes 128 characters");
	is_int(router_match(n, 2, "GET", "/sandboxes/provision", &m, &id, allow,
	    sizeof allow), ROUTER_BAD_METHOD, "GET on the provision path");
}

int
main(void)
{
	test_parse();
	test_body();
	test_content_type();
	test_bearer();
	test_query();
	test_response();
	test_router();
	return done_testing();
}
