/*
 * api_registries: the /registries routes.  Fields are checked by jsonin
 * (presence, types) and validate/server (values) before anything is
 * stored; the password is sealed at once and its plaintext wiped from the
 * parsed body.  Nothing here writes SQL: store_registry does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json.h>

#include "api.h"
#include "cursor.h"
#include "log.h"
#include "server.h"
#include "imageref.h"
#include "pull.h"
#include "store_image.h"
#include "store_registry.h"
#include "validate.h"

#define WHAT "registry"

/* The body of POST; PUT takes the same fields, all optional. */
static const struct jfield fields[] = {
	{ "name",     JF_STRING,         true },
	{ "server",   JF_STRING,         true },
	{ "username", JF_STRING,         true },
	{ "password", JF_STRING,         true },
	{ "email",    JF_STRING_OR_NULL, false },
	{ "enabled",  JF_BOOL,           false },
};


#define NFIELDS(a) (sizeof (a) / sizeof (a)[0])

static struct json_object *
registry_json(const struct registry *r)
{
	struct json_object *o = json_object_new_object();
	char id[UUID_TEXT_LEN + 1];

	uuid_format(&r->id, id);
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "name", json_object_new_string(r->name));
	json_object_object_add(o, "server", json_object_new_string(r->server));
	json_object_object_add(o, "username", json_object_new_string(r->username));
	json_object_object_add(o, "email",
	    r->has_email ? json_object_new_string(r->email) : NULL);
	json_object_object_add(o, "enabled", json_object_new_boolean(r->enabled));
	json_object_object_add(o, "created_at", json_object_new_string(r->created_at));
	json_object_object_add(o, "updated_at", json_object_new_string(r->updated_at));
	return o;
}

static void
reply_registry(struct api_ctx *ctx, int status, const struct registry *r)
{
	struct json_object *o = registry_json(r);

	http_response_json(ctx->resp, status, o);
	json_object_put(o);
}

/*
 * Apply the fields present in obj to r, checking each value.  *password
 * is set to the password value when one is given.  On a bad value answers
 * 422 and returns false.
 */
static bool
apply_fields(struct api_ctx *ctx, struct json_object *obj, struct registry *r,
             struct json_object **password, bool *server_changed)
{
	struct json_object *v;

	*password = NULL;
	*server_changed = false;
	if (json_object_object_get_ex(obj, "name", &v) &&
	    !api_take_string(ctx, v, "name", validate_name, r->name, sizeof r->name))
		return false;
	if (json_object_object_get_ex(obj, "server", &v)) {
		char norm[SERVER_MAX + 1];
		const char *why;

		if (server_normalize(json_object_get_string(v),
		    (size_t)json_object_get_string_len(v), norm, sizeof norm,
		    &why) != 0) {
			char msg[160];
			snprintf(msg, sizeof msg, "server %s", why);
			api_invalid(ctx, "invalid_value", msg, "server");
			return false;
		}
		*server_changed = r->server[0] != '\0' && !server_same(r->server, norm);
		memcpy(r->server, norm, strlen(norm) + 1);
	}
	if (json_object_object_get_ex(obj, "username", &v) &&
	    !api_take_string(ctx, v, "username", validate_username, r->username,
	    sizeof r->username))
		return false;
	if (json_object_object_get_ex(obj, "email", &v)) {
		if (v == NULL) {
			r->has_email = false;
			r->email[0] = '\0';
		} else if (!api_take_string(ctx, v, "email", validate_email, r->email,
		    sizeof r->email)) {
			return false;
		} else {
			r->has_email = true;
		}
	}
	if (json_object_object_get_ex(obj, "enabled", &v))
		r->enabled = json_object_get_boolean(v);
	if (json_object_object_get_ex(obj, "password", &v)) {
		const char *why = validate_password(json_object_get_string(v),
		    (size_t)json_object_get_string_len(v));
		if (why != NULL) {
			char msg[128];
			snprintf(msg, sizeof msg, "password %s", why);
			api_invalid(ctx, "invalid_value", msg, "password");
			return false;
		}
		*password = v;
	}
	return true;
}

/* Seal the password of r.  Wipes the plaintext in the JSON tree. */
static bool
seal_password(struct api_ctx *ctx, const struct registry *r,
              struct json_object *password, struct sealed *out)
{
	unsigned char ad[REGISTRY_AD_LEN];
	int rc;

	registry_secret_ad(r, ad);
	rc = crypto_seal(ctx->env->ring, ad, sizeof ad,
	    json_object_get_string(password),
	    (size_t)json_object_get_string_len(password), out);
	api_wipe_json_string(password);
	if (rc != 0) {
		log_error("could not seal a registry password");
		api_db_error(ctx, DB_ERROR);
		return false;
	}
	return true;
}

static void
name_taken(struct api_ctx *ctx)
{
	http_response_error(ctx->resp, 409, "name_taken",
	    "a registry with this name already exists in the workspace", "name");
}

