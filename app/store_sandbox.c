/*
 * store_sandbox: see store_sandbox.h.
 */
#include "store_sandbox.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

#define TS(col) "DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%sZ')"
#define COLS "s.id, s.workspace_id, s.task_id, s.image_id, s.image, s.tag," \
	" s.registry_id, s.status, s.ttl_seconds, s.image_digest," \
	" s.error_code, s.error_message, s.attempts," \
	" TIMESTAMPDIFF(SECOND, s.first_attempt_at, UTC_TIMESTAMP(3))," \
	" " TS("s.created_at") ", " TS("s.updated_at") ", " TS("s.ready_at") \
	", " TS("s.expires_at")

static const char *const status_names[] = {
	"provisioning", "ready", "failed", "destroyed",
};

const char *
sandbox_status_name(enum sandbox_status st)
{
	return (unsigned)st < 4 ? status_names[st] : "unknown";
}

void
sandbox_env_ad(const struct sandbox *sb, unsigned char ad[SANDBOX_AD_LEN])
{
	memcpy(ad, "modbox/sbx-env/1", 16);	/* purpose and version */
	memcpy(ad + 16, sb->workspace_id.b, 16);
	memcpy(ad + 32, sb->id.b, 16);
}

struct row {
	char status[16];
	long long ttl, attempts, age;
};

static void
bind_cols(struct db_query *q, struct sandbox *sb, struct row *row)
{
	db_col_bin(q, sb->id.b, 16);
	db_col_bin(q, sb->workspace_id.b, 16);
	db_col_str(q, sb->task_id, sizeof sb->task_id);
	db_col_bin(q, sb->image_id.b, 16);
	db_col_str(q, sb->image, sizeof sb->image);
	db_col_str(q, sb->tag, sizeof sb->tag);
	db_col_bin(q, sb->registry_id.b, 16);
	db_col_str(q, row->status, sizeof row->status);
	db_col_int(q, &row->ttl);
	db_col_str(q, sb->image_digest, sizeof sb->image_digest);
	db_col_str(q, sb->error_code, sizeof sb->error_code);
	db_col_str(q, sb->error_message, sizeof sb->error_message);
	db_col_int(q, &row->attempts);
	db_col_int(q, &row->age);
	db_col_str(q, sb->created_at, sizeof sb->created_at);
	db_col_str(q, sb->updated_at, sizeof sb->updated_at);
	db_col_str(q, sb->ready_at, sizeof sb->ready_at);
	db_col_str(q, sb->expires_at, sizeof sb->expires_at);
}

static void
finish_row(const struct db_query *q, struct sandbox *sb, const struct row *row)
{
	sb->has_registry = !db_col_null(q, 6);
	sb->status = SB_PROVISIONING;
	for (unsigned i = 0; i < 4; i++)
		if (strcmp(row->status, status_names[i]) == 0)
			sb->status = (enum sandbox_status)i;
	sb->ttl_seconds = (unsigned)row->ttl;
	sb->attempts = (unsigned)row->attempts;
	sb->retry_age_s = db_col_null(q, 13) ? 0 : row->age;
}

/* Run a one-row SELECT of COLS with the parameters already bound. */
static enum db_status
fetch_one(struct db_query *q, struct sandbox *out)
{
	struct row row;
	enum db_status st;

	bind_cols(q, out, &row);
	if ((st = db_query_exec(q)) != DB_OK)
		return st;
	if ((st = db_query_fetch(q)) == DB_OK)
		finish_row(q, out, &row);
	db_query_done(q);
	return st;
}

static const char sql_delete_destroyed[] =
    "DELETE FROM sandboxes WHERE workspace_id = ? AND task_id = ? AND status = 'destroyed'";
static const char sql_insert[] =
    "INSERT INTO sandboxes (id, workspace_id, task_id, image_id, image, tag,"
    " registry_id, status, ttl_seconds, env_ct, env_nonce, env_tag, env_key_id,"
    " next_attempt_at, created_at, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, 'provisioning', ?, ?, ?, ?, ?, UTC_TIMESTAMP(3), ?, ?)";

static enum db_status
insert(struct db *db, const struct sandbox *sb, const struct sealed *env)
{
	struct db_query q;
	enum db_status st;

	db_query_init(&q, db, sql_insert);
	db_param_bin(&q, sb->id.b, 16);
	db_param_bin(&q, sb->workspace_id.b, 16);
	db_param_str(&q, sb->task_id);
	db_param_bin(&q, sb->image_id.b, 16);
	db_param_str(&q, sb->image);
	db_param_str(&q, sb->tag);
	if (sb->has_registry)
		db_param_bin(&q, sb->registry_id.b, 16);
	else
		db_param_str(&q, NULL);
	db_param_int(&q, sb->ttl_seconds);
	if (env != NULL) {
		db_param_bin(&q, env->ct ? (const void *)env->ct : "", env->ct_len);
		db_param_bin(&q, env->nonce, sizeof env->nonce);
		db_param_bin(&q, env->tag, sizeof env->tag);
		db_param_int(&q, env->key_id);
	} else {
		for (int i = 0; i < 4; i++)
			db_param_str(&q, NULL);
	}
	db_param_time(&q, sb->created_at);
	db_param_time(&q, sb->created_at);	/* updated_at */
	st = db_query_exec(&q);
	db_query_done(&q);
	return st;
}

