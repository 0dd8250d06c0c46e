/*
 * api: the request pipeline shared by every resource.
 *
 * api_handle answers, in this order (README "Order of checks"): unknown
 * path 404 / method 405; missing or bad API key 401; on collection routes
 * a missing or malformed X-Workspace-Id 400 and a non-member 403, and a
 * role below the route's minimum 403.  Item routes load their item, then
 * call api_item_access, which answers the one 404 for "missing", "in
 * another workspace than X-Workspace-Id" and "not a member", then the
 * role check.  Handlers read their body through api_read_json, which
 * answers 415/413/400/422 before any field reaches them.
 */
#ifndef MODBOX_API_H
#define MODBOX_API_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "crypto.h"
#include "db.h"
#include "http.h"
#include "jsonin.h"
#include "router.h"
#include "store_account.h"
#include "uuid.h"

struct json_object;

/* What lives for the whole process. */
struct api_env {
	struct db *db;
	const struct keyring *ring;
	const struct config *cfg;
};

/* One request. */
struct api_ctx {
	const struct api_env *env;
	struct http_request *req;
	struct http_response *resp;
	http_read_fn read;		/* body stream */
	void *read_arg;
	const struct route *route;
	struct route_params params;	/* what the route's placeholders captured */
	struct uuid id;			/* the {id} of an item route (= params.id) */
	struct uuid user;		/* the caller */
	bool has_ws;			/* X-Workspace-Id given (and valid) */
	struct uuid ws;
	enum role role;			/* caller's role in ws (collection routes) */
};

void api_handle(const struct api_env *env, struct http_request *req,
                struct http_response *resp, http_read_fn rd, void *rd_arg);

/* For item routes: the item exists in workspace item_ws and the caller
 * holds `role` there.  Returns true to go on; otherwise it has answered
 * 404 (not a member, or X-Workspace-Id names another workspace) or 403
 * (role below the route's minimum). */
bool api_item_access(struct api_ctx *ctx, const struct uuid *item_ws,
                     enum role role, const char *what);

/* The single 404 body of an item route. */
void api_not_found(struct api_ctx *ctx, const char *what);

/* Read, parse and check the body against fields.  Returns a new object
 * (json_object_put it) or NULL after answering 415/413/400/422.  partial
 * (a PUT): every field is optional, whatever the table says. */
struct json_object *api_read_json(struct api_ctx *ctx,
                                  const struct jfield *fields, size_t n,
                                  bool partial);

/* Answer a failed store call: 503 (with Retry-After) or 500. */
void api_db_error(struct api_ctx *ctx, enum db_status st);

/* 422 with the given code, message and field. */
void api_invalid(struct api_ctx *ctx, const char *code, const char *message,
                 const char *field);

/* Copy a JSON string value, checked by validator, into dst (cap bytes).
 * Returns false after answering 422 invalid_value naming field. */
bool api_take_string(struct api_ctx *ctx, struct json_object *v,
                     const char *field,
                     const char *(*validator)(const char *, size_t),
                     char *dst, size_t cap);

/* The current time as RFC 3339 UTC ("2026-11-30T02:43:14Z"). */
void api_now(char out[32]);

/* Keyset pagination parameters shared by every list route. */
struct api_page {
	unsigned limit;			/* 1-200, default 50 */
	bool has_after;
	struct uuid after;		/* from ?cursor= */
};

/* A list route's own query parameter: return 0 when taken, 1 when the key
 * is not one of the route's, -1 after answering 400 for a bad value. */
typedef int (*api_query_fn)(struct api_ctx *ctx, const char *key,
                            const char *val, void *arg);

/* Parse the query string: limit and cursor into page, every other key
 * through fn.  Unknown, repeated or malformed parameters answer 400.
 * Returns false when it has answered. */
bool api_list_query(struct api_ctx *ctx, struct api_page *page,
                    api_query_fn fn, void *arg);

/* 400 bad_request for a query parameter. */
void api_bad_query(struct api_ctx *ctx, const char *message, const char *field);

/* Answer 200 {"data": data, "next_cursor": ...}; takes data. */
void api_reply_list(struct api_ctx *ctx, struct json_object *data, bool more,
                    const struct uuid *last);

/* Wipe the bytes of a JSON string value in place (a password, once used). */
void api_wipe_json_string(struct json_object *str);

/* Registries resource (api_registries.c). */
void api_registries_create(struct api_ctx *ctx);
void api_registries_list(struct api_ctx *ctx);
void api_registries_get(struct api_ctx *ctx);
void api_registries_update(struct api_ctx *ctx);
void api_registries_delete(struct api_ctx *ctx);
void api_registries_verify(struct api_ctx *ctx);

/* Sandbox images resource (api_images.c). */
void api_images_create(struct api_ctx *ctx);
void api_images_list(struct api_ctx *ctx);
void api_images_get(struct api_ctx *ctx);
void api_images_update(struct api_ctx *ctx);
void api_images_delete(struct api_ctx *ctx);

/* Sandboxes resource (api_sandboxes.c). */
void api_sandboxes_provision(struct api_ctx *ctx);
void api_sandboxes_list(struct api_ctx *ctx);
void api_sandboxes_get(struct api_ctx *ctx);
void api_sandboxes_wait(struct api_ctx *ctx);
void api_sandboxes_delete(struct api_ctx *ctx);

#endif
