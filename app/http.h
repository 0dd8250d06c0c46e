/*
 * http: the request as the app sees it and the response it sends, with
 * no knowledge of FastCGI (main_fcgi.c supplies the parameter lookup and
 * the stream functions), so everything here is testable and fuzzable.
 *
 * Routing uses REQUEST_URI, which every web server passes unchanged, less
 * the prefix the app is mounted under: [http] base_path when configured,
 * else SCRIPT_NAME when SCRIPT_NAME + PATH_INFO spell the request path
 * (a prefix mount such as /api/modbox.fcgi).  Servers differ in how they
 * split a path at a root mount (lighttpd gives SCRIPT_NAME "/registries"
 * for "/registries/ID"), so without base_path the router tries the full
 * path first and the detected prefix second.
 */
#ifndef MODBOX_HTTP_H
#define MODBOX_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct json_object;

/* All strings are private copies, NUL-terminated; NULL when absent. */
struct http_request {
	char *method;
	char *full_path;	/* the request path as sent, not decoded */
	char *base;		/* the detected mount prefix, "" when none */
	char *path;		/* full_path less base */
	char *query;		/* raw query string, "" when none */
	char *authorization;	/* a secret: wiped on free */
	char *workspace;	/* X-Workspace-Id */
	char *content_type;
	char *content_length;
	char *body;		/* read by http_read_body; wiped on free */
	size_t body_len;
};

typedef const char *(*http_param_fn)(const char *name, void *arg);
/* Read up to n bytes; returns the count, 0 at end of input, -1 on error. */
typedef long (*http_read_fn)(void *buf, size_t n, void *arg);
/* Write n bytes; returns 0 or -1. */
typedef int (*http_write_fn)(const void *buf, size_t n, void *arg);

/* Fill req from the CGI parameters.  base_path: the configured prefix or
 * NULL.  Returns 0, or -1 on out of memory (req is then freed). */
int http_request_parse(struct http_request *req, http_param_fn param,
                       void *arg, const char *base_path);
void http_request_free(struct http_request *req);

enum http_body_status {
	BODY_OK = 0,
	BODY_TOO_LARGE,		/* 413: declared or actual size over max */
	BODY_BAD_LENGTH,	/* 400: CONTENT_LENGTH not a number */
	BODY_SHORT,		/* 400: fewer bytes than declared */
	BODY_NO_MEMORY,		/* 500 */
};

/* Read the body into req->body (NUL-terminated; body_len bytes).  Without
 * CONTENT_LENGTH (chunked through some gateways) reads to the end, up to
 * max + 1 bytes. */
enum http_body_status http_read_body(struct http_request *req, size_t max,
                                     http_read_fn rd, void *arg);

/* True for "application/json" with optional parameters, case-insensitive;
 * a charset parameter, if any, must be utf-8. */
bool http_content_type_is_json(const char *ct);

/* Parse "Bearer TOKEN" (scheme case-insensitive, one or more spaces, no
 * trailing blanks).  Returns 0 and points *tok into hdr, or -1. */
int http_bearer(const char *hdr, const char **tok, size_t *len);

/* Next "key=value" pair of a query string, percent-decoded ('+' is a
 * space) into key/val (NUL-terminated).  Returns 1 for a pair, 0 at the
 * end, -1 for a malformed escape, a decoded NUL, or a value too long. */
int http_query_next(const char **p, char *key, size_t kcap, char *val,
                    size_t vcap);

struct http_response {
	int status;
	char headers[1024];	/* extra header lines, each ending \r\n */
	size_t hlen;
	char *body;		/* malloc'd */
	size_t body_len;
};

void http_response_init(struct http_response *r);
void http_response_free(struct http_response *r);
/* Add a header line; silently refuses values with CR or LF. */
void http_response_header(struct http_response *r, const char *name,
                          const char *value);
/* Set status and a JSON body (the object is serialised, not kept). */
void http_response_json(struct http_response *r, int status,
                        struct json_object *body);
/* An error in the house format {"error": {code, message[, field]}}. */
void http_response_error(struct http_response *r, int status,
                         const char *code, const char *message,
                         const char *field);
/* Set status with no body (204). */
void http_response_empty(struct http_response *r, int status);
/* Write status line, headers and body through wr in one call. */
int http_response_send(const struct http_response *r, http_write_fn wr,
                       void *arg);

const char *http_status_text(int status);

#endif
