/*
 * api_images: the /sandbox-images routes.  A sandbox image names a
 * repository (`image`, parsed as Docker does), a `tag`, and for a private
 * image the registry credential that pulls it.  The link is checked on
 * every write that changes `image` or `registry_id`: the registry must be
 * in the image's workspace (one 422 whether it is missing or elsewhere, so
 * nothing leaks) and its server must be the image's registry host.  The
 * registry row is locked while checking, so a concurrent server change
 * cannot slip between the check and the write.  Global images are read by
 * everyone and written by no one (403).
 */
#include <stdio.h>
#include <string.h>

#include <json.h>

#include "api.h"
#include "imageref.h"
#include "log.h"
#include "server.h"
#include "store_image.h"
#include "store_registry.h"
#include "validate.h"

#define WHAT "sandbox image"

#define MEMORY_MB_MIN 256
#define MEMORY_MB_MAX 8192
#define TTL_MIN 60		/* one minute */
#define TTL_MAX 604800		/* one week */

/* The body of POST; PUT takes the same fields, all optional. */
static const struct jfield fields[] = {
	{ "name",           JF_STRING,         true },
	{ "image",          JF_STRING,         true },
	{ "tag",            JF_STRING,         false },
	{ "registry_id",    JF_STRING_OR_NULL, false },
	{ "description",    JF_STRING_OR_NULL, false },
	{ "memory_mb",      JF_INT_OR_NULL,    false },
	{ "ttl_seconds",    JF_INT_OR_NULL,    false },
	{ "readiness_port", JF_INT_OR_NULL,    false },
	{ "enabled",        JF_BOOL,           false },
};


#define NFIELDS(a) (sizeof (a) / sizeof (a)[0])

static void
add_opt_int(struct json_object *o, const char *key, long long v)
{
	json_object_object_add(o, key, v < 0 ? NULL : json_object_new_int64(v));
}

static struct json_object *
image_json(const struct sandbox_image *img)
{
	struct json_object *o = json_object_new_object();
	char id[UUID_TEXT_LEN + 1];

	uuid_format(&img->id, id);
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "name", json_object_new_string(img->name));
	json_object_object_add(o, "image", json_object_new_string(img->image));
	json_object_object_add(o, "tag", json_object_new_string(img->tag));
	if (img->has_registry) {
		uuid_format(&img->registry_id, id);
		json_object_object_add(o, "registry_id", json_object_new_string(id));
	} else {
		json_object_object_add(o, "registry_id", NULL);
	}
	json_object_object_add(o, "description", img->has_description ?
	    json_object_new_string(img->description) : NULL);
	add_opt_int(o, "memory_mb", img->memory_mb);
	add_opt_int(o, "ttl_seconds", img->ttl_seconds);
	add_opt_int(o, "readiness_port", img->readiness_port);
	json_object_object_add(o, "enabled", json_object_new_boolean(img->enabled));
	json_object_object_add(o, "global", json_object_new_boolean(img->global));
	json_object_object_add(o, "created_at", json_object_new_string(img->created_at));
	json_object_object_add(o, "updated_at", json_object_new_string(img->updated_at));
	return o;
}

static void
reply_image(struct api_ctx *ctx, int status, const struct sandbox_image *img)
{
	struct json_object *o = image_json(img);

	http_response_json(ctx->resp, status, o);
	json_object_put(o);
}

/* An integer field that is null or within [min, max]. */
static bool
take_opt_int(struct api_ctx *ctx, struct json_object *obj, const char *field,
             long long min, long long max, long long *dst)
{
	struct json_object *v;
	long long n;
	char msg[96];

	if (!json_object_object_get_ex(obj, field, &v))
		return true;
	if (v == NULL) {
		*dst = -1;
		return true;
	}
	n = json_object_get_int64(v);
	if (n < min || n > max) {
		snprintf(msg, sizeof msg, "%s must be from %lld to %lld, or null",
		    field, min, max);
		api_invalid(ctx, "invalid_value", msg, field);
		return false;
	}
	*dst = n;
	return true;
}

static const char *
tag_validator(const char *s, size_t len)
{
	return imageref_tag_valid(s, len) ? NULL :
	    "must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}";
}

/*
 * Apply the fields present in obj to img, checking each value.  Sets
 * *relink when image or registry_id changed (the link must be checked
 * again).  On a bad value answers 422 and returns false.
 */
static bool
apply_fields(struct api_ctx *ctx, struct json_object *obj,
             struct sandbox_image *img, bool *relink)
{
	struct json_object *v;
	struct imageref ref;
	const char *why;
	char msg[192];

