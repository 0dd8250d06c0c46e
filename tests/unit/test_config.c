/*
 * test_config: config_parse, config_load and config_default_path against
 * small texts: defaults, every key, quoting, comments and line endings,
 * every kind of error (with its line number, on one line, never echoing
 * the password), and config_free after success and failure.
 */
#include "config.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef SYSCONFDIR
#define SYSCONFDIR "/usr/local/etc"
#endif

#define T "t.conf"

/* fails() on a literal that may hold NUL bytes */
#define FAILS_BIN(lit, line, want, what) fails(lit, sizeof(lit) - 1, line, want, what)

/* config_init + config_parse of a NUL-terminated text. */
static int
parse(struct config *cfg, const char *text, char *err, size_t errlen)
{
	if (config_init(cfg) < 0)
		return -2;
	return config_parse(cfg, text, strlen(text), T, err, errlen);
}

/* The text must fail at `line` with an error mentioning `want`. */
static void
fails(const char *text, size_t len, unsigned line, const char *want,
      const char *what)
{
	struct config cfg;
	char err[512], prefix[64];
	int rc;

	memset(err, 'x', sizeof err);
	config_init(&cfg);
	rc = config_parse(&cfg, text, len, T, err, sizeof err);
	snprintf(prefix, sizeof prefix, T ":%u: ", line);
	ok(rc == -1, "%s: fails", what);
	if (!ok(strncmp(err, prefix, strlen(prefix)) == 0 &&
	        strstr(err, want) != NULL && strchr(err, '\n') == NULL,
	        "%s: error names line %u and says '%s'", what, line, want))
		printf("#   got '%s'\n", err);
	config_free(&cfg);
}

/* config_parse of a further NUL-terminated text on top of cfg. */
static int
parse_more(struct config *cfg, const char *text, char *err, size_t errlen)
{
	return config_parse(cfg, text, strlen(text), T, err, errlen);
}

static void
fails_str(const char *text, unsigned line, const char *want, const char *what)
{
	fails(text, strlen(text), line, want, what);
}

static void
test_defaults(void)
{
	struct config cfg;

	is_int(config_init(&cfg), 0, "config_init succeeds");
	ok(cfg.path == NULL, "no path");
	is_str(cfg.database.host, "127.0.0.1", "default host");
	is_int(cfg.database.port, 3306, "default port");
	ok(cfg.database.socket == NULL, "no socket");
	is_str(cfg.database.user, "modbox", "default user");
	ok(cfg.database.password == NULL, "no password");
	is_str(cfg.database.name, "modbox", "default database name");
	ok(cfg.crypto.key_file == NULL, "no key_file");
	is_int(cfg.http.max_body_bytes, 65536, "default max_body_bytes");
	ok(cfg.http.base_path == NULL, "no base_path");
	ok(cfg.pull.store_dir == NULL, "no store_dir");
	ok(cfg.pull.ca_file == NULL, "no ca_file");
	ok(cfg.pull.insecure_registries == NULL && cfg.pull.n_insecure == 0,
	   "no insecure registries");
	ok(!cfg.pull.allow_private_networks, "private networks refused");
	is_str(cfg.pull.platform, "linux/amd64", "default platform");
	is_int(cfg.pull.retry_seconds, 30, "default retry_seconds");
	is_int(cfg.pull.concurrency, 4, "default concurrency");
	is_int(cfg.http.wait_max_seconds, 20, "default wait_max_seconds");
	is_int(cfg.pull.lease_seconds, 900, "default lease_seconds");
	is_int(cfg.pull.poll_ms, 500, "default poll_ms");
	config_free(&cfg);
	ok(cfg.database.host == NULL, "config_free zeroes the struct");
	config_free(&cfg);
	ok(1, "config_free twice is harmless");

	/* an empty text changes nothing */
	config_init(&cfg);
	is_int(config_parse(&cfg, "", 0, T, NULL, 0), 0, "empty text parses");
	is_int(config_parse(&cfg, NULL, 0, T, NULL, 0), 0, "NULL, 0 parses");
	is_str(cfg.database.host, "127.0.0.1", "empty text keeps defaults");
	config_free(&cfg);
}

