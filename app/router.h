/*
 * router: match a method and path against a const route table.  A path
 * segment "{id}" in a pattern matches a canonical UUID only, so
 * "/registries/not-a-uuid" is simply not a route (404); "{name}" matches a
 * caller-chosen name (validate_task_id: 1-128 of [A-Za-z0-9._~-]).  When the path
 * matches but the method does not, the Allow list is built from the table.
 */
#ifndef MODBOX_ROUTER_H
#define MODBOX_ROUTER_H

#include <stddef.h>

#include "store_account.h"
#include "uuid.h"

struct api_ctx;

enum route_flags {
	ROUTE_WORKSPACE = 1 << 0,	/* collection route: X-Workspace-Id required */
};

struct route {
	const char *method;
	const char *pattern;		/* e.g. "/registries/{id}" */
	void (*handler)(struct api_ctx *ctx);
	unsigned flags;
	enum role min_role;		/* the least role that may call it */
};

/* What the placeholders of a matched pattern captured. */
struct route_params {
	struct uuid id;			/* {id} */
	char name[129];			/* {name} */
};

enum router_result {
	ROUTER_OK = 0,
	ROUTER_NOT_FOUND,
	ROUTER_BAD_METHOD,
};

/* On ROUTER_OK sets *match and the captured params.  On
 * ROUTER_BAD_METHOD writes "GET, POST"-style text into allow. */
enum router_result router_match(const struct route *table, size_t n,
                                const char *method, const char *path,
                                const struct route **match,
                                struct route_params *params,
                                char *allow, size_t allowcap);

#endif