	*relink = false;
	if (json_object_object_get_ex(obj, "name", &v) &&
	    !api_take_string(ctx, v, "name", validate_name, img->name,
	    sizeof img->name))
		return false;
	if (json_object_object_get_ex(obj, "image", &v)) {
		const char *s = json_object_get_string(v);
		size_t n = (size_t)json_object_get_string_len(v);

		if (imageref_parse(s, n, &ref, &why) != IMAGEREF_OK) {
			snprintf(msg, sizeof msg, "image %s", why);
			api_invalid(ctx, "invalid_value", msg, "image");
			return false;
		}
		*relink = *relink || strcmp(img->image, s) != 0;
		memcpy(img->image, s, n + 1);
		snprintf(img->image_host, sizeof img->image_host, "%s",
		    server_key(ref.host));
	}
	if (json_object_object_get_ex(obj, "tag", &v) &&
	    !api_take_string(ctx, v, "tag", tag_validator, img->tag,
	    sizeof img->tag))
		return false;
	if (json_object_object_get_ex(obj, "registry_id", &v)) {
		struct uuid id;

		if (v == NULL) {
			*relink = *relink || img->has_registry;
			img->has_registry = false;
			memset(&img->registry_id, 0, sizeof img->registry_id);
		} else if (uuid_parse(json_object_get_string(v),
		    (size_t)json_object_get_string_len(v), &id) != 0) {
			api_invalid(ctx, "invalid_value",
			    "registry_id must be a registry id (a UUID) or null",
			    "registry_id");
			return false;
		} else {
			*relink = *relink || !img->has_registry ||
			    memcmp(id.b, img->registry_id.b, 16) != 0;
			img->has_registry = true;
			img->registry_id = id;
		}
	}
	if (json_object_object_get_ex(obj, "description", &v)) {
		if (v == NULL) {
			img->has_description = false;
			img->description[0] = '\0';
		} else if (!api_take_string(ctx, v, "description",
		    validate_description, img->description,
		    sizeof img->description)) {
			return false;
		} else {
			img->has_description = true;
		}
	}
	if (!take_opt_int(ctx, obj, "memory_mb", MEMORY_MB_MIN, MEMORY_MB_MAX,
	    &img->memory_mb) ||
	    !take_opt_int(ctx, obj, "ttl_seconds", TTL_MIN, TTL_MAX,
	    &img->ttl_seconds) ||
	    !take_opt_int(ctx, obj, "readiness_port", 1, 65535,
	    &img->readiness_port))
		return false;
	if (json_object_object_get_ex(obj, "enabled", &v))
		img->enabled = json_object_get_boolean(v);
	return true;
}

/*
 * The registry named by img->registry_id must be in img's workspace and
 * serve the image's host.  Locks the registry row (inside the caller's
 * transaction).  Returns false after answering 422 or 503.
 */
static bool
check_link(struct api_ctx *ctx, const struct sandbox_image *img)
{
	struct registry r;
	enum role role;
	enum db_status st;
	char msg[1024];

	if (!img->has_registry)
		return true;
	st = store_registry_get(ctx->env->db, &img->registry_id, &ctx->user,
	    true, &r, &role);
	if (st != DB_OK && st != DB_NOT_FOUND) {
		api_db_error(ctx, st);
		return false;
	}
	if (st == DB_NOT_FOUND ||
	    memcmp(r.workspace_id.b, img->workspace_id.b, 16) != 0) {
		api_invalid(ctx, "invalid_value",
		    "registry_id does not name a registry of this workspace",
		    "registry_id");
		return false;
	}
	if (strcmp(server_key(r.server), img->image_host) != 0) {
		snprintf(msg, sizeof msg, "the image's registry host is %s but the "
		    "registry's server is %s; link a registry for %s",
		    img->image_host, r.server, img->image_host);
		api_invalid(ctx, "registry_mismatch", msg, "registry_id");
		return false;
	}
	return true;
}

static void
name_taken(struct api_ctx *ctx)
{
	http_response_error(ctx->resp, 409, "name_taken",
	    "a sandbox image with this name already exists in the workspace",
	    "name");
}

/* Commit, or answer the failure of the write st. */
static bool
finish_write(struct api_ctx *ctx, enum db_status st)
{
	if (st == DB_OK)
		st = db_commit(ctx->env->db);
	if (st == DB_DUPLICATE)
		name_taken(ctx);
	else if (st != DB_OK)
		api_db_error(ctx, st);
	return st == DB_OK;
}

/* POST /sandbox-images: 201 | 400 | 401 | 403 | 409 | 413 | 415 | 422 | 503 */
void
api_images_create(struct api_ctx *ctx)
{
	struct json_object *obj;
	struct sandbox_image img;
	bool relink;
	enum db_status st;
	char id[UUID_TEXT_LEN + 1], location[512];

	if ((obj = api_read_json(ctx, fields, NFIELDS(fields), false)) == NULL)
		return;
	memset(&img, 0, sizeof img);
	strcpy(img.tag, "latest");
	img.enabled = true;
	img.memory_mb = img.ttl_seconds = img.readiness_port = -1;
	img.workspace_id = ctx->ws;
	if (!apply_fields(ctx, obj, &img, &relink))
		goto out;
	uuid_v7(&img.id);
	api_now(img.created_at);
	memcpy(img.updated_at, img.created_at, sizeof img.updated_at);
	if ((st = db_begin(ctx->env->db)) != DB_OK) {
		api_db_error(ctx, st);
		goto out;
	}
	if (check_link(ctx, &img) &&
	    finish_write(ctx, store_image_create(ctx->env->db, &img))) {
		uuid_format(&img.id, id);
		snprintf(location, sizeof location, "%s/sandbox-images/%s",
		    ctx->req->base, id);
		reply_image(ctx, 201, &img);
		http_response_header(ctx->resp, "Location", location);
		log_info("sandbox image %s created", id);
	}
	db_rollback(ctx->env->db);	/* no-op after a commit */
out:
	json_object_put(obj);
}