static const char full[] =
	"# every key\n"
	"[database]\n"
	"host = db.example.org\n"
	"port = 3307\n"
	"socket = /run/mysqld/mysqld.sock\n"
	"user = svc\n"
	"password = S3cretPW\n"
	"name = modbox_prod\n"
	"\n"
	"[crypto]\n"
	"key_file = /etc/modbox/keys\n"
	"\n"
	"[http]\n"
	"max_body_bytes = 16777216\n"
	"base_path = /api/modbox.fcgi\n"
	"\n"
	"[pull]\n"
	"store_dir = /var/lib/modbox/store\n"
	"ca_file = /etc/ssl/certs/ca-certificates.crt\n"
	"insecure_registries =  Reg.Local:5000 , localhost,10.0.0.1:80\n"
	"allow_private_networks = Yes\n"
	"platform = linux/arm64/v8\n"
	"retry_seconds = 0\n"
	"concurrency = 64\n"
	"lease_seconds = 10\n"
	"poll_ms = 60000\n";

static void
test_full(void)
{
	struct config cfg;
	char err[256] = "";

	is_int(parse(&cfg, full, err, sizeof err), 0, "full file parses");
	is_str(err, "", "no error text");
	is_str(cfg.database.host, "db.example.org", "host");
	is_int(cfg.database.port, 3307, "port");
	is_str(cfg.database.socket, "/run/mysqld/mysqld.sock", "socket");
	is_str(cfg.database.user, "svc", "user");
	is_str(cfg.database.password, "S3cretPW", "password");
	is_str(cfg.database.name, "modbox_prod", "name");
	is_str(cfg.crypto.key_file, "/etc/modbox/keys", "key_file");
	is_int(cfg.http.max_body_bytes, 16777216, "max_body_bytes at its maximum");
	is_str(cfg.http.base_path, "/api/modbox.fcgi", "base_path");
	is_str(cfg.pull.store_dir, "/var/lib/modbox/store", "store_dir");
	is_str(cfg.pull.ca_file, "/etc/ssl/certs/ca-certificates.crt", "ca_file");
	is_int(cfg.pull.n_insecure, 3, "three insecure registries");
	if (cfg.pull.n_insecure == 3) {
		is_str(cfg.pull.insecure_registries[0], "reg.local:5000",
		       "registry trimmed and lowercased");
		is_str(cfg.pull.insecure_registries[1], "localhost", "second registry");
		is_str(cfg.pull.insecure_registries[2], "10.0.0.1:80", "third registry");
	}
	ok(cfg.pull.allow_private_networks, "allow_private_networks = Yes");
	is_str(cfg.pull.platform, "linux/arm64/v8", "platform with variant");
	is_int(cfg.pull.retry_seconds, 0, "retry_seconds 0");
	is_int(cfg.pull.concurrency, 64, "concurrency 64");
	is_int(cfg.pull.lease_seconds, 10, "lease_seconds 10");
	is_int(cfg.pull.poll_ms, 60000, "poll_ms 60000");

	/* a second text on top: its keys replace, no duplicate across texts */
	is_int(parse_more(&cfg, "[pull]\ninsecure_registries =\nplatform=linux/s390x\n"
	                  "[database]\npassword =\nport=1\n[http]\nbase_path=\n",
	                  err, sizeof err), 0,
	       "a second text parses on top");
	ok(cfg.pull.n_insecure == 0 && cfg.pull.insecure_registries == NULL,
	   "empty insecure_registries empties the list");
	is_str(cfg.pull.platform, "linux/s390x", "platform replaced");
	ok(cfg.database.password == NULL, "empty password unsets it");
	ok(cfg.http.base_path == NULL, "empty base_path unsets it");
	is_int(cfg.database.port, 1, "port 1");
	is_str(cfg.database.host, "db.example.org", "keys not named stay");
	config_free(&cfg);

	/* sections may reopen; every key there is still counted once */
	is_int(parse(&cfg, "[pull]\nconcurrency=1\n[http]\nmax_body_bytes=1\n"
	             "[pull]\nretry_seconds=86400\nallow_private_networks=off\n",
	             err, sizeof err), 0, "a section may appear twice");
	is_int(cfg.pull.concurrency, 1, "concurrency 1");
	is_int(cfg.http.max_body_bytes, 1, "max_body_bytes 1");
	is_int(cfg.pull.retry_seconds, 86400, "retry_seconds 86400");
	config_free(&cfg);
}

