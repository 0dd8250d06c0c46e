/*
 * pull: what the provisioner does with one claimed sandbox, and the
 * pieces POST /registries/{id}/verify shares with it: the outbound policy
 * from the config, and opening a registry's stored credentials.
 */
#ifndef MODBOX_PULL_H
#define MODBOX_PULL_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "crypto.h"
#include "db.h"
#include "regclient.h"
#include "store_registry.h"
#include "store_sandbox.h"

/* The outbound policy of cfg [pull].  verify: short total timeout. */
void pull_policy(const struct config *cfg, bool verify, struct reg_policy *pol);

/*
 * Decrypt reg's password (sealed pw) into secure memory and point creds at
 * it.  Returns 0, or -1 when it does not open (tampered, or sealed by a key
 * missing from the ring).  Release with pull_close_creds.
 */
int pull_open_creds(const struct keyring *ring, const struct registry *reg,
                    const struct sealed *pw, struct reg_creds *creds);
void pull_close_creds(struct reg_creds *creds);

/* The outcome of one attempt. */
struct pull_outcome {
	bool ok;
	bool transient;			/* worth another attempt */
	char code[40];			/* spec failure code */
	char message[512];
	char digest[80];		/* manifest digest when ok */
};

/* Pull sandbox sb's image with its registry's credentials into
 * cfg->pull.store_dir.  progress (may be NULL) is called about once a
 * second during transfers; non-zero cancels (a transient failure).  Never
 * logs or returns a secret. */
void pull_sandbox(struct db *db, const struct config *cfg,
                  const struct keyring *ring, const struct sandbox *sb,
                  int (*progress)(void *), void *progress_arg,
                  struct pull_outcome *out);

#endif
