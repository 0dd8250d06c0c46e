/*
 * migrate: the numbered schema migrations of sql/, compiled in by
 * sql/embed.sh, applied in order and recorded in schema_migrations.
 * A named lock keeps two concurrent runs from interleaving; a migration
 * already recorded is skipped, so running it again changes nothing.
 */
#ifndef MODBOX_MIGRATE_H
#define MODBOX_MIGRATE_H

#include "db.h"

struct migration {
	unsigned version;
	const char *name;
	const char *sql;	/* statements, each ending with ';' at end of line */
};

extern const struct migration migrations[];
extern const unsigned n_migrations;

/* Apply what is missing.  Sets *version to the schema version after the
 * run.  DB_OK, or the failure (logged, with the migration's name). */
enum db_status migrate_run(struct db *db, unsigned *version);

#endif