static void
test_bools(void)
{
	static const char *const yes[] = { "true", "TRUE", "yes", "On", "1" };
	static const char *const no[] = { "false", "False", "NO", "off", "0" };
	struct config cfg;
	char text[128], err[256];
	size_t i;

	for (i = 0; i < 5; i++) {
		snprintf(text, sizeof text, "[pull]\nallow_private_networks = %s\n", yes[i]);
		ok(parse(&cfg, text, err, sizeof err) == 0 &&
		   cfg.pull.allow_private_networks, "'%s' is true", yes[i]);
		config_free(&cfg);
		snprintf(text, sizeof text,
		         "[pull]\nallow_private_networks = \"%s\"\n", no[i]);
		config_init(&cfg);
		cfg.pull.allow_private_networks = true;
		ok(config_parse(&cfg, text, strlen(text), T, err, sizeof err) == 0 &&
		   !cfg.pull.allow_private_networks, "quoted '%s' is false", no[i]);
		config_free(&cfg);
	}
}

static void
test_quoting(void)
{
	struct config cfg;
	char err[256];

	is_int(parse(&cfg,
	             "[database]\n"
	             "password = \"  pass \\\"word\\\\ # ; x  \"\n"
	             "user = a\"b\\c\n"
	             "name = \"\"\"\n"	/* error: text after closing quote */
	             , err, sizeof err), -1, "text after a closing quote fails");
	is_str(cfg.database.password, "  pass \"word\\ # ; x  ",
	       "quoted value keeps blanks, \\\" and \\\\ unescape, # ; kept");
	is_str(cfg.database.user, "a\"b\\c", "unquoted value is literal");
	config_free(&cfg);

	is_int(parse(&cfg, "[database]\nuser = x # not a comment\n"
	             "password = ;semi\nhost = \"\t\"\nname=\"\\\\\"\n",
	             err, sizeof err), 0, "inline # and ; are part of values");
	is_str(cfg.database.user, "x # not a comment", "'#' kept in value");
	is_str(cfg.database.password, ";semi", "';' kept in value");
	is_str(cfg.database.host, "\t", "quoted tab");
	is_str(cfg.database.name, "\\", "quoted backslash");
	config_free(&cfg);

	is_int(parse(&cfg, "[database]\nport = \"3308\"\nsocket = \"\"\n",
	             err, sizeof err), 0, "quoted number, empty quoted string");
	is_int(cfg.database.port, 3308, "quoted number parses");
	ok(cfg.database.socket == NULL, "empty quoted optional string unsets");
	config_free(&cfg);

	is_int(parse(&cfg, "[database]\nuser = a=b = c\n", err, sizeof err), 0,
	       "value may hold '='");
	is_str(cfg.database.user, "a=b = c", "split on the first '='");
	config_free(&cfg);
}

static void
test_layout(void)
{
	static const char crlf[] =
		"\xef\xbb\xbf; BOM, then a comment\r\n"
		"\r\n"
		"  # indented comment\r\n"
		"\t[database]  \r\n"
		"[ database ]\r\n"
		"\thost\t=\tcrlf.example\t\r\n"
		"port=1234";	/* no final newline */
	struct config cfg;
	char err[256];

	is_int(parse(&cfg, crlf, err, sizeof err), 0, "BOM, CRLF, comments parse");
	is_str(cfg.database.host, "crlf.example", "CR and tabs trimmed");
	is_int(cfg.database.port, 1234, "last line without newline");
	config_free(&cfg);

	is_int(parse(&cfg, "\n\n\n", err, sizeof err), 0, "only blank lines");
	config_free(&cfg);

	/* a BOM elsewhere is not skipped */
	fails_str("\n\xef\xbb\xbf[database]\n", 2, "expected 'key = value'",
	          "BOM on line 2");
	fails_str("[database]\n\xef\xbb\xbfhost=x\n", 2, "unknown key '\\xef\\xbb\\xbfhost'",
	          "BOM before a key is echoed escaped");
}

