/*
 * http: see http.h.
 */
#include "http.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json.h>

#include "crypto.h"

static char *
dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void
free_secret_str(char *s)
{
	if (s != NULL) {
		crypto_wipe(s, strlen(s));
		free(s);
	}
}

void
http_request_free(struct http_request *req)
{
	free(req->method);
	free(req->full_path);
	free(req->base);
	free(req->path);
	free(req->query);
	free_secret_str(req->authorization);
	free(req->workspace);
	free(req->content_type);
	free(req->content_length);
	if (req->body != NULL) {
		crypto_wipe(req->body, req->body_len);
		free(req->body);
	}
	memset(req, 0, sizeof *req);
}

/* Length of the mount prefix at the start of path, or 0. */
static size_t
prefix_len(const char *path, size_t plen, const char *base_path,
           const char *script, const char *path_info)
{
	size_t n;

	if (base_path != NULL && *base_path != '\0') {
		n = strlen(base_path);
		if (n <= plen && memcmp(path, base_path, n) == 0 &&
		    (path[n] == '/' || n == plen))
			return n;
		return 0;
	}
	if (script == NULL || path_info == NULL || *path_info == '\0')
		return 0;
	n = strlen(script);
	if (n + strlen(path_info) == plen && memcmp(path, script, n) == 0 &&
	    memcmp(path + n, path_info, plen - n) == 0)
		return n;
	return 0;
}

int
http_request_parse(struct http_request *req, http_param_fn param, void *arg,
                   const char *base_path)
{
	const char *uri = param("REQUEST_URI", arg);
	const char *q, *method = param("REQUEST_METHOD", arg);
	size_t plen, pre;

	memset(req, 0, sizeof *req);
	if (uri == NULL || *uri == '\0')
		uri = "/";
	q = strchr(uri, '?');
	plen = q ? (size_t)(q - uri) : strlen(uri);
	pre = prefix_len(uri, plen, base_path, param("SCRIPT_NAME", arg),
	    param("PATH_INFO", arg));
	req->method = strdup(method ? method : "GET");
	req->full_path = strndup(uri, plen);
	req->base = strndup(uri, pre);
	req->path = strndup(uri + pre, plen - pre);
	req->query = strdup(q ? q + 1 : "");
	req->authorization = dup_or_null(param("HTTP_AUTHORIZATION", arg));
	req->workspace = dup_or_null(param("HTTP_X_WORKSPACE_ID", arg));
	req->content_type = dup_or_null(param("CONTENT_TYPE", arg));
	req->content_length = dup_or_null(param("CONTENT_LENGTH", arg));
	if (!req->method || !req->full_path || !req->base || !req->path ||
	    !req->query) {
		http_request_free(req);
		return -1;
	}
	/* A prefix-configured app asked for a path outside its prefix: make
	 * the path unroutable rather than guess. */
	if (base_path && *base_path && pre == 0) {
		free(req->path);
		if ((req->path = strdup("")) == NULL) {
			http_request_free(req);
			return -1;
		}
	}
	return 0;
}

