/*
 * db: one MariaDB connection per process, prepared statements cached on it,
 * and a small binding layer so store modules state their SQL and columns
 * without repeating MYSQL_BIND boilerplate.
 *
 * Failures are classified, not hidden: a lost connection (2006, 2013, ...)
 * marks the connection broken and answers DB_UNAVAILABLE; the next
 * db_query_exec reconnects by itself (MYSQL_OPT_RECONNECT is never used).
 * A read outside a transaction is retried once on a fresh connection; a
 * write never is, so no write is applied twice and none is acknowledged
 * unless the server acknowledged it.
 */
#ifndef MODBOX_DB_H
#define MODBOX_DB_H

#include <stdbool.h>
#include <stddef.h>

#include <mysql.h>

#include "config.h"

enum db_status {
	DB_OK = 0,
	DB_NOT_FOUND,		/* no (more) rows; FK parent missing on insert */
	DB_DUPLICATE,		/* unique key clash */
	DB_UNAVAILABLE,		/* server gone, lock wait timeout: try later */
	DB_DEADLOCK,		/* the server rolled the transaction back (deadlock):
				 * the whole transaction may be run again */
	DB_ERROR,		/* anything else (logged where it happened) */
};

struct db;

/* A handle for cfg (borrowed: must outlive the handle).  Does not connect
 * yet.  NULL on out of memory. */
struct db *db_new(const struct config_database *cfg);
void db_free(struct db *db);

/* Connect now if not connected.  DB_OK or DB_UNAVAILABLE (logged). */
enum db_status db_connect(struct db *db);

/* Transactions: BEGIN / COMMIT / ROLLBACK.  A failed COMMIT is
 * DB_UNAVAILABLE: the caller must not acknowledge the write. */
enum db_status db_begin(struct db *db);
enum db_status db_commit(struct db *db);
void db_rollback(struct db *db);

/* Run a statement without parameters or results (DDL, migrations). */
enum db_status db_exec_simple(struct db *db, const char *sql);

#define DB_MAX_COLS 20

/* One execution of a prepared statement.  Declare it on the stack, add
 * parameters in order, then result columns in order, then exec, fetch rows,
 * done.  The sql pointer identifies the cached statement: pass a string
 * constant. */
struct db_query {
	struct db *db;
	const char *sql;
	MYSQL_STMT *stmt;
	unsigned nparam, ncol;
	MYSQL_BIND param[DB_MAX_COLS];
	unsigned long param_len[DB_MAX_COLS];
	my_bool param_null[DB_MAX_COLS];
	long long param_int[DB_MAX_COLS];
	char param_time[DB_MAX_COLS][20];	/* "YYYY-MM-DD HH:MM:SS" */
	MYSQL_BIND col[DB_MAX_COLS];
	unsigned long col_len[DB_MAX_COLS];
	my_bool col_null[DB_MAX_COLS];
	my_bool col_err[DB_MAX_COLS];
	bool col_is_str[DB_MAX_COLS];
	bool failed;		/* too many binds: exec answers DB_ERROR */
	bool owned;		/* stmt is not cached: done closes it */
};

void db_query_init(struct db_query *q, struct db *db, const char *sql);
/* Parameters (the pointed-to data must live until db_query_exec). */
void db_param_bin(struct db_query *q, const void *p, size_t n);
void db_param_str(struct db_query *q, const char *s); /* NULL binds NULL */
void db_param_strn(struct db_query *q, const char *s, size_t n);
void db_param_int(struct db_query *q, long long v);
/* A DATETIME given as the API shows times, "2026-11-30T02:43:14Z" (RFC
 * 3339 UTC, seconds); the query keeps the converted text. */
void db_param_time(struct db_query *q, const char *rfc3339);
/* Result columns.  bin: up to cap bytes; str: up to cap-1 bytes then NUL;
 * int: a signed 64-bit integer. */
void db_col_bin(struct db_query *q, void *buf, size_t cap);
void db_col_str(struct db_query *q, char *buf, size_t cap);
void db_col_int(struct db_query *q, long long *out);

/* Prepare (or reuse), bind, execute, buffer the result set. */
enum db_status db_query_exec(struct db_query *q);
/* Next row: DB_OK, DB_NOT_FOUND at the end, DB_ERROR on truncation. */
enum db_status db_query_fetch(struct db_query *q);
bool db_col_null(const struct db_query *q, unsigned col);
size_t db_col_len(const struct db_query *q, unsigned col);
unsigned long long db_query_affected(const struct db_query *q);
/* Keyset pages: execute q (whose SQL asks for limit + 1 rows), call
 * row(q, arg) for each of the first limit rows (the bound columns hold
 * it), set *more when a further row exists, and release the result. */
enum db_status db_query_page(struct db_query *q, unsigned limit,
                             void (*row)(const struct db_query *, void *),
                             void *arg, bool *more);
/* Release the result set.  Always call after a successful exec. */
void db_query_done(struct db_query *q);

#endif
