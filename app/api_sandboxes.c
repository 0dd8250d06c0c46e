/*
 * api_sandboxes: the /sandboxes routes.  Every route is a collection
 * route (X-Workspace-Id required): sandboxes are named by the caller's
 * task_id, unique only within a workspace.  Provisioning queues a row for
 * the provisioners and answers 202 at once; /sandboxes/wait polls the row
 * for at most [http] wait_max_seconds, so a FastCGI process is never held
 * longer than that.  env_vars are sealed like registry passwords and never
 * returned.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json.h>

#include "api.h"
#include "log.h"
#include "store_image.h"
#include "store_sandbox.h"
#include "validate.h"

#define TTL_MIN 60
#define TTL_MAX 604800
#define TTL_DEFAULT 3600
#define ENV_MAX_VARS 100
#define ENV_VALUE_MAX 32768
#define WAIT_POLL_MS 200

static const struct jfield provision_fields[] = {
	{ "task_id",     JF_STRING,      true },
	{ "image_id",    JF_STRING,      true },
	{ "ttl_seconds", JF_INT_OR_NULL, false },
	{ "env_vars",    JF_OBJECT,      false },
};

static const struct jfield wait_fields[] = {
	{ "task_id", JF_STRING, true },
	{ "timeout", JF_INT,    false },
};

#define NFIELDS(a) (sizeof (a) / sizeof (a)[0])

static struct json_object *
sandbox_json(const struct sandbox *sb)
{
	struct json_object *o = json_object_new_object(), *err;
	char id[UUID_TEXT_LEN + 1];

	json_object_object_add(o, "task_id", json_object_new_string(sb->task_id));
	uuid_format(&sb->image_id, id);
	json_object_object_add(o, "image_id", json_object_new_string(id));
	json_object_object_add(o, "image", json_object_new_string(sb->image));
	json_object_object_add(o, "tag", json_object_new_string(sb->tag));
	json_object_object_add(o, "status",
	    json_object_new_string(sandbox_status_name(sb->status)));
	json_object_object_add(o, "ttl_seconds", json_object_new_int64(sb->ttl_seconds));
	json_object_object_add(o, "image_digest", sb->image_digest[0] ?
	    json_object_new_string(sb->image_digest) : NULL);
	if (sb->error_code[0]) {
		err = json_object_new_object();
		json_object_object_add(err, "code", json_object_new_string(sb->error_code));
		json_object_object_add(err, "message",
		    json_object_new_string(sb->error_message));
		json_object_object_add(o, "error", err);
	} else {
		json_object_object_add(o, "error", NULL);
	}
	json_object_object_add(o, "created_at", json_object_new_string(sb->created_at));
	json_object_object_add(o, "updated_at", json_object_new_string(sb->updated_at));
	json_object_object_add(o, "ready_at", sb->ready_at[0] ?
	    json_object_new_string(sb->ready_at) : NULL);
	json_object_object_add(o, "expires_at", sb->expires_at[0] ?
	    json_object_new_string(sb->expires_at) : NULL);
	return o;
}

static void
reply_sandbox(struct api_ctx *ctx, int status, const struct sandbox *sb)
{
	struct json_object *o = sandbox_json(sb);

	http_response_json(ctx->resp, status, o);
	json_object_put(o);
}

static void
sandbox_not_found(struct api_ctx *ctx)
{
	api_not_found(ctx, "sandbox");
}

/* Check env_vars (names, string values, sizes) and serialise it.
 * Returns a malloc'd JSON text (to be sealed) or NULL after answering. */
static char *
env_text(struct api_ctx *ctx, struct json_object *env, size_t *len)
{
	const char *s;
	size_t n;
	char *copy;

	if (json_object_object_length(env) > ENV_MAX_VARS) {
		api_invalid(ctx, "invalid_value",
		    "env_vars holds at most 100 variables", "env_vars");
		return NULL;
	}
	json_object_object_foreach(env, key, val) {
		if (validate_env_name(key, strlen(key)) != NULL) {
			api_invalid(ctx, "invalid_value", "env_vars names must match "
			    "[A-Za-z_][A-Za-z0-9_]{0,127}", "env_vars");
			return NULL;
		}
		if (!json_object_is_type(val, json_type_string) ||
		    json_object_get_string_len(val) > ENV_VALUE_MAX ||
		    memchr(json_object_get_string(val), '\0',
		    (size_t)json_object_get_string_len(val)) != NULL) {
			api_invalid(ctx, "invalid_value", "env_vars values must be "
			    "strings of at most 32768 bytes without NUL", "env_vars");
			return NULL;
		}
	}
	s = json_object_to_json_string_length(env, JSON_C_TO_STRING_PLAIN, &n);
	if (s == NULL)
		goto fail;
	copy = malloc(n + 1);
	if (copy != NULL)
		memcpy(copy, s, n + 1);
	/* json-c keeps the text in the object's own buffer: wipe it too. */
	crypto_wipe((void *)s, n);
	if (copy == NULL)
		goto fail;
	*len = n;
	return copy;
fail:
	api_db_error(ctx, DB_ERROR);
	return NULL;
}

