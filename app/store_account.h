/*
 * store_account: the SQL for workspaces, users, memberships and API keys,
 * and the two questions every request asks: whose key is this, and what
 * role does that user hold in a workspace.
 */
#ifndef MODBOX_STORE_ACCOUNT_H
#define MODBOX_STORE_ACCOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "db.h"
#include "uuid.h"

enum role { ROLE_NONE = 0, ROLE_VIEWER, ROLE_MEMBER, ROLE_ADMIN, ROLE_OWNER };

/* "owner" ... "viewer" → role; ROLE_NONE for anything else. */
enum role role_parse(const char *s);
const char *role_name(enum role r);

#define API_KEY_PREFIX "mbx_"
#define API_KEY_RANDOM 32	/* bytes */
#define API_KEY_TEXT_MAX 200	/* longest key text accepted */

/* True when s (len bytes) has the form of an API key: "mbx_" and 43 to
 * API_KEY_TEXT_MAX-4 base64url characters.  Checked before any lookup. */
bool api_key_well_formed(const char *s, size_t len);
/* The SHA-256 of a key's text, the only form stored. */
void api_key_hash(const char *s, size_t len, unsigned char out[32]);

/* Look up an unrevoked key by hash and, in the same query, the user's role
 * in workspace ws (ws may be NULL: *role is then ROLE_NONE).  DB_NOT_FOUND
 * for an unknown or revoked key. */
enum db_status store_auth(struct db *db, const unsigned char hash[32],
                          const struct uuid *ws, struct uuid *user,
                          enum role *role);

enum db_status store_workspace_create(struct db *db, const char *name,
                                      struct uuid *id);
enum db_status store_user_create(struct db *db, const char *name,
                                 struct uuid *id);
/* Add user to ws with role, or change the role of an existing member.
 * DB_NOT_FOUND when the workspace or the user does not exist. */
enum db_status store_member_set(struct db *db, const struct uuid *ws,
                                const struct uuid *user, enum role role);
/* Make a key for user: writes the new key text (NUL-terminated) into
 * key (keycap >= 48) and its id into *id.  DB_NOT_FOUND: no such user. */
enum db_status store_key_create(struct db *db, const struct uuid *user,
                                char *key, size_t keycap, struct uuid *id);
/* Revoke by id or by hash (exactly one non-NULL).  DB_NOT_FOUND when no
 * unrevoked key matches. */
enum db_status store_key_revoke(struct db *db, const struct uuid *id,
                                const unsigned char *hash);

struct key_info {
	struct uuid id;
	char created_at[32];
	char revoked_at[32];	/* "" when not revoked */
};
/* Call fn for each key of user, oldest first.  DB_NOT_FOUND: no such user. */
enum db_status store_key_list(struct db *db, const struct uuid *user,
                              void (*fn)(const struct key_info *, void *),
                              void *arg);

#endif
