/*
 * store_registry: every statement on the registries table.
 *
 * Item reads join the caller's membership in the item's own workspace, so
 * "does it exist" and "may this user see it" are one round trip and one
 * answer.  Lists are keyset-paginated on the id (UUIDv7: creation order).
 */
#ifndef MODBOX_STORE_REGISTRY_H
#define MODBOX_STORE_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto.h"
#include "db.h"
#include "server.h"
#include "store_account.h"
#include "uuid.h"

#define REGISTRY_NAME_MAX 128		/* characters */
#define REGISTRY_USERNAME_MAX 255	/* characters */
#define REGISTRY_EMAIL_MAX 254		/* characters */
#define REGISTRY_PASSWORD_MAX 16384	/* bytes */

struct registry {
	struct uuid id;
	struct uuid workspace_id;
	char name[REGISTRY_NAME_MAX * 4 + 1];
	char server[SERVER_MAX + 1];
	char username[REGISTRY_USERNAME_MAX * 4 + 1];
	char email[REGISTRY_EMAIL_MAX * 4 + 1];
	bool has_email;			/* email is NULL when false */
	bool enabled;
	uint32_t key_id;		/* master key that sealed the password */
	char created_at[32];		/* RFC 3339 UTC */
	char updated_at[32];
};

/* Associated data bound into a registry password's ciphertext. */
#define REGISTRY_AD_LEN 48
void registry_secret_ad(const struct registry *r,
                        unsigned char ad[REGISTRY_AD_LEN]);

/* Insert r (id, workspace_id, created_at and updated_at set by the
 * caller, so the answer shows what is stored) with its sealed password.
 * DB_DUPLICATE: the name is taken in the workspace. */
enum db_status store_registry_create(struct db *db, const struct registry *r,
                                     const struct sealed *pw);

/* Load registry id with user's role in its workspace (ROLE_NONE when not
 * a member).  for_update locks the row (call inside a transaction).
 * DB_NOT_FOUND: no such registry. */
enum db_status store_registry_get(struct db *db, const struct uuid *id,
                                  const struct uuid *user, bool for_update,
                                  struct registry *out, enum role *role);

/* Load registry id with its sealed password (pw->ct malloc'd: release
 * with sealed_clear), for the provisioner and verify.  DB_NOT_FOUND. */
enum db_status store_registry_get_sealed(struct db *db, const struct uuid *id,
                                         struct registry *out,
                                         struct sealed *pw);

/* Write every mutable field of r (name, server, username, email,
 * enabled, updated_at) and, when pw is not NULL, the new sealed password.
 * DB_DUPLICATE: name taken. */
enum db_status store_registry_update(struct db *db, const struct registry *r,
                                     const struct sealed *pw);

/* DB_NOT_FOUND when nothing was deleted. */
enum db_status store_registry_delete(struct db *db, const struct uuid *id);

struct registry_filter {
	const char *server_key;		/* NULL: any server */
	int enabled;			/* -1 any, 0, 1 */
	const struct uuid *after;	/* NULL: from the start */
	unsigned limit;			/* rows wanted; one more is fetched */
};

/* Call fn for up to f->limit registries of ws in id order; sets *more when
 * further rows exist. */
enum db_status store_registry_list(struct db *db, const struct uuid *ws,
                                   const struct registry_filter *f,
                                   void (*fn)(const struct registry *, void *),
                                   void *arg, bool *more);

/* For key rotation and checks: call fn with each registry's id,
 * workspace and sealed password, in id order, in batches (not one long
 * transaction).  fn returns 0 to go on. */
enum db_status store_registry_each_secret(struct db *db,
    int (*fn)(const struct registry *, const struct sealed *, void *),
    void *arg);

/* Replace the sealed password of r->id only if it still is `old` (same
 * nonce): a concurrent PUT with a new password wins.  DB_NOT_FOUND when
 * the row changed or vanished. */
enum db_status store_registry_reseal(struct db *db, const struct uuid *id,
                                     const struct sealed *old,
                                     const struct sealed *pw);

#endif
