/*
 * config: the INI file named by MODBOX_CONF, read by all three programs.
 *
 * Syntax: "[section]" headers, "key = value" lines, blank lines, and
 * comments starting with '#' or ';' at the start of a line (after optional
 * blanks).  Whitespace around keys and values is trimmed; a value may be
 * wrapped in double quotes to keep leading/trailing blanks.  Every key
 * belongs to a known section; an unknown section or key, a duplicate key,
 * a key before any section, a malformed line, or a value of the wrong form
 * (number out of range, boolean not true/false/yes/no/on/off/1/0) is an
 * error.  The error text is one line: "FILE:LINE: problem".
 */
#ifndef MODBOX_CONFIG_H
#define MODBOX_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct config_database {
	char *host;		/* default "127.0.0.1" */
	unsigned port;		/* default 3306, 1-65535 */
	char *socket;		/* NULL unless set; wins over host/port */
	char *user;		/* default "modbox" */
	char *password;		/* NULL unless set; a secret: wiped on free */
	char *name;		/* default "modbox" */
};

struct config_crypto {
	char *key_file;		/* NULL unless set; programs needing keys check */
};

struct config_http {
	size_t max_body_bytes;	/* default 65536, 1 .. 16 MiB */
	char *base_path;	/* NULL unless set: URL prefix the app is mounted
				 * under, e.g. "/api/modbox.fcgi" */
	unsigned wait_max_seconds; /* default 20, 0-300: the longest a
				 * POST /sandboxes/wait holds a FastCGI process */
};

struct config_pull {
	char *store_dir;	/* NULL unless set */
	char *ca_file;		/* NULL unless set */
	char **insecure_registries; /* n_insecure strings, host[:port], lowercased */
	size_t n_insecure;
	bool allow_private_networks; /* default false */
	char *platform;		/* default "linux/amd64" */
	unsigned retry_seconds;	/* default 30 */
	unsigned concurrency;	/* default 4, 1-64 */
	unsigned lease_seconds;	/* default 900, 10-86400: how long a claimed
				 * sandbox stays with a provisioner that went silent */
	unsigned poll_ms;	/* default 500, 10-60000: idle poll interval */
};

struct config {
	char *path;		/* the file it was read from */
	struct config_database database;
	struct config_crypto crypto;
	struct config_http http;
	struct config_pull pull;
};

/* The file named by $MODBOX_CONF, else the compiled-in default. */
const char *config_default_path(void);

/* Fill cfg with the defaults above.  Returns 0, or -1 on out of memory. */
int config_init(struct config *cfg);

/* Parse len bytes of text (need not be NUL-terminated) named `name` in
 * messages, on top of the values already in cfg (call config_init first).
 * Returns 0 on success; on failure returns -1 and writes one line
 * "NAME:LINE: problem" into err (errlen bytes). */
int config_parse(struct config *cfg, const char *text, size_t len,
                 const char *name, char *err, size_t errlen);

/* config_init + read the file + config_parse.  A file that cannot be read
 * is an error "PATH: reason". */
int config_load(struct config *cfg, const char *path, char *err, size_t errlen);

/* Free everything; wipes the database password.  Accepts a zeroed struct. */
void config_free(struct config *cfg);

#endif