static void
test_errors(void)
{
	char big[5000];

	fails_str("[nope]\n", 1, "unknown section [nope]", "unknown section");
	fails_str("[database]\n[Database]\n", 2, "unknown section [Database]",
	          "section names are case-sensitive");
	fails_str("[]\n", 1, "empty section name", "empty section");
	fails_str("[database\n", 1, "without closing ']'", "unclosed section");
	fails_str("[database] x\n", 1, "text after the section header",
	          "text after section");
	fails_str("[database]\n\nhots = x\n", 3,
	          "unknown key 'hots' in section [database]", "unknown key");
	fails_str("[http]\nport = 1\n", 2, "unknown key 'port' in section [http]",
	          "key of another section");
	fails_str("[database]\nport = 1\n[crypto]\nkey_file=a\n[database]\nport = 2\n",
	          6, "duplicate key 'port' in section [database]", "duplicate key");
	fails_str("host = x\n", 1, "before any [section]", "key outside a section");
	fails_str("[database]\nhost\n", 2, "expected 'key = value'", "line without '='");
	fails_str("[database]\n = x\n", 2, "empty key", "empty key");
	fails_str("[database]\nhost =\n", 2, "host must not be empty", "empty host");
	fails_str("[database]\nuser = \"\"\n", 2, "user must not be empty",
	          "quoted empty user");
	fails_str("[database]\nport = 0\n", 2, "port must be a decimal number from 1 to 65535",
	          "port 0");
	fails_str("[database]\nport = 65536\n", 2, "port must be", "port 65536");
	fails_str("[database]\nport = +80\n", 2, "port must be", "signed port");
	fails_str("[database]\nport = -1\n", 2, "port must be", "negative port");
	fails_str("[database]\nport = 0x50\n", 2, "port must be", "hex port");
	fails_str("[database]\nport = 8 0\n", 2, "port must be", "port with blank");
	fails_str("[database]\nport =\n", 2, "port must be", "empty port");
	fails_str("[database]\nport = 99999999999999999999999\n", 2, "port must be",
	          "huge port");
	fails_str("[http]\nmax_body_bytes = 16777217\n", 2,
	          "max_body_bytes must be a decimal number from 1 to 16777216",
	          "max_body_bytes too big");
	fails_str("[http]\nmax_body_bytes = 0\n", 2, "max_body_bytes must be",
	          "max_body_bytes 0");
	fails_str("[pull]\nretry_seconds = 86401\n", 2,
	          "retry_seconds must be a decimal number from 0 to 86400",
	          "retry_seconds too big");
	fails_str("[pull]\nconcurrency = 0\n", 2, "from 1 to 64", "concurrency 0");
	fails_str("[pull]\nconcurrency = 65\n", 2, "from 1 to 64", "concurrency 65");
	fails_str("[pull]\nlease_seconds = 9\n", 2, "from 10 to 86400", "lease_seconds 9");
	fails_str("[pull]\npoll_ms = 9\n", 2, "from 10 to 60000", "poll_ms 9");
	fails_str("[http]\nwait_max_seconds = 301\n", 2, "from 0 to 300", "wait_max_seconds 301");
	fails_str("[pull]\nallow_private_networks = maybe\n", 2,
	          "allow_private_networks must be true/false", "bad boolean");
	fails_str("[pull]\nallow_private_networks =\n", 2,
	          "allow_private_networks must be", "empty boolean");
	fails_str("[http]\nbase_path = api\n", 2, "base_path must start with '/'",
	          "relative base_path");
	fails_str("[http]\nbase_path = /api/\n", 2, "base_path must start with '/'",
	          "base_path ending in '/'");
	fails_str("[http]\nbase_path = /\n", 2, "base_path must", "base_path '/'");
	fails_str("[http]\nbase_path = /a b\n", 2, "base_path must", "base_path with blank");
	fails_str("[pull]\nplatform = linux\n", 2, "platform must be os/arch",
	          "platform without arch");
	fails_str("[pull]\nplatform = linux/amd64/v8/x\n", 2, "platform must be",
	          "platform with four parts");
	fails_str("[pull]\nplatform = Linux/amd64\n", 2, "platform must be",
	          "uppercase platform");
	fails_str("[pull]\nplatform = linux//amd64\n", 2, "platform must be",
	          "platform with empty part");
	fails_str("[pull]\nplatform = linux/amd64/\n", 2, "platform must be",
	          "platform ending in '/'");
	fails_str("[pull]\nplatform =\n", 2, "platform must be", "empty platform");
	fails_str("[pull]\ninsecure_registries = a,,b\n", 2,
	          "insecure_registries: empty item", "empty registry item");
	fails_str("[pull]\ninsecure_registries = a, \n", 2, "empty item",
	          "trailing comma");
	fails_str("[pull]\ninsecure_registries = ,a\n", 2, "empty item",
	          "leading comma");
	fails_str("[pull]\ninsecure_registries = a b\n", 2, "item 1 is not host[:port]",
	          "registry with blank");
	fails_str("[pull]\ninsecure_registries = ok, http://x\n", 2,
	          "item 2 is not host[:port]", "registry with scheme");
	fails_str("[database]\nuser = \"abc\n", 2, "no closing '\"'", "unclosed quote");
	fails_str("[database]\nuser = \"a\\nb\"\n", 2, "backslash", "unknown escape");
	fails_str("[database]\nuser = \"ab\\\"\n", 2, "no closing", "escaped last quote");
	fails_str("[database]\nuser = \"ab\\\n", 2, "backslash", "backslash at end");
	fails_str("[database]\nuser = \"a\" b\n", 2, "text after the closing",
	          "text after quote");
	FAILS_BIN("[database]\nhost = a\0b\n", 2, "NUL byte", "NUL byte in value");
	FAILS_BIN("[database]\n\0\n", 2, "NUL byte", "NUL byte alone");
	FAILS_BIN("[data\0base]\n", 1, "NUL byte", "NUL byte in header");
	FAILS_BIN("[database]\nhost = ok\n\0", 3, "NUL byte", "NUL byte as last byte");
	fails_str("[database]\nhost = a\rb\n", 2, "control character", "lone CR");
	fails_str("[database]\nhost = a\x1b[31m\n", 2, "control character", "escape byte");
	fails_str("[database]\nhost = a\r\r\n", 2, "control character", "CR CR LF");

	memset(big, 'a', sizeof big);
	memcpy(big, "[database]\nhost = ", 18);
	big[11 + 4096] = '\n';		/* line 2 is exactly 4096 bytes */
	big[11 + 4096 + 1] = '\0';
	{
		struct config cfg;
		char err[256];

		is_int(parse(&cfg, big, err, sizeof err), 0, "a 4096-byte line is fine");
		is_int(strlen(cfg.database.host), 4096 - 7, "long host kept");
		config_free(&cfg);
		big[11 + 4096] = '\r';	/* CR LF does not count */
		big[11 + 4096 + 1] = '\n';
		big[11 + 4096 + 2] = '\0';
		is_int(parse(&cfg, big, err, sizeof err), 0,
		       "a 4096-byte line with CRLF is fine");
		config_free(&cfg);
	}
	big[11 + 4096] = 'a';
	big[11 + 4096 + 1] = '\n';
	big[11 + 4096 + 2] = '\0';
	fails_str(big, 2, "line longer than 4096 bytes", "4097-byte line");
	big[11 + 4096 + 1] = 'a';
	fails(big, 11 + 4096 + 2, 2, "longer than", "long last line without newline");

	/* long, odd names are escaped and cut in messages */
	memset(big, 'k', sizeof big);
	memcpy(big, "[database]\n", 11);
	memcpy(big + 11 + 300, " = \x01", 4);
	fails(big, 11 + 304, 2, "control character", "control byte in value");
	big[11 + 303] = 'v';
	big[11 + 304] = '\0';
	fails_str(big, 2, "unknown key 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...'",
	          "long key cut to 64 bytes");
	fails_str("[da\xff\xfe'ta]\n", 1, "unknown section [da\\xff\\xfe'ta]",
	          "high bytes escaped in section name");
	fails_str("[database]\nho\\st = 1\n", 2, "unknown key 'ho\\x5cst'",
	          "backslash escaped in key");

	/* the first error wins */
	fails_str("[database]\nport = 1\nbad\n[nope]\n", 3, "expected", "first error wins");
}

