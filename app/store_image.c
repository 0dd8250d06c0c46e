/*
 * store_image: see store_image.h.
 */
#include "store_image.h"

#include <string.h>

#define TS(col) "DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%sZ')"
#define COLS "i.id, i.workspace_id, i.name, i.image, i.image_host, i.tag," \
	" i.registry_id, i.description, i.memory_mb, i.ttl_seconds," \
	" i.readiness_port, i.enabled, " TS("i.created_at") ", " TS("i.updated_at")
#define NCOLS 14

/* Result buffers for COLS that are not strings of the struct. */
struct row {
	long long memory_mb, ttl_seconds, readiness_port, enabled;
};

static void
bind_cols(struct db_query *q, struct sandbox_image *img, struct row *row)
{
	db_col_bin(q, img->id.b, 16);
	db_col_bin(q, img->workspace_id.b, 16);
	db_col_str(q, img->name, sizeof img->name);
	db_col_str(q, img->image, sizeof img->image);
	db_col_str(q, img->image_host, sizeof img->image_host);
	db_col_str(q, img->tag, sizeof img->tag);
	db_col_bin(q, img->registry_id.b, 16);
	db_col_str(q, img->description, sizeof img->description);
	db_col_int(q, &row->memory_mb);
	db_col_int(q, &row->ttl_seconds);
	db_col_int(q, &row->readiness_port);
	db_col_int(q, &row->enabled);
	db_col_str(q, img->created_at, sizeof img->created_at);
	db_col_str(q, img->updated_at, sizeof img->updated_at);
}

static void
finish_row(const struct db_query *q, struct sandbox_image *img,
           const struct row *row)
{
	img->global = db_col_null(q, 1);
	if (img->global)
		memset(&img->workspace_id, 0, sizeof img->workspace_id);
	img->has_registry = !db_col_null(q, 6);
	img->has_description = !db_col_null(q, 7);
	img->memory_mb = db_col_null(q, 8) ? -1 : row->memory_mb;
	img->ttl_seconds = db_col_null(q, 9) ? -1 : row->ttl_seconds;
	img->readiness_port = db_col_null(q, 10) ? -1 : row->readiness_port;
	img->enabled = row->enabled != 0;
}

static void
param_opt_int(struct db_query *q, long long v)
{
	if (v < 0)
		db_param_str(q, NULL);
	else
		db_param_int(q, v);
}


/* name, image, image_host, tag, registry_id, description, memory_mb,
 * ttl_seconds, readiness_port, enabled: the columns a write sets. */
static void
bind_fields(struct db_query *q, const struct sandbox_image *img)
{
	db_param_str(q, img->name);
	db_param_str(q, img->image);
	db_param_str(q, img->image_host);
	db_param_str(q, img->tag);
	if (img->has_registry)
		db_param_bin(q, img->registry_id.b, 16);
	else
		db_param_str(q, NULL);
	db_param_str(q, img->has_description ? img->description : NULL);
	param_opt_int(q, img->memory_mb);
	param_opt_int(q, img->ttl_seconds);
	param_opt_int(q, img->readiness_port);
	db_param_int(q, img->enabled);
}

static const char sql_insert[] =
    "INSERT INTO sandbox_images (name, image, image_host, tag, registry_id,"
    " description, memory_mb, ttl_seconds, readiness_port, enabled, id,"
    " workspace_id, created_at, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

enum db_status
store_image_create(struct db *db, const struct sandbox_image *img)
{
	struct db_query q;
	enum db_status st;

	db_query_init(&q, db, sql_insert);
	bind_fields(&q, img);
	db_param_bin(&q, img->id.b, 16);
	db_param_bin(&q, img->workspace_id.b, 16);
	db_param_time(&q, img->created_at);
	db_param_time(&q, img->updated_at);
	st = db_query_exec(&q);
	db_query_done(&q);
	return st;
}

static const char sql_get[] =
    "SELECT " COLS ", m.role FROM sandbox_images i"
    " LEFT JOIN memberships m ON m.workspace_id = i.workspace_id AND m.user_id = ?"
    " WHERE i.id = ?";
static const char sql_get_locked[] =
    "SELECT " COLS ", m.role FROM sandbox_images i"
    " LEFT JOIN memberships m ON m.workspace_id = i.workspace_id AND m.user_id = ?"
    " WHERE i.id = ? FOR UPDATE";

