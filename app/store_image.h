/*
 * store_image: every statement on the sandbox_images table.
 *
 * A global image has no workspace (workspace_id NULL): it is listed in
 * every workspace and readable by every caller, never written through the
 * API.  Item reads join the caller's membership in the image's workspace,
 * as for registries.
 */
#ifndef MODBOX_STORE_IMAGE_H
#define MODBOX_STORE_IMAGE_H

#include <stdbool.h>

#include "db.h"
#include "imageref.h"
#include "server.h"
#include "store_account.h"
#include "uuid.h"

#define IMAGE_NAME_MAX 128		/* characters */
#define IMAGE_DESCRIPTION_MAX 1024	/* characters */

struct sandbox_image {
	struct uuid id;
	bool global;			/* no workspace: workspace_id unset */
	struct uuid workspace_id;
	char name[IMAGE_NAME_MAX * 4 + 1];
	char image[IMAGEREF_NAME_MAX + 1];	/* as the user gave it */
	char image_host[SERVER_MAX + 1];	/* server_key of its registry host */
	char tag[IMAGEREF_TAG_MAX + 1];
	bool has_registry;
	struct uuid registry_id;
	bool has_description;
	char description[IMAGE_DESCRIPTION_MAX * 4 + 1];
	long long memory_mb;		/* -1: null (the platform's default) */
	long long ttl_seconds;		/* -1: null */
	long long readiness_port;	/* -1: null */
	bool enabled;
	char created_at[32];
	char updated_at[32];
};

/* DB_DUPLICATE: the name is taken in the workspace. */
enum db_status store_image_create(struct db *db, const struct sandbox_image *img);

/* Load image id with user's role in its workspace (ROLE_NONE for a
 * global image or a non-member).  DB_NOT_FOUND: no such image. */
enum db_status store_image_get(struct db *db, const struct uuid *id,
                               const struct uuid *user, bool for_update,
                               struct sandbox_image *out, enum role *role);

/* Write every mutable field and updated_at.  DB_DUPLICATE: name taken. */
enum db_status store_image_update(struct db *db, const struct sandbox_image *img);

/* DB_NOT_FOUND when nothing was deleted (global images never are). */
enum db_status store_image_delete(struct db *db, const struct uuid *id);

struct image_filter {
	const struct uuid *registry_id;	/* NULL: any */
	bool enabled_only;
	const struct uuid *after;	/* NULL: from the start */
	unsigned limit;
};

/* The global images and those of ws, in id order (globals first). */
enum db_status store_image_list(struct db *db, const struct uuid *ws,
                                const struct image_filter *f,
                                void (*fn)(const struct sandbox_image *, void *),
                                void *arg, bool *more);

/* How many images linked to registry_id name a host whose key is not
 * host_key (the images a server change would strand). */
enum db_status store_image_count_other_host(struct db *db,
                                            const struct uuid *registry_id,
                                            const char *host_key,
                                            unsigned long long *count);

/* The image (as stored) of one sandbox image linked to registry_id, for
 * a scoped verify.  DB_NOT_FOUND when none is linked. */
enum db_status store_image_linked_one(struct db *db,
                                      const struct uuid *registry_id,
                                      char *image, size_t cap);

#endif
