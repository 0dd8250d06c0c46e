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
	struct uuid id;			/* the {id} of an item route */
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
 * (json_object_put it) or NULL after answering 415/413/400/422. */
struct json_object *api_read_json(struct api_ctx *ctx,
                                  const struct jfield *fields, size_t n);

/* Answer a failed store call: 503 (with Retry-After) or 500. */
void api_db_error(struct api_ctx *ctx, enum db_status st);

/* 422 with the given code, message and field. */
void api_invalid(struct api_ctx *ctx, const char *code, const char *message,
                 const char *field);

/* Wipe the bytes of a JSON string value in place (a password, once used). */
void api_wipe_json_string(struct json_object *str);

/* Registries resource (api_registries.c). */
void api_registries_create(struct api_ctx *ctx);
void api_registries_list(struct api_ctx *ctx);
void api_registries_get(struct api_ctx *ctx);
void api_registries_update(struct api_ctx *ctx);
void api_registries_delete(struct api_ctx *ctx);

#endif