enum db_status
store_image_get(struct db *db, const struct uuid *id, const struct uuid *user,
                bool for_update, struct sandbox_image *out, enum role *role)
{
	struct db_query q;
	struct row row;
	char rolebuf[16];
	enum db_status st;

	*role = ROLE_NONE;
	db_query_init(&q, db, for_update ? sql_get_locked : sql_get);
	db_param_bin(&q, user->b, 16);
	db_param_bin(&q, id->b, 16);
	bind_cols(&q, out, &row);
	db_col_str(&q, rolebuf, sizeof rolebuf);
	if ((st = db_query_exec(&q)) != DB_OK)
		return st;
	if ((st = db_query_fetch(&q)) == DB_OK) {
		finish_row(&q, out, &row);
		if (!db_col_null(&q, NCOLS))
			*role = role_parse(rolebuf);
	}
	db_query_done(&q);
	return st;
}

static const char sql_update[] =
    "UPDATE sandbox_images SET name = ?, image = ?, image_host = ?, tag = ?,"
    " registry_id = ?, description = ?, memory_mb = ?, ttl_seconds = ?,"
    " readiness_port = ?, enabled = ?, updated_at = ?"
    " WHERE id = ? AND workspace_id IS NOT NULL";

enum db_status
store_image_update(struct db *db, const struct sandbox_image *img)
{
	struct db_query q;
	enum db_status st;

	db_query_init(&q, db, sql_update);
	bind_fields(&q, img);
	db_param_time(&q, img->updated_at);
	db_param_bin(&q, img->id.b, 16);
	st = db_query_exec(&q);
	db_query_done(&q);
	return st;
}

static const char sql_delete[] =
    "DELETE FROM sandbox_images WHERE id = ? AND workspace_id IS NOT NULL";

enum db_status
store_image_delete(struct db *db, const struct uuid *id)
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

/* Globals and the workspace's images, in id order; one statement per
 * filter combination.  The two halves of the OR are each an index range
 * of sandbox_images_list. */
#define LIST_HEAD "SELECT " COLS " FROM sandbox_images i" \
	" WHERE (i.workspace_id = ? OR i.workspace_id IS NULL) AND i.id > ?"
#define LIST_TAIL " ORDER BY i.id LIMIT ?"
static const char *const sql_list[2][2] = {
	{ LIST_HEAD LIST_TAIL,
	  LIST_HEAD " AND i.enabled" LIST_TAIL },
	{ LIST_HEAD " AND i.registry_id = ?" LIST_TAIL,
	  LIST_HEAD " AND i.registry_id = ? AND i.enabled" LIST_TAIL },
};

struct list_ctx {
	struct sandbox_image img;
	struct row row;
	void (*fn)(const struct sandbox_image *, void *);
	void *arg;
};

static void
list_row(const struct db_query *q, void *p)
{
	struct list_ctx *c = p;

	finish_row(q, &c->img, &c->row);
	c->fn(&c->img, c->arg);
}

enum db_status
store_image_list(struct db *db, const struct uuid *ws,
                 const struct image_filter *f,
                 void (*fn)(const struct sandbox_image *, void *), void *arg,
                 bool *more)
{
	static const struct uuid zero;
	struct list_ctx c = { .fn = fn, .arg = arg };
	struct db_query q;

	db_query_init(&q, db, sql_list[f->registry_id != NULL][f->enabled_only]);
	db_param_bin(&q, ws->b, 16);
	db_param_bin(&q, (f->after ? f->after : &zero)->b, 16);
	if (f->registry_id)
		db_param_bin(&q, f->registry_id->b, 16);
	db_param_int(&q, (long long)f->limit + 1);
	bind_cols(&q, &c.img, &c.row);
	return db_query_page(&q, f->limit, list_row, &c, more);
}

static const char sql_count_other[] =
    "SELECT COUNT(*) FROM sandbox_images WHERE registry_id = ? AND image_host <> ?";

enum db_status
store_image_count_other_host(struct db *db, const struct uuid *registry_id,
                             const char *host_key, unsigned long long *count)
{
	struct db_query q;
	long long n = 0;
	enum db_status st;

	db_query_init(&q, db, sql_count_other);
	db_param_bin(&q, registry_id->b, 16);
	db_param_str(&q, host_key);
	db_col_int(&q, &n);
	if ((st = db_query_exec(&q)) != DB_OK)
		return st;
	st = db_query_fetch(&q);
	db_query_done(&q);
	*count = (unsigned long long)n;
	return st;
}

static const char sql_linked_one[] =
    "SELECT image FROM sandbox_images WHERE registry_id = ? ORDER BY id LIMIT 1";

enum db_status
store_image_linked_one(struct db *db, const struct uuid *registry_id,
                       char *image, size_t cap)
{
	struct db_query q;
	enum db_status st;

	db_query_init(&q, db, sql_linked_one);
	db_param_bin(&q, registry_id->b, 16);
	db_col_str(&q, image, cap);
	if ((st = db_query_exec(&q)) != DB_OK)
		return st;
	st = db_query_fetch(&q);
	db_query_done(&q);
	return st;
}