struct list_state {
	struct json_object *data;
	struct uuid last;
	struct uuid registry_id;
	struct image_filter f;
};

static void
list_one(const struct sandbox_image *img, void *arg)
{
	struct list_state *ls = arg;

	json_object_array_add(ls->data, image_json(img));
	ls->last = img->id;
}

/* ?registry_id= and ?enabled_only= */
static int
list_param(struct api_ctx *ctx, const char *key, const char *val, void *arg)
{
	struct list_state *ls = arg;

	if (strcmp(key, "registry_id") == 0) {
		if (uuid_parse(val, strlen(val), &ls->registry_id) != 0) {
			api_bad_query(ctx, "registry_id must be a UUID", "registry_id");
			return -1;
		}
		ls->f.registry_id = &ls->registry_id;
		return 0;
	}
	if (strcmp(key, "enabled_only") == 0) {
		if (strcmp(val, "true") == 0 || strcmp(val, "false") == 0) {
			ls->f.enabled_only = val[0] == 't';
			return 0;
		}
		api_bad_query(ctx, "enabled_only must be true or false", "enabled_only");
		return -1;
	}
	return 1;
}

/* GET /sandbox-images: 200 | 400 | 401 | 403 | 503 */
void
api_images_list(struct api_ctx *ctx)
{
	struct list_state ls;
	struct api_page page;
	enum db_status st;
	bool more;

	memset(&ls, 0, sizeof ls);
	if (!api_list_query(ctx, &page, list_param, &ls))
		return;
	ls.f.limit = page.limit;
	ls.f.after = page.has_after ? &page.after : NULL;
	ls.data = json_object_new_array();
	st = store_image_list(ctx->env->db, &ctx->ws, &ls.f, list_one, &ls, &more);
	if (st != DB_OK) {
		json_object_put(ls.data);
		return api_db_error(ctx, st);
	}
	api_reply_list(ctx, ls.data, more, &ls.last);
}

/* Load the image of an item route and check the caller may use it with
 * this route: a global image is readable by every caller and writable by
 * none.  Returns false after answering 403/404/503. */
static bool
load(struct api_ctx *ctx, bool for_update, struct sandbox_image *img)
{
	enum role role;
	enum db_status st;

	st = store_image_get(ctx->env->db, &ctx->id, &ctx->user, for_update,
	    img, &role);
	if (st == DB_NOT_FOUND) {
		api_not_found(ctx, WHAT);
		return false;
	}
	if (st != DB_OK) {
		api_db_error(ctx, st);
		return false;
	}
	if (!img->global)
		return api_item_access(ctx, &img->workspace_id, role, WHAT);
	if (ctx->route->min_role > ROLE_VIEWER) {
		http_response_error(ctx->resp, 403, "forbidden",
		    "global images cannot be changed or deleted", NULL);
		return false;
	}
	return true;
}

/* GET /sandbox-images/{id}: 200 | 400 | 401 | 404 | 503 */
void
api_images_get(struct api_ctx *ctx)
{
	struct sandbox_image img;

	if (load(ctx, false, &img))
		reply_image(ctx, 200, &img);
}

/* PUT /sandbox-images/{id}: 200 | 400 | 401 | 403 | 404 | 409 | 413 |
 * 415 | 422 | 503 */
void
api_images_update(struct api_ctx *ctx)
{
	struct json_object *obj = NULL;
	struct sandbox_image img;
	enum db_status st;
	bool relink;

	if ((st = db_begin(ctx->env->db)) != DB_OK)
		return api_db_error(ctx, st);
	if (!load(ctx, true, &img))
		goto out;
	if ((obj = api_read_json(ctx, fields, NFIELDS(fields), true)) == NULL)
		goto out;
	if (!apply_fields(ctx, obj, &img, &relink))
		goto out;
	if (relink && !check_link(ctx, &img))
		goto out;
	api_now(img.updated_at);
	if (finish_write(ctx, store_image_update(ctx->env->db, &img)))
		reply_image(ctx, 200, &img);
out:
	db_rollback(ctx->env->db);	/* no-op after a commit */
	json_object_put(obj);
}

/* DELETE /sandbox-images/{id}: 204 | 400 | 401 | 403 | 404 | 503 */
void
api_images_delete(struct api_ctx *ctx)
{
	struct sandbox_image img;
	enum db_status st;
	char id[UUID_TEXT_LEN + 1];

	if (!load(ctx, false, &img))
		return;
	st = store_image_delete(ctx->env->db, &ctx->id);
	if (st == DB_NOT_FOUND)
		return api_not_found(ctx, WHAT);
	if (st != DB_OK)
		return api_db_error(ctx, st);
	http_response_empty(ctx->resp, 204);
	uuid_format(&ctx->id, id);
	log_info("sandbox image %s deleted", id);
}
