/*
 * db: see db.h.  The connection lives for the whole process; prepared
 * statements are cached by the address of their SQL text (each store
 * module passes string constants), and the cache is dropped with the
 * connection.  Every error is logged here, once, with the server's error
 * number and text (never parameter values).
 */
#include "db.h"

#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include <errmsg.h>
#include <mysqld_error.h>

#include "log.h"

#ifndef DB_STMT_CACHE		/* -DDB_STMT_CACHE=2 exercises the uncached path */
#define DB_STMT_CACHE 64
#endif

struct db_cached {
	const char *sql;
	MYSQL_STMT *stmt;
};

struct db {
	const struct config_database *cfg;
	MYSQL *conn;		/* NULL while disconnected */
	bool in_tx;
	unsigned ncached;
	struct db_cached cache[DB_STMT_CACHE];
};

struct db *
db_new(const struct config_database *cfg)
{
	struct db *db = calloc(1, sizeof *db);

	if (db != NULL)
		db->cfg = cfg;
	return db;
}

static void
db_disconnect(struct db *db)
{
	for (unsigned i = 0; i < db->ncached; i++)
		mysql_stmt_close(db->cache[i].stmt);
	db->ncached = 0;
	if (db->conn != NULL)
		mysql_close(db->conn);
	db->conn = NULL;
	db->in_tx = false;
}

void
db_free(struct db *db)
{
	if (db == NULL)
		return;
	db_disconnect(db);
	free(db);
}

/* Errors that mean "the server or the connection is not there now". */
static bool
errno_is_connection(unsigned e)
{
	switch (e) {
	case CR_SERVER_GONE_ERROR:
	case CR_SERVER_LOST:
	case CR_CONNECTION_ERROR:
	case CR_CONN_HOST_ERROR:
	case CR_SERVER_LOST_EXTENDED:
	case CR_COMMANDS_OUT_OF_SYNC:
	case ER_SERVER_SHUTDOWN:
	case ER_CONNECTION_KILLED:
	case 4031:		/* ER_CLIENT_INTERACTION_TIMEOUT */
		return true;
	default:
		return false;
	}
}

static enum db_status
classify(struct db *db, unsigned e, const char *msg, const char *what)
{
	if (e == ER_DUP_ENTRY)
		return DB_DUPLICATE;
	if (e == ER_NO_REFERENCED_ROW_2)
		return DB_NOT_FOUND;
	if (errno_is_connection(e)) {
		log_warn("database connection lost during %s (%u: %s)", what, e, msg);
		db_disconnect(db);
		return DB_UNAVAILABLE;
	}
	if (e == ER_LOCK_DEADLOCK) {
		log_info("deadlock during %s: the transaction was rolled back", what);
		db->in_tx = false;
		return DB_DEADLOCK;
	}
	if (e == ER_LOCK_WAIT_TIMEOUT || e == ER_QUERY_INTERRUPTED) {
		log_warn("database busy during %s (%u: %s)", what, e, msg);
		return DB_UNAVAILABLE;
	}
	log_error("database error during %s (%u: %s)", what, e, msg);
	return DB_ERROR;
}

enum db_status
db_connect(struct db *db)
{
	const struct config_database *c = db->cfg;
	unsigned int timeout_connect = 3, timeout_rw = 30;
	my_bool no = 0;
	MYSQL *m;

	if (db->conn != NULL)
		return DB_OK;
	if ((m = mysql_init(NULL)) == NULL) {
		log_error("out of memory in mysql_init");
		return DB_ERROR;
	}
	mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout_connect);
	mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &timeout_rw);
	mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &timeout_rw);
	mysql_options(m, MYSQL_OPT_RECONNECT, &no);
	mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(m, MYSQL_INIT_COMMAND,
	    "SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES,"
	    "NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,"
	    "NO_ENGINE_SUBSTITUTION', innodb_lock_wait_timeout = 10");
	if (mysql_real_connect(m, c->socket ? NULL : c->host, c->user,
	    c->password, c->name, c->socket ? 0 : c->port, c->socket,
	    0) == NULL) {
		log_error("cannot connect to the database (%u: %s)",
		    mysql_errno(m), mysql_error(m));
		mysql_close(m);
		return DB_UNAVAILABLE;
	}
	db->conn = m;
	db->in_tx = false;
	return DB_OK;
}

static enum db_status
simple(struct db *db, const char *sql, const char *what)
{
	enum db_status st;

	if ((st = db_connect(db)) != DB_OK)
		return st;
	if (mysql_real_query(db->conn, sql, strlen(sql)) != 0)
		return classify(db, mysql_errno(db->conn),
		    mysql_error(db->conn), what);
	/* Statements run here return no rows; drain defensively. */
	do {
		MYSQL_RES *r = mysql_store_result(db->conn);
		if (r != NULL)
			mysql_free_result(r);
	} while (mysql_next_result(db->conn) == 0);
	return DB_OK;
}