enum http_body_status
http_read_body(struct http_request *req, size_t max, http_read_fn rd, void *arg)
{
	const char *cl = req->content_length;
	unsigned long long declared = 0;
	bool have_len = cl != NULL && *cl != '\0';
	size_t want, got = 0;
	long n;

	if (have_len) {
		for (const char *p = cl; *p; p++) {
			if (*p < '0' || *p > '9' || p - cl >= 19)
				return BODY_BAD_LENGTH;
			declared = declared * 10 + (unsigned)(*p - '0');
		}
		if (declared > max)
			return BODY_TOO_LARGE;
		want = (size_t)declared;
	} else {
		want = max + 1;
	}
	if ((req->body = malloc(want + 1)) == NULL)
		return BODY_NO_MEMORY;
	while (got < want) {
		n = rd(req->body + got, want - got, arg);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	req->body[got] = '\0';
	req->body_len = got;
	if (!have_len && got > max)
		return BODY_TOO_LARGE;
	if (have_len && got < want)
		return BODY_SHORT;
	return BODY_OK;
}

static const char *
skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

bool
http_content_type_is_json(const char *ct)
{
	static const char mt[] = "application/json";
	const char *p;

	if (ct == NULL)
		return false;
	p = skip_ows(ct);
	if (strncasecmp(p, mt, sizeof mt - 1) != 0)
		return false;
	p = skip_ows(p + sizeof mt - 1);
	while (*p == ';') {
		const char *name = skip_ows(p + 1), *eq = strchr(name, '='), *end;
		char val[32];
		size_t vlen;

		if (eq == NULL)
			return false;
		end = strchr(eq, ';');
		if (end == NULL)
			end = eq + strlen(eq);
		if ((size_t)(eq - name) == 7 && strncasecmp(name, "charset", 7) == 0) {
			const char *v = eq + 1, *ve = end;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			if (ve - v >= 2 && *v == '"' && ve[-1] == '"') {
				v++;
				ve--;
			}
			vlen = (size_t)(ve - v);
			if (vlen >= sizeof val)
				return false;
			memcpy(val, v, vlen);
			val[vlen] = '\0';
			if (strcasecmp(val, "utf-8") != 0 && strcasecmp(val, "utf8") != 0)
				return false;
		}
		p = end;
	}
	return *p == '\0';
}

int
http_bearer(const char *hdr, const char **tok, size_t *len)
{
	const char *p;

	if (hdr == NULL || strncasecmp(hdr, "Bearer", 6) != 0 || hdr[6] != ' ')
		return -1;
	p = hdr + 6;
	while (*p == ' ')
		p++;
	*tok = p;
	while (*p > ' ' && *p < 0x7f)
		p++;
	if (*p != '\0' || p == *tok)
		return -1;
	*len = (size_t)(p - *tok);
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode s[0..n) into out (cap bytes incl. NUL). */
static int
pct_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int h, l;
			if (i + 2 >= n)
				return -1;
			h = hexval(s[i + 1]);
			l = hexval(s[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			c = (char)(h << 4 | l);
			i += 2;
			if (c == '\0')
				return -1;
		}
		if (o + 1 >= cap)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

int
http_query_next(const char **pp, char *key, size_t kcap, char *val, size_t vcap)
{
	const char *p = *pp, *amp, *eq;

	while (*p == '&')
		p++;
	if (*p == '\0') {
		*pp = p;
		return 0;
	}
	amp = strchr(p, '&');
	if (amp == NULL)
		amp = p + strlen(p);
	eq = memchr(p, '=', (size_t)(amp - p));
	*pp = amp;
	if (eq == NULL) {
		if (pct_decode(p, (size_t)(amp - p), key, kcap) != 0)
			return -1;
		val[0] = '\0';
		return 1;
	}
	if (pct_decode(p, (size_t)(eq - p), key, kcap) != 0 ||
	    pct_decode(eq + 1, (size_t)(amp - eq - 1), val, vcap) != 0)
		return -1;
	return 1;
}

const char *
http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

void
http_response_init(struct http_response *r)
{
	memset(r, 0, sizeof *r);
	r->status = 500;
}

void
http_response_free(struct http_response *r)
{
	free(r->body);
	memset(r, 0, sizeof *r);
}

void
http_response_header(struct http_response *r, const char *name,
                     const char *value)
{
	int n;

	if (strpbrk(value, "\r\n") != NULL || strpbrk(name, "\r\n: ") != NULL)
		return;
	n = snprintf(r->headers + r->hlen, sizeof r->headers - r->hlen,
	    "%s: %s\r\n", name, value);
	if (n > 0 && (size_t)n < sizeof r->headers - r->hlen)
		r->hlen += (size_t)n;
	else
		r->headers[r->hlen] = '\0';
}

void
http_response_json(struct http_response *r, int status, struct json_object *body)
{
	const char *s;
	size_t n;

	free(r->body);
	r->body = NULL;
	r->body_len = 0;
	r->status = status;
	s = json_object_to_json_string_length(body,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	if (s != NULL && (r->body = malloc(n + 1)) != NULL) {
		memcpy(r->body, s, n + 1);
		r->body_len = n;
	} else {
		r->status = 500;
	}
}

void
http_response_error(struct http_response *r, int status, const char *code,
                    const char *message, const char *field)
{
	struct json_object *root = json_object_new_object();
	struct json_object *err = json_object_new_object();

	json_object_object_add(err, "code", json_object_new_string(code));
	json_object_object_add(err, "message", json_object_new_string(message));
	if (field != NULL)
		json_object_object_add(err, "field", json_object_new_string(field));
	json_object_object_add(root, "error", err);
	http_response_json(r, status, root);
	json_object_put(root);
}

void
http_response_empty(struct http_response *r, int status)
{
	free(r->body);
	r->body = NULL;
	r->body_len = 0;
	r->status = status;
}

int
http_response_send(const struct http_response *r, http_write_fn wr, void *arg)
{
	char head[1400];
	int n;

	n = snprintf(head, sizeof head,
	    "Status: %d %s\r\n%s%s%s"
	    "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "\r\n",
	    r->status, http_status_text(r->status),
	    r->body ? "Content-Type: application/json\r\n" : "",
	    r->hlen ? r->headers : "", "");
	if (n < 0 || (size_t)n >= sizeof head)
		return -1;
	if (wr(head, (size_t)n, arg) != 0)
		return -1;
	if (r->body_len && wr(r->body, r->body_len, arg) != 0)
		return -1;
	return 0;
}
