/*
 * store_registry: see store_registry.h.
 */
#include "store_registry.h"

#include <stdlib.h>
#include <string.h>

#define TS(col) "DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%sZ')"
#define COLS "r.id, r.workspace_id, r.name, r.server, r.username, r.email," \
	" r.enabled, r.key_id, " TS("r.created_at") ", " TS("r.updated_at")

void
registry_secret_ad(const struct registry *r, unsigned char ad[REGISTRY_AD_LEN])
{
	memcpy(ad, "modbox/registry1", 16);	/* purpose and version */
	memcpy(ad + 16, r->workspace_id.b, 16);
	memcpy(ad + 32, r->id.b, 16);
}

/* The columns of COLS, in order, into r.  Returns the number bound. */
static void
bind_cols(struct db_query *q, struct registry *r, long long *enabled,
          long long *key_id)
{
	db_col_bin(q, r->id.b, 16);
	db_col_bin(q, r->workspace_id.b, 16);
	db_col_str(q, r->name, sizeof r->name);
	db_col_str(q, r->server, sizeof r->server);
	db_col_str(q, r->username, sizeof r->username);
	db_col_str(q, r->email, sizeof r->email);
	db_col_int(q, enabled);
	db_col_int(q, key_id);
	db_col_str(q, r->created_at, sizeof r->created_at);
	db_col_str(q, r->updated_at, sizeof r->updated_at);
}

static void
finish_row(const struct db_query *q, struct registry *r, long long enabled,
           long long key_id)
{
	r->has_email = !db_col_null(q, 5);
	r->enabled = enabled != 0;
	r->key_id = (uint32_t)key_id;
}

/* The user-editable columns, in the order the statements list them:
 * name, server, server_key, username, email, enabled. */
static void
bind_fields(struct db_query *q, const struct registry *r)
{
	db_param_str(q, r->name);
	db_param_str(q, r->server);
	db_param_str(q, server_key(r->server));
	db_param_str(q, r->username);
	db_param_str(q, r->has_email ? r->email : NULL);
	db_param_int(q, r->enabled);
}

/* password_ct, password_nonce, password_tag, key_id. */
static void
bind_sealed(struct db_query *q, const struct sealed *pw)
{
	db_param_bin(q, pw->ct ? (const void *)pw->ct : "", pw->ct_len);
	db_param_bin(q, pw->nonce, sizeof pw->nonce);
	db_param_bin(q, pw->tag, sizeof pw->tag);
	db_param_int(q, pw->key_id);
}

static const char sql_insert[] =
    "INSERT INTO registries (id, workspace_id, name, server, server_key,"
    " username, email, enabled, password_ct, password_nonce, password_tag,"
    " key_id, created_at, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";


enum db_status
store_registry_create(struct db *db, const struct registry *r,
                      const struct sealed *pw)
{
	struct db_query q;
	enum db_status st;

	db_query_init(&q, db, sql_insert);
	db_param_bin(&q, r->id.b, 16);
	db_param_bin(&q, r->workspace_id.b, 16);
	bind_fields(&q, r);
	bind_sealed(&q, pw);
	db_param_time(&q, r->created_at);
	db_param_time(&q, r->updated_at);
	st = db_query_exec(&q);
	db_query_done(&q);
	return st;
}

static const char sql_get[] =
    "SELECT " COLS ", m.role FROM registries r"
    " LEFT JOIN memberships m ON m.workspace_id = r.workspace_id AND m.user_id = ?"
    " WHERE r.id = ?";
static const char sql_get_locked[] =
    "SELECT " COLS ", m.role FROM registries r"
    " LEFT JOIN memberships m ON m.workspace_id = r.workspace_id AND m.user_id = ?"
    " WHERE r.id = ? FOR UPDATE";