static void
test_secret(void)
{
	static const char *const texts[] = {
		"[database]\npassword = \"S3cretPW\"\nport = x\n",
		"[database]\npassword = S3cretPW\nhost\n",
		"[database]\npassword = S3cretPW\npassword = S3cretPW\n",
		"[database]\npassword = \"S3cretPW\n",
		"[database]\npassword = \"S3cretPW\" x\n",
		"[database]\npassword = \"S3cre\\tPW\"\n",
		"[database]\nS3cretPW\n",
		"[database]\npassword S3cretPW\n",
		"[database]\nport = S3cretPW\n",
		"[pull]\nplatform = S3cretPW\n",
		"[pull]\ninsecure_registries = S3cretPW,,x\n",
		"[pull]\ninsecure_registries = S3cretPW!\n",
		"[http]\nbase_path = S3cretPW\n",
		"[pull]\nallow_private_networks = S3cretPW\n",
		"[database]\npassword = S3cretPW\x7f\n",
		"password = S3cretPW\n",	/* echoes the key only */
		"[S3cretPW\n",
		"[database] S3cretPW\n",
	};
	struct config cfg;
	char err[512];
	size_t i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		int rc = parse(&cfg, texts[i], err, sizeof err);

		ok(rc == -1 && err[0] != '\0' && strstr(err, "S3cret") == NULL &&
		   strchr(err, '\n') == NULL, "secret %zu: error without the value", i);
		if (rc != -1 || strstr(err, "S3cret") != NULL)
			printf("#   got '%s'\n", err);
		config_free(&cfg);
	}
}