enum db_status
db_exec_simple(struct db *db, const char *sql)
{
	return simple(db, sql, "a statement");
}

enum db_status
db_begin(struct db *db)
{
	enum db_status st = simple(db, "START TRANSACTION", "BEGIN");

	if (st == DB_OK)
		db->in_tx = true;
	return st;
}

enum db_status
db_commit(struct db *db)
{
	enum db_status st;

	if (db->conn == NULL)
		return DB_UNAVAILABLE;
	st = simple(db, "COMMIT", "COMMIT");
	db->in_tx = false;
	/* Any failure of COMMIT leaves the outcome unknown to us: report it
	 * as unavailable so nothing is acknowledged. */
	return st == DB_OK ? DB_OK : DB_UNAVAILABLE;
}

void
db_rollback(struct db *db)
{
	if (db->conn != NULL && db->in_tx)
		(void)simple(db, "ROLLBACK", "ROLLBACK");
	db->in_tx = false;
}

void
db_query_init(struct db_query *q, struct db *db, const char *sql)
{
	memset(q, 0, sizeof *q);
	q->db = db;
	q->sql = sql;
}

static MYSQL_BIND *
next_param(struct db_query *q)
{
	if (q->nparam >= DB_MAX_COLS) {
		q->failed = true;
		return NULL;
	}
	return &q->param[q->nparam++];
}

void
db_param_bin(struct db_query *q, const void *p, size_t n)
{
	MYSQL_BIND *b = next_param(q);

	if (b == NULL)
		return;
	q->param_len[b - q->param] = (unsigned long)n;
	b->buffer_type = MYSQL_TYPE_BLOB;
	b->buffer = (void *)p;
	b->buffer_length = (unsigned long)n;
	b->length = &q->param_len[b - q->param];
}

void
db_param_strn(struct db_query *q, const char *s, size_t n)
{
	MYSQL_BIND *b = next_param(q);

	if (b == NULL)
		return;
	if (s == NULL) {
		b->buffer_type = MYSQL_TYPE_NULL;
		return;
	}
	q->param_len[b - q->param] = (unsigned long)n;
	b->buffer_type = MYSQL_TYPE_STRING;
	b->buffer = (void *)s;
	b->buffer_length = (unsigned long)n;
	b->length = &q->param_len[b - q->param];
}

void
db_param_str(struct db_query *q, const char *s)
{
	db_param_strn(q, s, s ? strlen(s) : 0);
}

void
db_param_int(struct db_query *q, long long v)
{
	MYSQL_BIND *b = next_param(q);

	if (b == NULL)
		return;
	q->param_int[b - q->param] = v;
	b->buffer_type = MYSQL_TYPE_LONGLONG;
	b->buffer = &q->param_int[b - q->param];
}

void
db_param_time(struct db_query *q, const char *rfc3339)
{
	char *t;

	if (q->nparam >= DB_MAX_COLS) {
		q->failed = true;
		return;
	}
	t = q->param_time[q->nparam];
	memcpy(t, rfc3339, 19);
	t[10] = ' ';
	t[19] = '\0';
	db_param_strn(q, t, 19);
}

static MYSQL_BIND *
next_col(struct db_query *q)
{
	MYSQL_BIND *b;

	if (q->ncol >= DB_MAX_COLS) {
		q->failed = true;
		return NULL;
	}
	b = &q->col[q->ncol];
	b->length = &q->col_len[q->ncol];
	b->is_null = &q->col_null[q->ncol];
	b->error = &q->col_err[q->ncol];
	q->ncol++;
	return b;
}

void
db_col_bin(struct db_query *q, void *buf, size_t cap)
{
	MYSQL_BIND *b = next_col(q);

	if (b == NULL)
		return;
	b->buffer_type = MYSQL_TYPE_BLOB;
	b->buffer = buf;
	b->buffer_length = (unsigned long)cap;
}

void
db_col_str(struct db_query *q, char *buf, size_t cap)
{
	MYSQL_BIND *b = next_col(q);

	if (b == NULL)
		return;
	q->col_is_str[q->ncol - 1] = true;
	b->buffer_type = MYSQL_TYPE_STRING;
	b->buffer = buf;
	b->buffer_length = (unsigned long)(cap ? cap - 1 : 0);
	if (cap)
		buf[0] = '\0';
}

void
db_col_int(struct db_query *q, long long *out)
{
	MYSQL_BIND *b = next_col(q);

	if (b == NULL)
		return;
	b->buffer_type = MYSQL_TYPE_LONGLONG;
	b->buffer = out;
	*out = 0;
}

/* The statement for sql: from the cache, or prepared and cached.  When
 * the cache is full the statement is prepared for this query alone and
 * *owned is set: db_query_done closes it. */