enum db_status
store_registry_get(struct db *db, const struct uuid *id, const struct uuid *user,
                   bool for_update, struct registry *out, enum role *role)
{
	struct db_query q;
	long long enabled, key_id;
	char rolebuf[16];
	enum db_status st;

	*role = ROLE_NONE;
	db_query_init(&q, db, for_update ? sql_get_locked : sql_get);
	db_param_bin(&q, user->b, 16);
	db_param_bin(&q, id->b, 16);
	bind_cols(&q, out, &enabled, &key_id);
	db_col_str(&q, rolebuf, sizeof rolebuf);
	if ((st = db_query_exec(&q)) != DB_OK)
		return st;
	if ((st = db_query_fetch(&q)) == DB_OK) {
		finish_row(&q, out, enabled, key_id);
		if (!db_col_null(&q, 10))
			*role = role_parse(rolebuf);
	}
	db_query_done(&q);
	return st;
}

static const char sql_get_sealed[] =
    "SELECT " COLS ", r.password_ct, r.password_nonce, r.password_tag"
    " FROM registries r WHERE r.id = ?";

enum db_status
store_registry_get_sealed(struct db *db, const struct uuid *id,
                          struct registry *out, struct sealed *pw)
{
	struct db_query q;
	long long enabled, key_id;
	enum db_status st;

	memset(pw, 0, sizeof *pw);
	if ((pw->ct = malloc(REGISTRY_PASSWORD_MAX)) == NULL)
		return DB_ERROR;
	db_query_init(&q, db, sql_get_sealed);
	db_param_bin(&q, id->b, 16);
	bind_cols(&q, out, &enabled, &key_id);
	db_col_bin(&q, pw->ct, REGISTRY_PASSWORD_MAX);
	db_col_bin(&q, pw->nonce, sizeof pw->nonce);
	db_col_bin(&q, pw->tag, sizeof pw->tag);
	if ((st = db_query_exec(&q)) == DB_OK) {
		if ((st = db_query_fetch(&q)) == DB_OK) {
			finish_row(&q, out, enabled, key_id);
			pw->key_id = out->key_id;
			pw->ct_len = db_col_len(&q, 10);
			if (db_col_len(&q, 11) != sizeof pw->nonce ||
			    db_col_len(&q, 12) != sizeof pw->tag)
				pw->key_id = 0;	/* cannot open: reported as such */
		}
		db_query_done(&q);
	}
	if (st != DB_OK)
		sealed_clear(pw);
	return st;
}

static const char sql_update[] =
    "UPDATE registries SET name = ?, server = ?, server_key = ?, username = ?,"
    " email = ?, enabled = ?, updated_at = ? WHERE id = ?";
static const char sql_update_pw[] =
    "UPDATE registries SET name = ?, server = ?, server_key = ?, username = ?,"
    " email = ?, enabled = ?, password_ct = ?, password_nonce = ?,"
    " password_tag = ?, key_id = ?, updated_at = ? WHERE id = ?";

enum db_status
store_registry_update(struct db *db, const struct registry *r,
                      const struct sealed *pw)
{
	struct db_query q;
	enum db_status st;

	db_query_init(&q, db, pw ? sql_update_pw : sql_update);
	bind_fields(&q, r);
	if (pw) {
		bind_sealed(&q, pw);
	}
	db_param_time(&q, r->updated_at);
	db_param_bin(&q, r->id.b, 16);
	st = db_query_exec(&q);
	db_query_done(&q);
	return st;
}

static const char sql_delete[] = "DELETE FROM registries WHERE id = ?";

enum db_status
store_registry_delete(struct db *db, const struct uuid *id)
{
	struct db_query q;
	enum db_status st;

	db_query_init(&q, db, sql_delete);
	db_param_bin(&q, id->b, 16);
	if ((st = db_query_exec(&q)) == DB_OK && db_query_affected(&q) == 0)
		st = DB_NOT_FOUND;
	db_query_done(&q);
	return st;
}

/* One statement per filter combination, so each can use its own index. */
#define LIST_HEAD "SELECT " COLS " FROM registries r WHERE r.workspace_id = ? AND r.id > ?"
#define LIST_TAIL " ORDER BY r.id LIMIT ?"
static const char *const sql_list[2][2] = {
	{ LIST_HEAD LIST_TAIL,
	  LIST_HEAD " AND r.enabled = ?" LIST_TAIL },
	{ LIST_HEAD " AND r.server_key = ?" LIST_TAIL,
	  LIST_HEAD " AND r.server_key = ? AND r.enabled = ?" LIST_TAIL },
};

