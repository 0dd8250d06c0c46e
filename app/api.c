/*
 * api: see api.h.  The route table is here: adding a resource is adding
 * its lines and its handlers file.
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json.h>

#include "cursor.h"
#include "log.h"

static const struct route routes[] = {
	{ "POST",   "/registries",      api_registries_create, ROUTE_WORKSPACE, ROLE_ADMIN },
	{ "GET",    "/registries",      api_registries_list,   ROUTE_WORKSPACE, ROLE_VIEWER },
	{ "GET",    "/registries/{id}", api_registries_get,    0,               ROLE_VIEWER },
	{ "PUT",    "/registries/{id}", api_registries_update, 0,               ROLE_ADMIN },
	{ "DELETE", "/registries/{id}", api_registries_delete, 0,               ROLE_ADMIN },
	{ "POST",   "/registries/{id}/verify", api_registries_verify, 0,        ROLE_ADMIN },
	{ "POST",   "/sandbox-images",      api_images_create, ROUTE_WORKSPACE, ROLE_ADMIN },
	{ "GET",    "/sandbox-images",      api_images_list,   ROUTE_WORKSPACE, ROLE_VIEWER },
	{ "GET",    "/sandbox-images/{id}", api_images_get,    0,               ROLE_VIEWER },
	{ "PUT",    "/sandbox-images/{id}", api_images_update, 0,               ROLE_ADMIN },
	{ "DELETE", "/sandbox-images/{id}", api_images_delete, 0,               ROLE_ADMIN },
	{ "POST",   "/sandboxes/provision", api_sandboxes_provision, ROUTE_WORKSPACE, ROLE_MEMBER },
	{ "POST",   "/sandboxes/wait",      api_sandboxes_wait,      ROUTE_WORKSPACE, ROLE_VIEWER },
	{ "GET",    "/sandboxes",           api_sandboxes_list,      ROUTE_WORKSPACE, ROLE_VIEWER },
	{ "GET",    "/sandboxes/{name}",    api_sandboxes_get,       ROUTE_WORKSPACE, ROLE_VIEWER },
	{ "DELETE", "/sandboxes/{name}",    api_sandboxes_delete,    ROUTE_WORKSPACE, ROLE_MEMBER },
};

void
api_db_error(struct api_ctx *ctx, enum db_status st)
{
	if (st == DB_UNAVAILABLE || st == DB_DEADLOCK) {
		http_response_error(ctx->resp, 503, "unavailable",
		    "the service is temporarily unavailable; retry shortly", NULL);
		http_response_header(ctx->resp, "Retry-After", "1");
	} else {
		http_response_error(ctx->resp, 500, "internal_error",
		    "internal error", NULL);
	}
}

void
api_invalid(struct api_ctx *ctx, const char *code, const char *message,
            const char *field)
{
	http_response_error(ctx->resp, 422, code, message, field);
}

void
api_not_found(struct api_ctx *ctx, const char *what)
{
	char msg[64];

	snprintf(msg, sizeof msg, "%s not found", what);
	http_response_error(ctx->resp, 404, "not_found", msg, NULL);
}

static void
forbidden(struct api_ctx *ctx)
{
	char msg[96];

	snprintf(msg, sizeof msg, "this needs the %s role or higher in the workspace",
	    role_name(ctx->route->min_role));
	http_response_error(ctx->resp, 403, "forbidden", msg, NULL);
}

bool
api_item_access(struct api_ctx *ctx, const struct uuid *item_ws, enum role role,
                const char *what)
{
	if (role == ROLE_NONE ||
	    (ctx->has_ws && memcmp(ctx->ws.b, item_ws->b, 16) != 0)) {
		api_not_found(ctx, what);
		return false;
	}
	if (role < ctx->route->min_role) {
		forbidden(ctx);
		return false;
	}
	return true;
}

bool
api_take_string(struct api_ctx *ctx, struct json_object *v, const char *field,
                const char *(*validator)(const char *, size_t), char *dst,
                size_t cap)
{
	const char *s = json_object_get_string(v);
	size_t n = (size_t)json_object_get_string_len(v);
	const char *why = validator(s, n);
	char msg[128];

	if (why == NULL && n >= cap)
		why = "is too long";
	if (why != NULL) {
		snprintf(msg, sizeof msg, "%s %s", field, why);
		api_invalid(ctx, "invalid_value", msg, field);
		return false;
	}
	memcpy(dst, s, n + 1);
	return true;
}

void
api_now(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
api_bad_query(struct api_ctx *ctx, const char *message, const char *field)
{
	http_response_error(ctx->resp, 400, "bad_request", message, field);
}

bool
api_list_query(struct api_ctx *ctx, struct api_page *page, api_query_fn fn,
               void *arg)
{
	char key[32], val[600], seen[8][32];
	const char *p = ctx->req->query;
	unsigned nseen = 0;
	int rc;

	memset(page, 0, sizeof *page);
	page->limit = 50;
	while ((rc = http_query_next(&p, key, sizeof key, val, sizeof val)) == 1) {
		for (unsigned i = 0; i < nseen; i++)
			if (strcmp(seen[i], key) == 0) {
				api_bad_query(ctx, "a query parameter is repeated", key);
				return false;
			}
		if (nseen == 8) {
			api_bad_query(ctx, "too many query parameters", "query");
			return false;
		}
		memcpy(seen[nseen++], key, sizeof key);
		if (strcmp(key, "limit") == 0) {
			char *end;
			long n = strtol(val, &end, 10);
			if (val[0] < '0' || val[0] > '9' || *end != '\0' ||
			    n < 1 || n > 200) {
				api_bad_query(ctx, "limit must be a number from 1 to 200",
				    "limit");
				return false;
			}
			page->limit = (unsigned)n;
		} else if (strcmp(key, "cursor") == 0) {
			if (cursor_decode(val, strlen(val), &page->after) != 0) {
				api_bad_query(ctx, "cursor is not one this service gave",
				    "cursor");
				return false;
			}
			page->has_after = true;
		} else if ((rc = fn(ctx, key, val, arg)) != 0) {
			if (rc > 0)
				api_bad_query(ctx, "unknown query parameter", "query");
			return false;
		}
	}
	if (rc < 0) {
		api_bad_query(ctx, "the query string is malformed", "query");
		return false;
	}
	return true;
}

void
api_reply_list(struct api_ctx *ctx, struct json_object *data, bool more,
               const struct uuid *last)
{
	struct json_object *root = json_object_new_object();
	char next[CURSOR_TEXT_MAX + 1];

	json_object_object_add(root, "data", data);
	if (more) {
		cursor_encode(last, next);
		json_object_object_add(root, "next_cursor", json_object_new_string(next));
	} else {
		json_object_object_add(root, "next_cursor", NULL);
	}
	http_response_json(ctx->resp, 200, root);
	json_object_put(root);
}

void
api_wipe_json_string(struct json_object *str)
{
	if (str != NULL && json_object_is_type(str, json_type_string))
		crypto_wipe((void *)json_object_get_string(str),
		    (size_t)json_object_get_string_len(str));
}

struct json_object *
api_read_json(struct api_ctx *ctx, const struct jfield *fields, size_t n,
              bool partial)
{
	struct jfield optional[32];
	struct http_request *req = ctx->req;
	struct json_object *obj = NULL;
	const char *why, *field;
	char msg[160];

	if (!http_content_type_is_json(req->content_type)) {
		http_response_error(ctx->resp, 415, "unsupported_media_type",
		    "the body must be sent as Content-Type: application/json", NULL);
		return NULL;
	}
	switch (http_read_body(req, ctx->env->cfg->http.max_body_bytes,
	    ctx->read, ctx->read_arg)) {
	case BODY_OK:
		break;
	case BODY_TOO_LARGE:
		snprintf(msg, sizeof msg, "the body is larger than %zu bytes",
		    ctx->env->cfg->http.max_body_bytes);
		http_response_error(ctx->resp, 413, "payload_too_large", msg, NULL);
		return NULL;
	case BODY_BAD_LENGTH:
	case BODY_SHORT:
		http_response_error(ctx->resp, 400, "bad_request",
		    "the body does not match its Content-Length", NULL);
		return NULL;
	case BODY_NO_MEMORY:
		api_db_error(ctx, DB_ERROR);
		return NULL;
	}
	switch (jsonin_parse(req->body, req->body_len, &obj, &why)) {
	case JSONIN_OK:
		break;
	case JSONIN_MALFORMED:
		snprintf(msg, sizeof msg, "the body is not valid JSON: %s", why);
		http_response_error(ctx->resp, 400, "invalid_json", msg, NULL);
		return NULL;
	case JSONIN_NOT_OBJECT:
		api_invalid(ctx, "invalid_body", "the body must be a JSON object", NULL);
		return NULL;
	}
	/* The raw body may hold a password: it is not needed any more. */
	crypto_wipe(req->body, req->body_len);
	if (partial) {
		if (n > sizeof optional / sizeof optional[0]) {
			log_error("a field table of %zu entries is too long for a PUT", n);
			json_object_put(obj);
			api_db_error(ctx, DB_ERROR);
			return NULL;
		}
		for (size_t i = 0; i < n; i++) {
			optional[i] = fields[i];
			optional[i].required = false;
		}
		fields = optional;
	}
	switch (jsonin_check(obj, fields, n, &field, &why)) {
	case JCHECK_OK:
		return obj;
	case JCHECK_UNKNOWN_FIELD:
		/* The key is echoed in `field` only if it is short printable
		 * ASCII; otherwise a neutral marker. */
		{
			bool plain = strlen(field) <= 64;
			for (const char *p = field; plain && *p; p++)
				plain = *p > ' ' && *p < 0x7f && *p != '"' && *p != '\\';
			snprintf(msg, sizeof msg, "unknown field%s%s%s",
			    plain ? " '" : "", plain ? field : "", plain ? "'" : "");
			api_invalid(ctx, "unknown_field", msg, plain ? field : "(unprintable)");
		}
		break;
	case JCHECK_WRONG_TYPE:
		api_invalid(ctx, "wrong_type", why, field);
		break;
	case JCHECK_MISSING_FIELD:
		api_invalid(ctx, "missing_field", why, field);
		break;
	case JCHECK_NUL_IN_STRING:
		api_invalid(ctx, "invalid_value", why, field);
		break;
	}
	json_object_put(obj);
	return NULL;
}