static MYSQL_STMT *
prepare(struct db *db, const char *sql, unsigned *err, const char **msg,
        bool *owned)
{
	MYSQL_STMT *s;

	for (unsigned i = 0; i < db->ncached; i++)
		if (db->cache[i].sql == sql)
			return db->cache[i].stmt;
	if ((s = mysql_stmt_init(db->conn)) == NULL) {
		*err = mysql_errno(db->conn);
		*msg = mysql_error(db->conn);
		return NULL;
	}
	if (mysql_stmt_prepare(s, sql, strlen(sql)) != 0) {
		static char buf[256];

		*err = mysql_stmt_errno(s);
		snprintf(buf, sizeof buf, "%s", mysql_stmt_error(s));
		*msg = buf;
		mysql_stmt_close(s);
		return NULL;
	}
	*owned = db->ncached >= DB_STMT_CACHE;
	if (!*owned)
		db->cache[db->ncached++] = (struct db_cached){ sql, s };
	return s;
}

static enum db_status
exec_once(struct db_query *q)
{
	struct db *db = q->db;
	unsigned e = 0;
	const char *msg = "";
	enum db_status st;

	if ((st = db_connect(db)) != DB_OK)
		return st;
	if ((q->stmt = prepare(db, q->sql, &e, &msg, &q->owned)) == NULL)
		return classify(db, e, msg, "prepare");
	if (mysql_stmt_param_count(q->stmt) != q->nparam ||
	    (q->ncol && mysql_stmt_field_count(q->stmt) != q->ncol)) {
		log_error("statement binds %u/%u values, expects %lu/%u",
		    q->nparam, q->ncol, mysql_stmt_param_count(q->stmt),
		    mysql_stmt_field_count(q->stmt));
		db_query_done(q);
		return DB_ERROR;
	}
	if ((q->nparam && mysql_stmt_bind_param(q->stmt, q->param)) ||
	    mysql_stmt_execute(q->stmt) ||
	    (q->ncol && mysql_stmt_bind_result(q->stmt, q->col)) ||
	    (q->ncol && mysql_stmt_store_result(q->stmt))) {
		e = mysql_stmt_errno(q->stmt);
		st = classify(db, e, mysql_stmt_error(q->stmt), "a query");
		if (q->owned || db->conn != NULL)
			db_query_done(q);	/* else closed with the connection */
		q->stmt = NULL;
		return st;
	}
	return DB_OK;
}

enum db_status
db_query_exec(struct db_query *q)
{
	enum db_status st;
	bool was_connected = q->db->conn != NULL;
	bool was_in_tx = q->db->in_tx;

	if (q->failed) {
		log_error("too many bound values");
		return DB_ERROR;
	}
	st = exec_once(q);
	/* A read on a connection that had gone away (server restart, idle
	 * timeout) is safe to repeat once on a new connection. */
	if (st == DB_UNAVAILABLE && was_connected && !was_in_tx &&
	    q->db->conn == NULL && strncmp(q->sql, "SELECT", 6) == 0)
		st = exec_once(q);
	return st;
}

enum db_status
db_query_fetch(struct db_query *q)
{
	int r;

	if (q->stmt == NULL)
		return DB_ERROR;
	r = mysql_stmt_fetch(q->stmt);
	if (r == MYSQL_NO_DATA)
		return DB_NOT_FOUND;
	if (r == MYSQL_DATA_TRUNCATED) {
		log_error("a database value does not fit its buffer");
		return DB_ERROR;
	}
	if (r != 0)
		return classify(q->db, mysql_stmt_errno(q->stmt),
		    mysql_stmt_error(q->stmt), "fetch");
	for (unsigned i = 0; i < q->ncol; i++)
		if (q->col_is_str[i]) {
			char *buf = q->col[i].buffer;
			size_t n = q->col_null[i] ? 0 : q->col_len[i];
			buf[n] = '\0';
		}
	return DB_OK;
}

bool
db_col_null(const struct db_query *q, unsigned col)
{
	return col < q->ncol && q->col_null[col];
}

size_t
db_col_len(const struct db_query *q, unsigned col)
{
	return col < q->ncol && !q->col_null[col] ? q->col_len[col] : 0;
}

unsigned long long
db_query_affected(const struct db_query *q)
{
	return q->stmt ? (unsigned long long)mysql_stmt_affected_rows(q->stmt) : 0;
}

enum db_status
db_query_page(struct db_query *q, unsigned limit,
              void (*row)(const struct db_query *, void *), void *arg,
              bool *more)
{
	enum db_status st;
	unsigned n = 0;

	*more = false;
	if ((st = db_query_exec(q)) != DB_OK)
		return st;
	while ((st = db_query_fetch(q)) == DB_OK) {
		if (n == limit) {
			*more = true;
			continue;
		}
		row(q, arg);
		n++;
	}
	db_query_done(q);
	return st == DB_NOT_FOUND ? DB_OK : st;
}

void
db_query_done(struct db_query *q)
{
	if (q->stmt != NULL && q->owned)
		mysql_stmt_close(q->stmt);
	else if (q->stmt != NULL && q->db->conn != NULL)
		mysql_stmt_free_result(q->stmt);
	q->stmt = NULL;
	q->owned = false;
}
