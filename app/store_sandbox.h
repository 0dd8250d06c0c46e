/*
 * store_sandbox: every statement on the sandboxes table: the API's reads
 * and writes, and the provisioners' queue (claim with SKIP LOCKED and a
 * lease, finish, retry later, hand back, expire).
 */
#ifndef MODBOX_STORE_SANDBOX_H
#define MODBOX_STORE_SANDBOX_H

#include <stdbool.h>

#include "crypto.h"
#include "db.h"
#include "imageref.h"
#include "uuid.h"

#define TASK_ID_MAX 128

enum sandbox_status { SB_PROVISIONING = 0, SB_READY, SB_FAILED, SB_DESTROYED };

struct sandbox {
	struct uuid id;
	struct uuid workspace_id;
	char task_id[TASK_ID_MAX + 1];
	struct uuid image_id;
	char image[IMAGEREF_NAME_MAX + 1];	/* copied from the image at provision */
	char tag[IMAGEREF_TAG_MAX + 1];
	bool has_registry;
	struct uuid registry_id;
	enum sandbox_status status;
	unsigned ttl_seconds;
	char image_digest[81];			/* "" until ready */
	char error_code[41];			/* "" unless failed */
	char error_message[513];
	unsigned attempts;
	long long retry_age_s;			/* seconds since the first attempt (claim only) */
	char created_at[32];
	char updated_at[32];
	char ready_at[32];			/* "" when not (yet) ready */
	char expires_at[32];			/* "" when not ready */
};

const char *sandbox_status_name(enum sandbox_status st);

/* Associated data bound into a sandbox's sealed env_vars. */
#define SANDBOX_AD_LEN 48
void sandbox_env_ad(const struct sandbox *sb, unsigned char ad[SANDBOX_AD_LEN]);

/* Insert sb (status provisioning), replacing a destroyed sandbox of the
 * same task_id; not inside a transaction (each statement commits).  env
 * may be NULL.  DB_DUPLICATE: the task_id is in use by a sandbox not
 * destroyed. */
enum db_status store_sandbox_provision(struct db *db, const struct sandbox *sb,
                                       const struct sealed *env);

/* By workspace and task_id.  DB_NOT_FOUND: none. */
enum db_status store_sandbox_get(struct db *db, const struct uuid *ws,
                                 const char *task_id, struct sandbox *out);

struct sandbox_filter {
	const struct uuid *after;
	unsigned limit;
	int status;			/* -1: any, else an enum sandbox_status */
};

enum db_status store_sandbox_list(struct db *db, const struct uuid *ws,
                                  const struct sandbox_filter *f,
                                  void (*fn)(const struct sandbox *, void *),
                                  void *arg, bool *more);

/* Mark destroyed (from any status; an already destroyed sandbox is left
 * as it is) and reload into out.  DB_NOT_FOUND: no such sandbox. */
enum db_status store_sandbox_destroy(struct db *db, const struct uuid *ws,
                                     const char *task_id, struct sandbox *out);

/* --- the provisioners' side --- */

/* Claim the next provisioning sandbox that is due and not leased, for
 * lease_seconds, as owner.  Counts the attempt.  DB_NOT_FOUND: no work. */
enum db_status store_sandbox_claim(struct db *db, const char *owner,
                                   unsigned lease_seconds, struct sandbox *out);
/* Extend the lease while a pull goes on.  DB_NOT_FOUND: lease lost
 * (destroyed meanwhile, or taken over after the lease ran out). */
enum db_status store_sandbox_renew(struct db *db, const struct uuid *id,
                                   const char *owner, unsigned lease_seconds);
/* Record the outcome, only if the sandbox is still provisioning and
 * leased by owner (a DELETE meanwhile wins).  DB_NOT_FOUND otherwise. */
enum db_status store_sandbox_ready(struct db *db, const struct uuid *id,
                                   const char *owner, const char *digest);
enum db_status store_sandbox_failed(struct db *db, const struct uuid *id,
                                    const char *owner, const char *code,
                                    const char *message);
/* Give the sandbox back to the queue, due after delay_ms (0: now). */
enum db_status store_sandbox_release(struct db *db, const struct uuid *id,
                                     const char *owner, unsigned delay_ms,
                                     bool uncount_attempt);
/* Move ready sandboxes whose TTL ran out to destroyed; *n = how many. */
enum db_status store_sandbox_expire(struct db *db, unsigned long long *n);

#endif