/*
 * Each statement commits on its own: the insert first (the unique key
 * decides who wins a race for a task_id; a loser gets DB_DUPLICATE, never
 * a deadlock), and only when the task_id is taken, the removal of a
 * destroyed sandbox holding it and one more insert.
 */
enum db_status
store_sandbox_provision(struct db *db, const struct sandbox *sb,
                        const struct sealed *env)
{
	struct db_query q;
	enum db_status st;

	if ((st = insert(db, sb, env)) != DB_DUPLICATE)
		return st;
	db_query_init(&q, db, sql_delete_destroyed);
	db_param_bin(&q, sb->workspace_id.b, 16);
	db_param_str(&q, sb->task_id);
	st = db_query_exec(&q);
	if (st == DB_OK && db_query_affected(&q) == 0)
		st = DB_DUPLICATE;	/* held by a sandbox not destroyed */
	db_query_done(&q);
	if (st != DB_OK)
		return st;
	return insert(db, sb, env);
}

static const char sql_get[] =
    "SELECT " COLS " FROM sandboxes s WHERE s.workspace_id = ? AND s.task_id = ?";

enum db_status
store_sandbox_get(struct db *db, const struct uuid *ws, const char *task_id,
                  struct sandbox *out)
{
	struct db_query q;

	db_query_init(&q, db, sql_get);
	db_param_bin(&q, ws->b, 16);
	db_param_str(&q, task_id);
	return fetch_one(&q, out);
}

#define LIST_HEAD "SELECT " COLS " FROM sandboxes s WHERE s.workspace_id = ? AND s.id > ?"
#define LIST_TAIL " ORDER BY s.id LIMIT ?"
static const char sql_list_all[] = LIST_HEAD LIST_TAIL;
static const char sql_list_status[] = LIST_HEAD " AND s.status = ?" LIST_TAIL;

struct list_ctx {
	struct sandbox sb;
	struct row row;
	void (*fn)(const struct sandbox *, void *);
	void *arg;
};

static void
list_row(const struct db_query *q, void *p)
{
	struct list_ctx *c = p;

	finish_row(q, &c->sb, &c->row);
	c->fn(&c->sb, c->arg);
}

enum db_status
store_sandbox_list(struct db *db, const struct uuid *ws,
                   const struct sandbox_filter *f,
                   void (*fn)(const struct sandbox *, void *), void *arg,
                   bool *more)
{
	static const struct uuid zero;
	struct list_ctx c = { .fn = fn, .arg = arg };
	struct db_query q;

	db_query_init(&q, db, f->status >= 0 ? sql_list_status : sql_list_all);
	db_param_bin(&q, ws->b, 16);
	db_param_bin(&q, (f->after ? f->after : &zero)->b, 16);
	if (f->status >= 0)
		db_param_str(&q, sandbox_status_name((enum sandbox_status)f->status));
	db_param_int(&q, (long long)f->limit + 1);
	bind_cols(&q, &c.sb, &c.row);
	return db_query_page(&q, f->limit, list_row, &c, more);
}

static const char sql_destroy[] =
    "UPDATE sandboxes SET status = 'destroyed', lease_owner = NULL,"
    " lease_until = NULL, updated_at = UTC_TIMESTAMP()"
    " WHERE workspace_id = ? AND task_id = ? AND status <> 'destroyed'";

enum db_status
store_sandbox_destroy(struct db *db, const struct uuid *ws, const char *task_id,
                      struct sandbox *out)
{
	struct db_query q;
	enum db_status st;

	db_query_init(&q, db, sql_destroy);
	db_param_bin(&q, ws->b, 16);
	db_param_str(&q, task_id);
	st = db_query_exec(&q);
	db_query_done(&q);
	if (st != DB_OK)
		return st;
	return store_sandbox_get(db, ws, task_id, out);
}

static const char sql_claim_pick[] =
    "SELECT s.id FROM sandboxes s WHERE s.status = 'provisioning'"
    " AND s.next_attempt_at <= UTC_TIMESTAMP(3)"
    " AND (s.lease_until IS NULL OR s.lease_until < UTC_TIMESTAMP(3))"
    " ORDER BY s.next_attempt_at, s.id LIMIT 1 FOR UPDATE SKIP LOCKED";
static const char sql_claim_take[] =
    "UPDATE sandboxes SET lease_owner = ?,"
    " lease_until = UTC_TIMESTAMP(3) + INTERVAL ? SECOND,"
    " attempts = attempts + 1,"
    " first_attempt_at = COALESCE(first_attempt_at, UTC_TIMESTAMP(3))"
    " WHERE id = ?";