static void
test_err_buffer(void)
{
	struct config cfg;
	char err[8];

	memset(err, 'x', sizeof err);
	ok(parse(&cfg, "[x]\n", err, sizeof err) == -1 && strlen(err) == 7,
	   "a short error buffer is filled and terminated");
	config_free(&cfg);
	ok(parse(&cfg, "[x]\n", NULL, 0) == -1, "a NULL error buffer is allowed");
	config_free(&cfg);
	ok(parse(&cfg, "[x]\n", err, 0) == -1, "errlen 0 is allowed");
	config_free(&cfg);

	/* the name is kept on one line too */
	{
		char e2[256];

		config_init(&cfg);
		ok(config_parse(&cfg, "[x]\n", 4, "bad\nname", e2, sizeof e2) == -1 &&
		   strncmp(e2, "bad?name:1: ", 12) == 0,
		   "a newline in the name is replaced");
		config_free(&cfg);
	}
}

static void
test_partial(void)
{
	struct config cfg;
	char err[256];

	is_int(parse(&cfg, "[database]\nhost = h\npassword = pw\nsocket = /s\n"
	             "[pull]\ninsecure_registries = a,b\nstore_dir = /x\n[http]\nbase_path=/b\n"
	             "[crypto]\nkey_file=/k\n[pull]\nca_file = /c\nconcurrency = 99\n",
	             err, sizeof err), -1, "failure after many values");
	is_str(cfg.database.host, "h", "values before the error stay");
	is_int(cfg.pull.n_insecure, 2, "list before the error stays");
	config_free(&cfg);
	ok(cfg.database.password == NULL && cfg.pull.insecure_registries == NULL,
	   "config_free after failure releases everything (ASan checks leaks)");

	/* a failed list keeps the old one */
	config_init(&cfg);
	is_int(parse_more(&cfg, "[pull]\ninsecure_registries=a\n", err, sizeof err),
	       0, "first list");
	is_int(parse_more(&cfg, "[pull]\ninsecure_registries=b,c,\n", err, sizeof err),
	       -1, "bad second list");
	ok(cfg.pull.n_insecure == 1 && strcmp(cfg.pull.insecure_registries[0], "a") == 0,
	   "a bad list leaves the old list");
	config_free(&cfg);

	{
		struct config zero;

		memset(&zero, 0, sizeof zero);
		config_free(&zero);
		config_free(NULL);
		ok(1, "config_free accepts a zeroed struct and NULL");
	}
}