/* POST /registries: 201 | 400 | 401 | 403 | 409 | 413 | 415 | 422 | 503 */
void
api_registries_create(struct api_ctx *ctx)
{
	struct json_object *obj, *password;
	struct registry r;
	struct sealed pw;
	bool changed;
	enum db_status st;
	char id[UUID_TEXT_LEN + 1], location[512];

	memset(&pw, 0, sizeof pw);
	if ((obj = api_read_json(ctx, fields, NFIELDS(fields), false)) == NULL)
		return;
	memset(&r, 0, sizeof r);
	r.enabled = true;
	if (!apply_fields(ctx, obj, &r, &password, &changed))
		goto out;
	uuid_v7(&r.id);
	r.workspace_id = ctx->ws;
	if (!seal_password(ctx, &r, password, &pw))
		goto out;
	api_now(r.created_at);
	memcpy(r.updated_at, r.created_at, sizeof r.updated_at);
	r.key_id = pw.key_id;
	st = store_registry_create(ctx->env->db, &r, &pw);
	if (st == DB_DUPLICATE) {
		name_taken(ctx);
	} else if (st != DB_OK) {
		api_db_error(ctx, st);
	} else {
		uuid_format(&r.id, id);
		snprintf(location, sizeof location, "%s/registries/%s",
		    ctx->req->base, id);
		reply_registry(ctx, 201, &r);
		http_response_header(ctx->resp, "Location", location);
		log_info("registry %s created", id);
	}
out:
	sealed_clear(&pw);
	api_wipe_json_string(password);
	json_object_put(obj);
}

struct list_state {
	struct json_object *data;
	struct uuid last;
};

static void
list_one(const struct registry *r, void *arg)
{
	struct list_state *ls = arg;

	json_object_array_add(ls->data, registry_json(r));
	ls->last = r->id;
}

struct list_filter {
	struct registry_filter f;
	char skey[SERVER_MAX + 1];
};

/* ?server= and ?enabled= */
static int
list_param(struct api_ctx *ctx, const char *key, const char *val, void *arg)
{
	struct list_filter *lf = arg;
	const char *why;

	if (strcmp(key, "server") == 0) {
		if (server_normalize(val, strlen(val), lf->skey, sizeof lf->skey,
		    &why) != 0) {
			api_bad_query(ctx, "server is not a registry host", "server");
			return -1;
		}
		lf->f.server_key = server_key(lf->skey);
		return 0;
	}
	if (strcmp(key, "enabled") == 0) {
		if (strcmp(val, "true") == 0 || strcmp(val, "false") == 0) {
			lf->f.enabled = val[0] == 't';
			return 0;
		}
		api_bad_query(ctx, "enabled must be true or false", "enabled");
		return -1;
	}
	return 1;
}

/* GET /registries: 200 | 400 | 401 | 403 | 503 */
void
api_registries_list(struct api_ctx *ctx)
{
	struct list_filter lf = { .f = { .enabled = -1 } };
	struct api_page page;
	struct list_state ls;
	enum db_status st;
	bool more;

	if (!api_list_query(ctx, &page, list_param, &lf))
		return;
	lf.f.limit = page.limit;
	lf.f.after = page.has_after ? &page.after : NULL;
	ls.data = json_object_new_array();
	st = store_registry_list(ctx->env->db, &ctx->ws, &lf.f, list_one, &ls, &more);
	if (st != DB_OK) {
		json_object_put(ls.data);
		return api_db_error(ctx, st);
	}
	api_reply_list(ctx, ls.data, more, &ls.last);
}

/* Load the registry of an item route and check the caller may use it
 * with this route.  Returns false after answering 404/403/503. */
static bool
load(struct api_ctx *ctx, bool for_update, struct registry *r)
{
	enum role role;
	enum db_status st;

	st = store_registry_get(ctx->env->db, &ctx->id, &ctx->user, for_update,
	    r, &role);
	if (st == DB_NOT_FOUND)
		api_not_found(ctx, WHAT);
	else if (st != DB_OK)
		api_db_error(ctx, st);
	else
		return api_item_access(ctx, &r->workspace_id, role, WHAT);
	return false;
}

/* GET /registries/{id}: 200 | 400 | 401 | 404 | 503 */
void
api_registries_get(struct api_ctx *ctx)
{
	struct registry r;

	if (load(ctx, false, &r))
		reply_registry(ctx, 200, &r);
}

/* A server change must not strand linked sandbox images on another host:
 * 409 naming how many.  (Image writes lock this registry's row, which the
 * caller holds, so none can be linked meanwhile.) */
static bool
images_follow(struct api_ctx *ctx, const struct registry *r)
{
	unsigned long long n;
	char msg[200];
	enum db_status st;

	st = store_image_count_other_host(ctx->env->db, &r->id,
	    server_key(r->server), &n);
	if (st != DB_OK) {
		api_db_error(ctx, st);
		return false;
	}
	if (n == 0)
		return true;
	snprintf(msg, sizeof msg, "%llu linked sandbox image%s name%s another "
	    "host; link %s to another registry or delete %s first", n,
	    n == 1 ? "" : "s", n == 1 ? "s" : "", n == 1 ? "it" : "them",
	    n == 1 ? "it" : "them");
	http_response_error(ctx->resp, 409, "images_linked", msg, "server");
	return false;
}