/* Wipe every value of env_vars in the parsed body. */
static void
wipe_env(struct json_object *env)
{
	if (env == NULL)
		return;
	json_object_object_foreach(env, key, val) {
		(void)key;
		api_wipe_json_string(val);
	}
}

/* POST /sandboxes/provision: 202 | 400 | 401 | 403 | 409 | 413 | 415 |
 * 422 | 503 */
void
api_sandboxes_provision(struct api_ctx *ctx)
{
	struct json_object *obj, *v, *env = NULL;
	struct sandbox sb;
	struct sandbox_image img;
	struct sealed sealed;
	enum role role;
	enum db_status st;
	char *text = NULL;
	size_t text_len = 0;
	unsigned char ad[SANDBOX_AD_LEN];
	const char *why;
	char msg[160];

	memset(&sealed, 0, sizeof sealed);
	if ((obj = api_read_json(ctx, provision_fields, NFIELDS(provision_fields), false)) == NULL)
		return;
	memset(&sb, 0, sizeof sb);
	json_object_object_get_ex(obj, "env_vars", &env);
	json_object_object_get_ex(obj, "task_id", &v);
	if ((why = validate_task_id(json_object_get_string(v),
	    (size_t)json_object_get_string_len(v))) != NULL) {
		snprintf(msg, sizeof msg, "task_id %s", why);
		api_invalid(ctx, "invalid_value", msg, "task_id");
		goto out;
	}
	memcpy(sb.task_id, json_object_get_string(v),
	    (size_t)json_object_get_string_len(v) + 1);
	json_object_object_get_ex(obj, "image_id", &v);
	if (uuid_parse(json_object_get_string(v),
	    (size_t)json_object_get_string_len(v), &sb.image_id) != 0) {
		api_invalid(ctx, "invalid_value", "image_id must be a sandbox image id "
		    "(a UUID)", "image_id");
		goto out;
	}
	sb.ttl_seconds = 0;
	if (json_object_object_get_ex(obj, "ttl_seconds", &v) && v != NULL) {
		long long t = json_object_get_int64(v);
		if (t < TTL_MIN || t > TTL_MAX) {
			api_invalid(ctx, "invalid_value",
			    "ttl_seconds must be from 60 to 604800", "ttl_seconds");
			goto out;
		}
		sb.ttl_seconds = (unsigned)t;
	}
	if (env != NULL && (text = env_text(ctx, env, &text_len)) == NULL)
		goto out;

	st = store_image_get(ctx->env->db, &sb.image_id, &ctx->user, false, &img, &role);
	if (st != DB_OK && st != DB_NOT_FOUND) {
		api_db_error(ctx, st);
		goto out;
	}
	if (st == DB_NOT_FOUND || (!img.global &&
	    memcmp(img.workspace_id.b, ctx->ws.b, 16) != 0)) {
		api_invalid(ctx, "invalid_value",
		    "image_id does not name a sandbox image of this workspace", "image_id");
		goto out;
	}
	if (!img.enabled) {
		api_invalid(ctx, "image_disabled",
		    "this sandbox image is disabled; enable it to provision", "image_id");
		goto out;
	}
	memcpy(sb.image, img.image, sizeof sb.image);
	memcpy(sb.tag, img.tag, sizeof sb.tag);
	sb.has_registry = img.has_registry;
	sb.registry_id = img.registry_id;
	if (sb.ttl_seconds == 0)
		sb.ttl_seconds = img.ttl_seconds > 0 ? (unsigned)img.ttl_seconds : TTL_DEFAULT;
	sb.workspace_id = ctx->ws;
	sb.status = SB_PROVISIONING;
	uuid_v7(&sb.id);
	api_now(sb.created_at);
	memcpy(sb.updated_at, sb.created_at, sizeof sb.updated_at);
	if (text != NULL) {
		sandbox_env_ad(&sb, ad);
		if (crypto_seal(ctx->env->ring, ad, sizeof ad, text, text_len,
		    &sealed) != 0) {
			log_error("could not seal env_vars");
			api_db_error(ctx, DB_ERROR);
			goto out;
		}
	}
	st = store_sandbox_provision(ctx->env->db, &sb, text ? &sealed : NULL);
	if (st == DB_DUPLICATE)
		http_response_error(ctx->resp, 409, "task_id_taken",
		    "a sandbox with this task_id exists in the workspace; destroy it "
		    "or use another task_id", "task_id");
	else if (st != DB_OK)
		api_db_error(ctx, st);
	else {
		reply_sandbox(ctx, 202, &sb);
		log_info("sandbox %s queued for provisioning", sb.task_id);
	}
out:
	if (text != NULL) {
		crypto_wipe(text, text_len);
		free(text);
	}
	sealed_clear(&sealed);
	wipe_env(env);
	json_object_put(obj);
}

