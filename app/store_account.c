/*
 * store_account: see store_account.h.  Every statement for these four
 * tables is here.
 */
#include "store_account.h"

#include <string.h>

#include "b64.h"
#include "crypto.h"

#define TS(col) "DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%sZ')"

static const char *const role_names[] = { NULL, "viewer", "member", "admin", "owner" };

enum role
role_parse(const char *s)
{
	for (int r = ROLE_VIEWER; r <= ROLE_OWNER; r++)
		if (strcmp(s, role_names[r]) == 0)
			return (enum role)r;
	return ROLE_NONE;
}

const char *
role_name(enum role r)
{
	return r >= ROLE_VIEWER && r <= ROLE_OWNER ? role_names[r] : "none";
}

bool
api_key_well_formed(const char *s, size_t len)
{
	size_t plen = sizeof API_KEY_PREFIX - 1;

	if (len < plen + 43 || len > API_KEY_TEXT_MAX ||
	    memcmp(s, API_KEY_PREFIX, plen) != 0)
		return false;
	for (size_t i = plen; i < len; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

void
api_key_hash(const char *s, size_t len, unsigned char out[32])
{
	crypto_sha256(s, len, out);
}

static const char sql_auth[] =
    "SELECT k.user_id, m.role FROM api_keys k"
    " LEFT JOIN memberships m ON m.user_id = k.user_id AND m.workspace_id = ?"
    " WHERE k.key_hash = ? AND k.revoked_at IS NULL";

enum db_status
store_auth(struct db *db, const unsigned char hash[32], const struct uuid *ws,
           struct uuid *user, enum role *role)
{
	static const struct uuid none;
	struct db_query q;
	enum db_status st;
	char rolebuf[16];

	*role = ROLE_NONE;
	db_query_init(&q, db, sql_auth);
	db_param_bin(&q, (ws ? ws : &none)->b, 16);
	db_param_bin(&q, hash, 32);
	db_col_bin(&q, user->b, 16);
	db_col_str(&q, rolebuf, sizeof rolebuf);
	if ((st = db_query_exec(&q)) != DB_OK)
		return st;
	st = db_query_fetch(&q);
	if (st == DB_OK && ws != NULL && !db_col_null(&q, 1))
		*role = role_parse(rolebuf);
	db_query_done(&q);
	return st;
}

static const char sql_workspace_insert[] =
    "INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, UTC_TIMESTAMP())";
static const char sql_user_insert[] =
    "INSERT INTO users (id, name, created_at) VALUES (?, ?, UTC_TIMESTAMP())";

static enum db_status
insert_named(struct db *db, const char *sql, const char *name, struct uuid *id)
{
	struct db_query q;
	enum db_status st;

	uuid_v7(id);
	db_query_init(&q, db, sql);
	db_param_bin(&q, id->b, 16);
	db_param_str(&q, name);
	st = db_query_exec(&q);
	db_query_done(&q);
	return st;
}

enum db_status
store_workspace_create(struct db *db, const char *name, struct uuid *id)
{
	return insert_named(db, sql_workspace_insert, name, id);
}

enum db_status
store_user_create(struct db *db, const char *name, struct uuid *id)
{
	return insert_named(db, sql_user_insert, name, id);
}

static const char sql_member_upsert[] =
    "INSERT INTO memberships (workspace_id, user_id, role, created_at)"
    " VALUES (?, ?, ?, UTC_TIMESTAMP()) ON DUPLICATE KEY UPDATE role = VALUES(role)";

enum db_status
store_member_set(struct db *db, const struct uuid *ws, const struct uuid *user,
                 enum role role)
{
	struct db_query q;
	enum db_status st;

	db_query_init(&q, db, sql_member_upsert);
	db_param_bin(&q, ws->b, 16);
	db_param_bin(&q, user->b, 16);
	db_param_str(&q, role_name(role));
	st = db_query_exec(&q);
	db_query_done(&q);
	return st;
}

static const char sql_key_insert[] =
    "INSERT INTO api_keys (id, user_id, key_hash, created_at)"
    " VALUES (?, ?, ?, UTC_TIMESTAMP())";

enum db_status
store_key_create(struct db *db, const struct uuid *user, char *key,
                 size_t keycap, struct uuid *id)
{
	unsigned char raw[API_KEY_RANDOM], hash[32];
	size_t plen = sizeof API_KEY_PREFIX - 1;
	struct db_query q;
	enum db_status st;

	if (keycap < plen + b64url_encoded_len(sizeof raw) + 1)
		return DB_ERROR;
	crypto_random(raw, sizeof raw);
	memcpy(key, API_KEY_PREFIX, plen);
	b64url_encode(raw, sizeof raw, key + plen);
	crypto_wipe(raw, sizeof raw);
	api_key_hash(key, strlen(key), hash);
	uuid_v7(id);
	db_query_init(&q, db, sql_key_insert);
	db_param_bin(&q, id->b, 16);
	db_param_bin(&q, user->b, 16);
	db_param_bin(&q, hash, sizeof hash);
	st = db_query_exec(&q);
	db_query_done(&q);
	if (st != DB_OK)
		crypto_wipe(key, keycap);
	return st;
}

static const char sql_key_revoke_id[] =
    "UPDATE api_keys SET revoked_at = UTC_TIMESTAMP() WHERE id = ? AND revoked_at IS NULL";
static const char sql_key_revoke_hash[] =
    "UPDATE api_keys SET revoked_at = UTC_TIMESTAMP() WHERE key_hash = ? AND revoked_at IS NULL";

enum db_status
store_key_revoke(struct db *db, const struct uuid *id, const unsigned char *hash)
{
	struct db_query q;
	enum db_status st;

	db_query_init(&q, db, id ? sql_key_revoke_id : sql_key_revoke_hash);
	if (id)
		db_param_bin(&q, id->b, 16);
	else
		db_param_bin(&q, hash, 32);
	if ((st = db_query_exec(&q)) == DB_OK && db_query_affected(&q) == 0)
		st = DB_NOT_FOUND;
	db_query_done(&q);
	return st;
}

static const char sql_user_exists[] = "SELECT 1 FROM users WHERE id = ?";
static const char sql_key_list[] =
    "SELECT id, " TS("created_at") ", " TS("revoked_at")
    " FROM api_keys WHERE user_id = ? ORDER BY id";

enum db_status
store_key_list(struct db *db, const struct uuid *user,
               void (*fn)(const struct key_info *, void *), void *arg)
{
	struct db_query q;
	struct key_info ki;
	long long one;
	enum db_status st;

	db_query_init(&q, db, sql_user_exists);
	db_param_bin(&q, user->b, 16);
	db_col_int(&q, &one);
	if ((st = db_query_exec(&q)) != DB_OK)
		return st;
	st = db_query_fetch(&q);
	db_query_done(&q);
	if (st != DB_OK)
		return st;

	db_query_init(&q, db, sql_key_list);
	db_param_bin(&q, user->b, 16);
	db_col_bin(&q, ki.id.b, 16);
	db_col_str(&q, ki.created_at, sizeof ki.created_at);
	db_col_str(&q, ki.revoked_at, sizeof ki.revoked_at);
	if ((st = db_query_exec(&q)) != DB_OK)
		return st;
	while ((st = db_query_fetch(&q)) == DB_OK)
		fn(&ki, arg);
	db_query_done(&q);
	return st == DB_NOT_FOUND ? DB_OK : st;
}