void
api_handle(const struct api_env *env, struct http_request *req,
           struct http_response *resp, http_read_fn rd, void *rd_arg)
{
	struct api_ctx ctx;
	char allow[64];
	const char *tok;
	size_t toklen;
	unsigned char hash[32];
	bool ws_bad = false;
	enum db_status st;
	enum router_result rr;
	const size_t nroutes = sizeof routes / sizeof routes[0];

	memset(&ctx, 0, sizeof ctx);
	ctx.env = env;
	ctx.req = req;
	ctx.resp = resp;
	ctx.read = rd;
	ctx.read_arg = rd_arg;

	rr = router_match(routes, nroutes, req->method, req->path, &ctx.route,
	    &ctx.params, allow, sizeof allow);
	/* A prefix guessed from SCRIPT_NAME, not configured: when the whole
	 * path is a route, the app is mounted at the root after all. */
	if (*req->base != '\0' && ctx.env->cfg->http.base_path == NULL) {
		enum router_result full = router_match(routes, nroutes,
		    req->method, req->full_path, &ctx.route, &ctx.params, allow,
		    sizeof allow);
		if (full != ROUTER_NOT_FOUND) {
			rr = full;
			req->base[0] = '\0';
		} else if (rr != ROUTER_NOT_FOUND) {
			/* match again so route, id and allow are the prefix's */
			rr = router_match(routes, nroutes, req->method, req->path,
			    &ctx.route, &ctx.params, allow, sizeof allow);
		}
	}
	switch (rr) {
	case ROUTER_OK:
		ctx.id = ctx.params.id;
		break;
	case ROUTER_NOT_FOUND:
		http_response_error(resp, 404, "not_found", "no such route", NULL);
		return;
	case ROUTER_BAD_METHOD:
		http_response_error(resp, 405, "method_not_allowed",
		    "method not allowed on this route", NULL);
		http_response_header(resp, "Allow", allow);
		return;
	}