struct list_state {
	struct json_object *data;
	struct uuid last;
	struct sandbox_filter f;
};

static void
list_one(const struct sandbox *sb, void *arg)
{
	struct list_state *ls = arg;

	json_object_array_add(ls->data, sandbox_json(sb));
	ls->last = sb->id;
}

/* ?status= */
static int
list_param(struct api_ctx *ctx, const char *key, const char *val, void *arg)
{
	struct list_state *ls = arg;

	if (strcmp(key, "status") != 0)
		return 1;
	for (int i = SB_PROVISIONING; i <= SB_DESTROYED; i++)
		if (strcmp(val, sandbox_status_name((enum sandbox_status)i)) == 0) {
			ls->f.status = i;
			return 0;
		}
	api_bad_query(ctx, "status must be provisioning, ready, failed or destroyed",
	    "status");
	return -1;
}

/* GET /sandboxes: 200 | 400 | 401 | 403 | 503 */
void
api_sandboxes_list(struct api_ctx *ctx)
{
	struct list_state ls;
	struct api_page page;
	enum db_status st;
	bool more;

	memset(&ls, 0, sizeof ls);
	ls.f.status = -1;
	if (!api_list_query(ctx, &page, list_param, &ls))
		return;
	ls.f.limit = page.limit;
	ls.f.after = page.has_after ? &page.after : NULL;
	ls.data = json_object_new_array();
	st = store_sandbox_list(ctx->env->db, &ctx->ws, &ls.f, list_one, &ls, &more);
	if (st != DB_OK) {
		json_object_put(ls.data);
		return api_db_error(ctx, st);
	}
	api_reply_list(ctx, ls.data, more, &ls.last);
}

/* GET /sandboxes/{task_id}: 200 | 400 | 401 | 403 | 404 | 503 */
void
api_sandboxes_get(struct api_ctx *ctx)
{
	struct sandbox sb;
	enum db_status st;

	st = store_sandbox_get(ctx->env->db, &ctx->ws, ctx->params.name, &sb);
	if (st == DB_NOT_FOUND)
		return sandbox_not_found(ctx);
	if (st != DB_OK)
		return api_db_error(ctx, st);
	reply_sandbox(ctx, 200, &sb);
}

/* POST /sandboxes/wait: 200 | 400 | 401 | 403 | 404 | 413 | 415 | 422 | 503
 * Answers the sandbox once it leaves provisioning, or as it is when the
 * timeout (bounded by [http] wait_max_seconds) runs out. */
void
api_sandboxes_wait(struct api_ctx *ctx)
{
	struct json_object *obj, *v;
	struct sandbox sb;
	struct timespec start, now, nap = { 0, WAIT_POLL_MS * 1000000L };
	long long timeout = ctx->env->cfg->http.wait_max_seconds;
	enum db_status st;
	char task[TASK_ID_MAX + 1];

	if ((obj = api_read_json(ctx, wait_fields, NFIELDS(wait_fields), false)) == NULL)
		return;
	json_object_object_get_ex(obj, "task_id", &v);
	if (validate_task_id(json_object_get_string(v),
	    (size_t)json_object_get_string_len(v)) != NULL) {
		json_object_put(obj);
		return sandbox_not_found(ctx);
	}
	memcpy(task, json_object_get_string(v),
	    (size_t)json_object_get_string_len(v) + 1);
	if (json_object_object_get_ex(obj, "timeout", &v)) {
		long long t = json_object_get_int64(v);
		if (t < 0) {
			json_object_put(obj);
			return api_invalid(ctx, "invalid_value",
			    "timeout must be a number of seconds, 0 or more", "timeout");
		}
		if (t < timeout)
			timeout = t;
	}
	json_object_put(obj);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		st = store_sandbox_get(ctx->env->db, &ctx->ws, task, &sb);
		if (st == DB_NOT_FOUND)
			return sandbox_not_found(ctx);
		if (st != DB_OK)
			return api_db_error(ctx, st);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (sb.status != SB_PROVISIONING ||
		    (now.tv_sec - start.tv_sec) * 1000 +
		    (now.tv_nsec - start.tv_nsec) / 1000000 >= timeout * 1000)
			break;
		nanosleep(&nap, NULL);
	}
	reply_sandbox(ctx, 200, &sb);
}

/* DELETE /sandboxes/{task_id}: 200 | 400 | 401 | 403 | 404 | 503 */
void
api_sandboxes_delete(struct api_ctx *ctx)
{
	struct sandbox sb;
	enum db_status st;

	st = store_sandbox_destroy(ctx->env->db, &ctx->ws, ctx->params.name, &sb);
	if (st == DB_NOT_FOUND)
		return sandbox_not_found(ctx);
	if (st != DB_OK)
		return api_db_error(ctx, st);
	reply_sandbox(ctx, 200, &sb);
	log_info("sandbox %s destroyed", sb.task_id);
}