static const char sql_get_id[] = "SELECT " COLS " FROM sandboxes s WHERE s.id = ?";

enum db_status
store_sandbox_claim(struct db *db, const char *owner, unsigned lease_seconds,
                    struct sandbox *out)
{
	struct db_query q;
	struct uuid id;
	enum db_status st;

	if ((st = db_begin(db)) != DB_OK)
		return st;
	db_query_init(&q, db, sql_claim_pick);
	db_col_bin(&q, id.b, 16);
	if ((st = db_query_exec(&q)) != DB_OK)
		goto fail;
	st = db_query_fetch(&q);
	db_query_done(&q);
	if (st != DB_OK)
		goto fail;
	db_query_init(&q, db, sql_claim_take);
	db_param_str(&q, owner);
	db_param_int(&q, lease_seconds);
	db_param_bin(&q, id.b, 16);
	st = db_query_exec(&q);
	db_query_done(&q);
	if (st != DB_OK)
		goto fail;
	db_query_init(&q, db, sql_get_id);
	db_param_bin(&q, id.b, 16);
	if ((st = fetch_one(&q, out)) != DB_OK)
		goto fail;
	return db_commit(db);
fail:
	db_rollback(db);
	return st;
}

/* Run an UPDATE guarded by (id, owner, provisioning); DB_NOT_FOUND when it
 * touched nothing. */
static enum db_status
guarded(struct db_query *q)
{
	enum db_status st = db_query_exec(q);

	if (st == DB_OK && db_query_affected(q) == 0)
		st = DB_NOT_FOUND;
	db_query_done(q);
	return st;
}

#define GUARD " WHERE id = ? AND lease_owner = ? AND status = 'provisioning'"

static const char sql_renew[] =
    "UPDATE sandboxes SET lease_until = UTC_TIMESTAMP(3) + INTERVAL ? SECOND" GUARD;

enum db_status
store_sandbox_renew(struct db *db, const struct uuid *id, const char *owner,
                    unsigned lease_seconds)
{
	struct db_query q;

	db_query_init(&q, db, sql_renew);
	db_param_int(&q, lease_seconds);
	db_param_bin(&q, id->b, 16);
	db_param_str(&q, owner);
	return guarded(&q);
}

static const char sql_ready[] =
    "UPDATE sandboxes SET status = 'ready', image_digest = ?, error_code = NULL,"
    " error_message = NULL, lease_owner = NULL, lease_until = NULL,"
    " ready_at = UTC_TIMESTAMP(),"
    " expires_at = UTC_TIMESTAMP() + INTERVAL ttl_seconds SECOND,"
    " updated_at = UTC_TIMESTAMP()" GUARD;

enum db_status
store_sandbox_ready(struct db *db, const struct uuid *id, const char *owner,
                    const char *digest)
{
	struct db_query q;

	db_query_init(&q, db, sql_ready);
	db_param_str(&q, digest);
	db_param_bin(&q, id->b, 16);
	db_param_str(&q, owner);
	return guarded(&q);
}

static const char sql_failed[] =
    "UPDATE sandboxes SET status = 'failed', error_code = ?, error_message = ?,"
    " lease_owner = NULL, lease_until = NULL, updated_at = UTC_TIMESTAMP()" GUARD;

enum db_status
store_sandbox_failed(struct db *db, const struct uuid *id, const char *owner,
                     const char *code, const char *message)
{
	struct db_query q;

	db_query_init(&q, db, sql_failed);
	db_param_str(&q, code);
	db_param_strn(&q, message, strnlen(message, 512));
	db_param_bin(&q, id->b, 16);
	db_param_str(&q, owner);
	return guarded(&q);
}

static const char sql_release[] =
    "UPDATE sandboxes SET lease_owner = NULL, lease_until = NULL,"
    " attempts = attempts - ?,"
    " next_attempt_at = UTC_TIMESTAMP(3) + INTERVAL ? MICROSECOND" GUARD;

enum db_status
store_sandbox_release(struct db *db, const struct uuid *id, const char *owner,
                      unsigned delay_ms, bool uncount_attempt)
{
	struct db_query q;

	db_query_init(&q, db, sql_release);
	db_param_int(&q, uncount_attempt ? 1 : 0);
	db_param_int(&q, (long long)delay_ms * 1000);
	db_param_bin(&q, id->b, 16);
	db_param_str(&q, owner);
	return guarded(&q);
}

static const char sql_expire[] =
    "UPDATE sandboxes SET status = 'destroyed', updated_at = UTC_TIMESTAMP()"
    " WHERE status = 'ready' AND expires_at <= UTC_TIMESTAMP() LIMIT 500";

enum db_status
store_sandbox_expire(struct db *db, unsigned long long *n)
{
	struct db_query q;
	enum db_status st;

	db_query_init(&q, db, sql_expire);
	st = db_query_exec(&q);
	*n = st == DB_OK ? db_query_affected(&q) : 0;
	db_query_done(&q);
	return st;
}