	if (http_bearer(req->authorization, &tok, &toklen) != 0 ||
	    !api_key_well_formed(tok, toklen)) {
		http_response_error(resp, 401, "unauthorized",
		    "a valid API key is required: Authorization: Bearer mbx_...", NULL);
		http_response_header(resp, "WWW-Authenticate", "Bearer realm=\"modbox\"");
		return;
	}
	api_key_hash(tok, toklen, hash);

	if (req->workspace != NULL)
		ws_bad = uuid_parse(req->workspace, strlen(req->workspace), &ctx.ws) != 0;
	ctx.has_ws = req->workspace != NULL && !ws_bad;

	st = store_auth(env->db, hash, ctx.has_ws ? &ctx.ws : NULL, &ctx.user, &ctx.role);
	if (st == DB_NOT_FOUND) {
		http_response_error(resp, 401, "unauthorized",
		    "the API key is unknown or revoked", NULL);
		http_response_header(resp, "WWW-Authenticate", "Bearer realm=\"modbox\"");
		return;
	}
	if (st != DB_OK) {
		api_db_error(&ctx, st);
		return;
	}
	if (ws_bad || ((ctx.route->flags & ROUTE_WORKSPACE) && !ctx.has_ws)) {
		http_response_error(resp, 400, "bad_request", ws_bad ?
		    "X-Workspace-Id must be a workspace id (a UUID)" :
		    "this route needs the X-Workspace-Id header", "X-Workspace-Id");
		return;
	}
	if (ctx.route->flags & ROUTE_WORKSPACE) {
		if (ctx.role == ROLE_NONE) {
			http_response_error(resp, 403, "forbidden",
			    "you are not a member of this workspace", NULL);
			return;
		}
		if (ctx.role < ctx.route->min_role) {
			forbidden(&ctx);
			return;
		}
	}
	ctx.route->handler(&ctx);
}