struct list_ctx {
	struct registry r;
	long long enabled, key_id;
	void (*fn)(const struct registry *, void *);
	void *arg;
};

static void
list_row(const struct db_query *q, void *p)
{
	struct list_ctx *c = p;

	finish_row(q, &c->r, c->enabled, c->key_id);
	c->fn(&c->r, c->arg);
}

enum db_status
store_registry_list(struct db *db, const struct uuid *ws,
                    const struct registry_filter *f,
                    void (*fn)(const struct registry *, void *), void *arg,
                    bool *more)
{
	static const struct uuid zero;
	struct list_ctx c = { .fn = fn, .arg = arg };
	struct db_query q;

	db_query_init(&q, db, sql_list[f->server_key != NULL][f->enabled >= 0]);
	db_param_bin(&q, ws->b, 16);
	db_param_bin(&q, (f->after ? f->after : &zero)->b, 16);
	if (f->server_key)
		db_param_str(&q, f->server_key);
	if (f->enabled >= 0)
		db_param_int(&q, f->enabled);
	db_param_int(&q, (long long)f->limit + 1);
	bind_cols(&q, &c.r, &c.enabled, &c.key_id);
	return db_query_page(&q, f->limit, list_row, &c, more);
}

static const char sql_secrets[] =
    "SELECT r.id, r.workspace_id, r.password_ct, r.password_nonce,"
    " r.password_tag, r.key_id FROM registries r WHERE r.id > ?"
    " ORDER BY r.id LIMIT 100";

enum db_status
store_registry_each_secret(struct db *db,
    int (*fn)(const struct registry *, const struct sealed *, void *),
    void *arg)
{
	struct registry r;
	struct uuid after;
	struct sealed s;
	unsigned char *ct;
	long long key_id;
	enum db_status st = DB_OK;
	bool again = true;

	memset(&after, 0, sizeof after);
	memset(&r, 0, sizeof r);
	if ((ct = malloc(REGISTRY_PASSWORD_MAX)) == NULL)
		return DB_ERROR;
	while (again && st == DB_OK) {
		struct db_query q;
		unsigned n = 0;

		db_query_init(&q, db, sql_secrets);
		db_param_bin(&q, after.b, 16);
		db_col_bin(&q, r.id.b, 16);
		db_col_bin(&q, r.workspace_id.b, 16);
		db_col_bin(&q, ct, REGISTRY_PASSWORD_MAX);
		db_col_bin(&q, s.nonce, sizeof s.nonce);
		db_col_bin(&q, s.tag, sizeof s.tag);
		db_col_int(&q, &key_id);
		if ((st = db_query_exec(&q)) != DB_OK)
			break;
		while ((st = db_query_fetch(&q)) == DB_OK) {
			n++;
			after = r.id;
			if (db_col_len(&q, 3) != sizeof s.nonce ||
			    db_col_len(&q, 4) != sizeof s.tag)
				s.key_id = 0;	/* cannot open: reported as such */
			else
				s.key_id = (uint32_t)key_id;
			s.ct = ct;
			s.ct_len = db_col_len(&q, 2);
			if (fn(&r, &s, arg) != 0) {
				again = false;
				break;
			}
		}
		db_query_done(&q);
		if (st == DB_NOT_FOUND)
			st = DB_OK;
		if (n < 100)
			again = false;
	}
	crypto_wipe(ct, REGISTRY_PASSWORD_MAX);
	free(ct);
	return st;
}

static const char sql_reseal[] =
    "UPDATE registries SET password_ct = ?, password_nonce = ?, password_tag = ?,"
    " key_id = ? WHERE id = ? AND password_nonce = ?";

enum db_status
store_registry_reseal(struct db *db, const struct uuid *id,
                      const struct sealed *old, const struct sealed *pw)
{
	struct db_query q;
	enum db_status st;

	db_query_init(&q, db, sql_reseal);
	bind_sealed(&q, pw);
	db_param_bin(&q, id->b, 16);
	db_param_bin(&q, old->nonce, sizeof old->nonce);
	if ((st = db_query_exec(&q)) == DB_OK && db_query_affected(&q) == 0)
		st = DB_NOT_FOUND;
	db_query_done(&q);
	return st;
}