static void
write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL) {
		perror(path);
		exit(2);
	}
	if (len > 0 && fwrite(text, 1, len, f) != len) {
		perror(path);
		exit(2);
	}
	fclose(f);
}

static void
test_load(void)
{
	struct config cfg;
	char dir[] = "/tmp/test_config.XXXXXX", path[128], err[512];
	char *big;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(path, sizeof path, "%s/missing.conf", dir);
	memset(err, 'x', sizeof err);
	ok(config_load(&cfg, path, err, sizeof err) == -1, "missing file fails");
	{
		char want[256];

		snprintf(want, sizeof want, "%s: No such file or directory", path);
		is_str(err, want, "missing file: PATH: strerror");
	}
	config_free(&cfg);

	ok(config_load(&cfg, dir, err, sizeof err) == -1 &&
	   strstr(err, "Is a directory") != NULL, "a directory fails");
	config_free(&cfg);

	snprintf(path, sizeof path, "%s/modbox.conf", dir);
	write_file(path, full, sizeof full - 1);
	is_int(config_load(&cfg, path, err, sizeof err), 0, "config_load of a full file");
	is_str(cfg.path, path, "path recorded");
	is_str(cfg.database.password, "S3cretPW", "password loaded");
	is_int(cfg.pull.concurrency, 64, "last key loaded");
	config_free(&cfg);

	write_file(path, "[database]\npassword = S3cretPW\nport = 0\n", 41);
	ok(config_load(&cfg, path, err, sizeof err) == -1, "bad file fails");
	{
		char want[256];

		snprintf(want, sizeof want, "%s:3: port must be", path);
		ok(strncmp(err, want, strlen(want)) == 0 && strstr(err, "S3cret") == NULL,
		   "load error is PATH:LINE: problem");
	}
	config_free(&cfg);

	big = malloc(1024 * 1024 + 1);
	if (big == NULL)
		exit(2);
	memset(big, '\n', 1024 * 1024 + 1);
	memcpy(big, "# pad\n[pull]\nconcurrency=2", 26);
	write_file(path, big, 1024 * 1024);
	is_int(config_load(&cfg, path, err, sizeof err), 0, "a 1 MiB file loads");
	is_int(cfg.pull.concurrency, 2, "and parses");
	config_free(&cfg);
	write_file(path, big, 1024 * 1024 + 1);
	ok(config_load(&cfg, path, err, sizeof err) == -1 &&
	   strstr(err, "larger than 1048576 bytes") != NULL &&
	   strncmp(err, path, strlen(path)) == 0, "a file over 1 MiB fails");
	config_free(&cfg);
	free(big);

	write_file(path, "", 0);
	is_int(config_load(&cfg, path, err, sizeof err), 0, "an empty file loads");
	is_str(cfg.database.user, "modbox", "with the defaults");
	config_free(&cfg);

	unlink(path);
	rmdir(dir);
}

static void
test_default_path(void)
{
	unsetenv("MODBOX_CONF");
	ok(strcmp(config_default_path(), SYSCONFDIR "/modbox/modbox.conf") == 0,
	   "unset MODBOX_CONF: compiled-in default");
	setenv("MODBOX_CONF", "", 1);
	is_str(config_default_path(), SYSCONFDIR "/modbox/modbox.conf",
	       "empty MODBOX_CONF: compiled-in default");
	setenv("MODBOX_CONF", "/srv/m.conf", 1);
	is_str(config_default_path(), "/srv/m.conf", "MODBOX_CONF wins");
	unsetenv("MODBOX_CONF");
}

int
main(void)
{
	test_defaults();
	test_full();
	test_bools();
	test_quoting();
	test_layout();
	test_errors();
	test_secret();
	test_err_buffer();
	test_partial();
	test_load();
	test_default_path();
	return done_testing();
}