/* PUT /registries/{id}: 200 | 400 | 401 | 403 | 404 | 409 | 413 | 415 |
 * 422 | 503 */
void
api_registries_update(struct api_ctx *ctx)
{
	struct db *db = ctx->env->db;
	struct json_object *obj = NULL, *password = NULL;
	struct registry r;
	struct sealed pw;
	enum db_status st;
	bool changed, sealed = false;

	memset(&pw, 0, sizeof pw);
	if ((st = db_begin(db)) != DB_OK)
		return api_db_error(ctx, st);
	if (!load(ctx, true, &r))
		goto out;
	if ((obj = api_read_json(ctx, fields, NFIELDS(fields), true)) == NULL)
		goto out;
	if (!apply_fields(ctx, obj, &r, &password, &changed))
		goto out;
	if (changed && password == NULL) {
		api_invalid(ctx, "password_required",
		    "changing server needs the password for the new server in the "
		    "same request", "password");
		goto out;
	}
	if (changed && !images_follow(ctx, &r))
		goto out;
	if (password != NULL) {
		if (!seal_password(ctx, &r, password, &pw))
			goto out;
		sealed = true;
		r.key_id = pw.key_id;
	}
	api_now(r.updated_at);
	st = store_registry_update(db, &r, sealed ? &pw : NULL);
	if (st == DB_OK)
		st = db_commit(db);
	if (st == DB_DUPLICATE)
		name_taken(ctx);
	else if (st != DB_OK)
		api_db_error(ctx, st);
	else
		reply_registry(ctx, 200, &r);
out:
	db_rollback(db);	/* no-op after a commit */
	sealed_clear(&pw);
	api_wipe_json_string(password);
	json_object_put(obj);
}

/* DELETE /registries/{id}: 204 | 400 | 401 | 403 | 404 | 503 */
void
api_registries_delete(struct api_ctx *ctx)
{
	char id[UUID_TEXT_LEN + 1];
	struct registry r;
	enum db_status st;

	if (!load(ctx, false, &r))
		return;
	st = store_registry_delete(ctx->env->db, &ctx->id);
	if (st == DB_NOT_FOUND)
		return api_not_found(ctx, WHAT);
	if (st != DB_OK)
		return api_db_error(ctx, st);
	http_response_empty(ctx->resp, 204);
	uuid_format(&ctx->id, id);
	log_info("registry %s deleted", id);
}

/* POST /registries/{id}/verify: 200 | 400 | 401 | 403 | 404 | 503
 * Tries the stored credentials against the registry now (the pull's
 * handshake, with a short timeout) and, when a sandbox image is linked,
 * asks for a token scoped to its repository.  The answer is 200 either
 * way: {"ok": true} or {"ok": false, "error": {code, message}}. */
void
api_registries_verify(struct api_ctx *ctx)
{
	struct registry r;
	struct sealed pw;
	struct reg_creds creds;
	struct reg_policy pol;
	struct reg_result res;
	struct imageref ref;
	struct json_object *root, *err;
	const char *why, *repo = NULL;
	char image[IMAGEREF_NAME_MAX + 1];
	enum db_status st;
	int rc;

	if (!load(ctx, false, &r))
		return;
	st = store_registry_get_sealed(ctx->env->db, &ctx->id, &r, &pw);
	if (st == DB_NOT_FOUND)
		return api_not_found(ctx, WHAT);
	if (st != DB_OK)
		return api_db_error(ctx, st);
	st = store_image_linked_one(ctx->env->db, &ctx->id, image, sizeof image);
	if (st != DB_OK && st != DB_NOT_FOUND) {
		sealed_clear(&pw);
		return api_db_error(ctx, st);
	}
	if (st == DB_OK && imageref_parse(image, strlen(image), &ref, &why) ==
	    IMAGEREF_OK && server_same(ref.host, r.server))
		repo = ref.path;
	memset(&res, 0, sizeof res);
	if (pull_open_creds(ctx->env->ring, &r, &pw, &creds) != 0) {
		res.error = REG_AUTH_FAILED;
		snprintf(res.message, sizeof res.message, "the stored password could "
		    "not be decrypted; set it again with PUT /registries/{id}");
		rc = -1;
	} else {
		pull_policy(ctx->env->cfg, true, &pol);
		rc = reg_verify(&pol, r.server, repo, &creds, &res);
		pull_close_creds(&creds);
	}
	sealed_clear(&pw);
	root = json_object_new_object();
	json_object_object_add(root, "ok", json_object_new_boolean(rc == 0));
	if (rc != 0) {
		err = json_object_new_object();
		json_object_object_add(err, "code", json_object_new_string(
		    res.code[0] ? res.code : reg_error_code(res.error)));
		json_object_object_add(err, "message", json_object_new_string(res.message));
		json_object_object_add(root, "error", err);
	}
	http_response_json(ctx->resp, 200, root);
	json_object_put(root);
}
