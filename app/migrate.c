/*
 * migrate: see migrate.h.  MariaDB commits DDL implicitly, so a migration
 * is not atomic: each one is written so that it fails early (CREATE TABLE)
 * rather than half-way, and its row in schema_migrations is written only
 * after every statement succeeded.
 */
#include "migrate.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

static const char sql_create_table[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INT UNSIGNED NOT NULL PRIMARY KEY,"
    " name VARCHAR(128) NOT NULL,"
    " applied_at DATETIME NOT NULL"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";
static const char sql_lock[] = "SELECT GET_LOCK('modbox_migrate', 60)";
static const char sql_unlock[] = "SELECT RELEASE_LOCK('modbox_migrate')";
static const char sql_applied[] = "SELECT version FROM schema_migrations WHERE version = ?";
static const char sql_record[] =
    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, UTC_TIMESTAMP())";

static enum db_status
select_int(struct db *db, const char *sql, long long *out)
{
	struct db_query q;
	enum db_status st;

	db_query_init(&q, db, sql);
	db_col_int(&q, out);
	if ((st = db_query_exec(&q)) != DB_OK)
		return st;
	st = db_query_fetch(&q);
	db_query_done(&q);
	return st;
}

/* Run each ';'-terminated statement of one migration. */
static enum db_status
apply(struct db *db, const struct migration *m)
{
	const char *p = m->sql;
	char *stmt = malloc(strlen(m->sql) + 1);
	size_t n = 0;
	enum db_status st = DB_OK;

	if (stmt == NULL)
		return DB_ERROR;
	while (*p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t full = eol ? (size_t)(eol - p) : strlen(p);
		size_t len = full;
		const char *q = p;

		while (*q == ' ' || *q == '\t')
			q++;
		if (!(q[0] == '-' && q[1] == '-')) {	/* skip comment lines */
			memcpy(stmt + n, p, len);
			n += len;
			stmt[n++] = '\n';
		}
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t' ||
		    p[len - 1] == '\r'))
			len--;
		if (len > 0 && p[len - 1] == ';') {
			stmt[n] = '\0';
			if ((st = db_exec_simple(db, stmt)) != DB_OK) {
				log_error("migration %s failed", m->name);
				break;
			}
			n = 0;
		}
		p += full + (eol != NULL);
	}
	free(stmt);
	return st;
}

enum db_status
migrate_run(struct db *db, unsigned *version)
{
	enum db_status st;
	long long got = 0;

	*version = 0;
	if ((st = db_exec_simple(db, sql_create_table)) != DB_OK)
		return st;
	if ((st = select_int(db, sql_lock, &got)) != DB_OK || got != 1) {
		log_error("could not take the migration lock");
		return st != DB_OK ? st : DB_UNAVAILABLE;
	}
	for (unsigned i = 0; i < n_migrations && st == DB_OK; i++) {
		const struct migration *m = &migrations[i];
		struct db_query q;
		long long v;

		db_query_init(&q, db, sql_applied);
		db_param_int(&q, m->version);
		db_col_int(&q, &v);
		if ((st = db_query_exec(&q)) != DB_OK)
			break;
		st = db_query_fetch(&q);
		db_query_done(&q);
		if (st == DB_OK) {
			*version = m->version;
			continue;
		}
		if (st != DB_NOT_FOUND)
			break;
		if ((st = apply(db, m)) != DB_OK)
			break;
		db_query_init(&q, db, sql_record);
		db_param_int(&q, m->version);
		db_param_str(&q, m->name);
		if ((st = db_query_exec(&q)) != DB_OK)
			break;
		db_query_done(&q);
		log_info("applied migration %s", m->name);
		*version = m->version;
	}
	(void)select_int(db, sql_unlock, &got);
	return st;
}
