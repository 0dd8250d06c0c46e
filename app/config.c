/*
 * config: see config.h.  A single pass over the text, one line at a time;
 * every key is one row of a const table {section, name, type, field offset,
 * range}, and one setter per type turns the value into the field.  Nothing
 * in the text is trusted: the parser works on (pointer, length) pairs and
 * never needs the text to be NUL-terminated.
 *
 * Lines.  Lines end with "\n" or "\r\n"; the last line may lack an end.  A
 * UTF-8 byte order mark at the very start is skipped.  A line longer than
 * CONFIG_LINE_MAX bytes (not counting its end), a NUL byte, or any other
 * control byte except tab is an error.  Blanks are spaces and tabs.
 * Comments are whole lines whose first non-blank byte is '#' or ';'; there
 * are no comments after a value, so '#' and ';' inside a value are kept.
 *
 * Values.  "key = value": the key is the text before the first '=', the
 * value the text after it, both trimmed of blanks.  Keys and section names
 * are case-sensitive.  A value whose first byte is '"' is quoted: it runs
 * to the next unescaped '"', inside which \" stands for '"' and \\ for '\';
 * any other backslash, a missing closing quote or anything but blanks after
 * it is an error.  An unquoted value is taken byte for byte (backslashes and
 * quotes in it are literal).  Quoting is needed only for strings that
 * begin or end with blanks or begin with '"', but is accepted for every
 * key (port = "3306" is fine).  An empty value, quoted or not, unsets an
 * optional string (back to NULL; so an empty password means none),
 * empties insecure_registries, and is an error for every other key.
 *
 * Errors.  The message is one line, "NAME:LINE: problem".  Values are never
 * copied into it (so the database password cannot leak into a log); key and
 * section names may be, escaped to printable ASCII and cut short.  A
 * control byte in the caller's NAME becomes '?'.  On error cfg keeps what
 * was set before the bad line, always in a state config_free frees; each
 * config_parse call counts duplicates afresh, so a later text may override
 * an earlier one.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#ifndef SYSCONFDIR
#define SYSCONFDIR "/usr/local/etc"
#endif

#define CONFIG_LINE_MAX 4096		/* bytes in one line, without its end */
#define CONFIG_FILE_MAX (1024 * 1024)	/* bytes config_load reads at most */
#define ECHO_MAX 64			/* bytes of a name copied into errors */

enum value_type {
	V_TEXT,		/* char *, must not be empty */
	V_OPTIONAL,	/* char *, empty unsets (NULL) */
	V_SECRET,	/* like V_OPTIONAL, wiped when replaced or freed */
	V_UINT,		/* unsigned, decimal in [min, max] */
	V_SIZE,		/* size_t, decimal in [min, max] */
	V_BOOL,		/* bool */
	V_BASE_PATH,	/* char *, "/a/b" or empty (unset) */
	V_PLATFORM,	/* char *, "os/arch" or "os/arch/variant" */
	V_HOST_LIST,	/* insecure_registries + n_insecure */
};

struct key_def {
	const char *section;
	const char *name;
	enum value_type type;
	size_t offset;		/* of the field in struct config */
	unsigned long min, max;	/* V_UINT, V_SIZE */
};

#define F(member) offsetof(struct config, member)

static const struct key_def keys[] = {
	{ "database", "host", V_TEXT, F(database.host), 0, 0 },
	{ "database", "port", V_UINT, F(database.port), 1, 65535 },
	{ "database", "socket", V_OPTIONAL, F(database.socket), 0, 0 },
	{ "database", "user", V_TEXT, F(database.user), 0, 0 },
	{ "database", "password", V_SECRET, F(database.password), 0, 0 },
	{ "database", "name", V_TEXT, F(database.name), 0, 0 },
	{ "crypto", "key_file", V_OPTIONAL, F(crypto.key_file), 0, 0 },
	{ "http", "max_body_bytes", V_SIZE, F(http.max_body_bytes), 1, 16777216 },
	{ "http", "base_path", V_BASE_PATH, F(http.base_path), 0, 0 },
	{ "http", "wait_max_seconds", V_UINT, F(http.wait_max_seconds), 0, 300 },
	{ "pull", "store_dir", V_OPTIONAL, F(pull.store_dir), 0, 0 },
	{ "pull", "ca_file", V_OPTIONAL, F(pull.ca_file), 0, 0 },
	{ "pull", "insecure_registries", V_HOST_LIST, F(pull.insecure_registries), 0, 0 },
	{ "pull", "allow_private_networks", V_BOOL, F(pull.allow_private_networks), 0, 0 },
	{ "pull", "platform", V_PLATFORM, F(pull.platform), 0, 0 },
	{ "pull", "retry_seconds", V_UINT, F(pull.retry_seconds), 0, 86400 },
	{ "pull", "concurrency", V_UINT, F(pull.concurrency), 1, 64 },
	{ "pull", "lease_seconds", V_UINT, F(pull.lease_seconds), 10, 86400 },
	{ "pull", "poll_ms", V_UINT, F(pull.poll_ms), 10, 60000 },
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

static const char *const sections[] = { "database", "crypto", "http", "pull" };

#define N_SECTIONS (sizeof(sections) / sizeof(sections[0]))

struct parser {
	struct config *cfg;
	const char *name;		/* for messages */
	unsigned long line;		/* 1-based number of the current line */
	char *err;
	size_t errlen;
	const char *section;		/* current section, NULL before the first */
	bool seen[N_KEYS];		/* keys already set by this text */
	char val[CONFIG_LINE_MAX + 1];	/* the current value, unquoted; wiped */
	size_t vlen;
};

/* Write "prefix: message" into err, then replace every control byte by '?'
 * so the message stays one line whatever the prefix holds. */
__attribute__((format(printf, 4, 0))) static void
write_error(char *err, size_t errlen, const char *prefix, const char *fmt,
            va_list ap)
{
	char msg[512];
	size_t i;

	if (err == NULL || errlen == 0)
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	snprintf(err, errlen, "%s: %s", prefix, msg);
	for (i = 0; err[i] != '\0'; i++)
		if ((unsigned char)err[i] < 0x20 || err[i] == 0x7f)
			err[i] = '?';
}

__attribute__((format(printf, 2, 3))) static int
fail(struct parser *p, const char *fmt, ...)
{
	char prefix[300];
	va_list ap;

	snprintf(prefix, sizeof prefix, "%.256s:%lu", p->name, p->line);
	va_start(ap, fmt);
	write_error(p->err, p->errlen, prefix, fmt, ap);
	va_end(ap);
	return -1;
}

__attribute__((format(printf, 4, 5))) static int
fail_path(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	write_error(err, errlen, path, fmt, ap);
	va_end(ap);
	return -1;
}

/* Copy at most ECHO_MAX bytes of s into dst as printable ASCII: other bytes
 * become \xNN, a longer name ends in "...".  dst holds ECHO_BUF bytes. */
#define ECHO_BUF (ECHO_MAX * 4 + 4)

static const char *
echo(char *dst, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	for (i = 0; i < n && i < ECHO_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			dst[o++] = (char)c;
		} else {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	if (n > ECHO_MAX) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
	return dst;
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static void
trim(const char **s, size_t *n)
{
	while (*n > 0 && is_blank(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && is_blank((*s)[*n - 1]))
		(*n)--;
}

static bool
equals(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(s, word, n) == 0;
}

static void
free_string(char **slot, bool secret)
{
	if (*slot != NULL && secret)
		explicit_bzero(*slot, strlen(*slot));
	free(*slot);
	*slot = NULL;
}

static void
free_host_list(struct config_pull *pull)
{
	size_t i;

	for (i = 0; i < pull->n_insecure; i++)
		free(pull->insecure_registries[i]);
	free(pull->insecure_registries);
	pull->insecure_registries = NULL;
	pull->n_insecure = 0;
}

/* Replace the string in *slot by a copy of s (NULL when s is NULL). */
static int
replace_string(struct parser *p, char **slot, const char *s, bool secret)
{
	char *copy = NULL;

	if (s != NULL && (copy = strdup(s)) == NULL)
		return fail(p, "out of memory");
	free_string(slot, secret);
	*slot = copy;
	return 0;
}

/* Decimal digits only, no sign, in [min, max]. */
static int
parse_number(const char *s, size_t n, unsigned long min, unsigned long max,
             unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
		if (v > max)
			return -1;
	}
	if (v < min)
		return -1;
	*out = v;
	return 0;
}

static int
parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* "os/arch" or "os/arch/variant", each part [a-z0-9_]+. */
static bool
valid_platform(const char *s)
{
	size_t parts = 1, run = 0;

	for (; *s != '\0'; s++) {
		if (*s == '/') {
			if (run == 0)
				return false;
			parts++;
			run = 0;
		} else if ((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		           *s == '_') {
			run++;
		} else {
			return false;
		}
	}
	return run > 0 && (parts == 2 || parts == 3);
}

/* A URL path prefix: starts with '/', does not end with '/', printable
 * ASCII without blanks, '?' or '#'. */
static bool
valid_base_path(const char *s, size_t n)
{
	size_t i;

	if (n < 2 || s[0] != '/' || s[n - 1] == '/')
		return false;
	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f || s[i] == '?' || s[i] == '#')
			return false;
	return true;
}

/* host, host:port, [v6]:port: letters, digits and ".-_:[]". */
static bool
valid_host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == '_' || c == ':' || c == '[' ||
	       c == ']';
}

/* Split the value on ',' into a fresh list, trimmed and lowercased, then
 * swap it in for the old one. */
static int
set_host_list(struct parser *p, const struct key_def *k)
{
	struct config_pull *pull = &p->cfg->pull;
	const char *s = p->val, *end = p->val + p->vlen;
	char **list = NULL;
	size_t n = 0, cap = 1, i;
	int rc = -1;

	if (p->vlen == 0) {
		free_host_list(pull);
		return 0;
	}
	for (i = 0; i < p->vlen; i++)
		if (p->val[i] == ',')
			cap++;
	if ((list = calloc(cap, sizeof(*list))) == NULL) {
		fail(p, "out of memory");
		goto out;
	}
	while (s <= end) {
		const char *comma = memchr(s, ',', (size_t)(end - s));
		const char *item = s;
		size_t len = (size_t)((comma ? comma : end) - s);

		trim(&item, &len);
		if (len == 0) {
			fail(p, "%s: empty item in the list", k->name);
			goto out;
		}
		if ((list[n] = strndup(item, len)) == NULL) {
			fail(p, "out of memory");
			goto out;
		}
		for (i = 0; i < len; i++) {
			char c = list[n][i];

			if (c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			if (!valid_host_char(c)) {
				n++;
				fail(p, "%s: item %zu is not host[:port]",
				     k->name, n);
				goto out;
			}
			list[n][i] = c;
		}
		n++;
		if (comma == NULL)
			break;
		s = comma + 1;
	}
	free_host_list(pull);
	pull->insecure_registries = list;
	pull->n_insecure = n;
	list = NULL;
	rc = 0;
out:
	if (list != NULL) {
		for (i = 0; i < n; i++)
			free(list[i]);
		free(list);
	}
	return rc;
}

/* Store p->val into the field k describes. */
static int
set_value(struct parser *p, const struct key_def *k)
{
	void *field = (char *)p->cfg + k->offset;
	unsigned long v;
	bool b;

	switch (k->type) {
	case V_TEXT:
		if (p->vlen == 0)
			return fail(p, "%s must not be empty", k->name);
		return replace_string(p, field, p->val, false);
	case V_OPTIONAL:
	case V_SECRET:
		return replace_string(p, field, p->vlen ? p->val : NULL,
		                      k->type == V_SECRET);
	case V_UINT:
	case V_SIZE:
		if (parse_number(p->val, p->vlen, k->min, k->max, &v) < 0)
			return fail(p, "%s must be a decimal number from %lu to %lu",
			            k->name, k->min, k->max);
		if (k->type == V_UINT)
			*(unsigned *)field = (unsigned)v;
		else
			*(size_t *)field = (size_t)v;
		return 0;
	case V_BOOL:
		if (parse_bool(p->val, &b) < 0)
			return fail(p, "%s must be true/false, yes/no, on/off or 1/0",
			            k->name);
		*(bool *)field = b;
		return 0;
	case V_BASE_PATH:
		if (p->vlen != 0 && !valid_base_path(p->val, p->vlen))
			return fail(p, "%s must start with '/', not end with '/', "
			            "and hold no blanks, '?' or '#'", k->name);
		return replace_string(p, field, p->vlen ? p->val : NULL, false);
	case V_PLATFORM:
		if (!valid_platform(p->val))
			return fail(p, "%s must be os/arch or os/arch/variant "
			            "(lowercase letters, digits, '_')", k->name);
		return replace_string(p, field, p->val, false);
	case V_HOST_LIST:
		return set_host_list(p, k);
	}
	return fail(p, "internal error: bad key type");
}

/* Unquote the trimmed value s (n bytes) into p->val. */
static int
read_value(struct parser *p, const struct key_def *k, const char *s, size_t n)
{
	size_t i, o = 0;

	if (n == 0 || s[0] != '"') {
		memcpy(p->val, s, n);
		p->val[n] = '\0';
		p->vlen = n;
		return 0;
	}
	for (i = 1; i < n; i++) {
		if (s[i] == '"')
			break;
		if (s[i] == '\\') {
			if (i + 1 < n && (s[i + 1] == '"' || s[i + 1] == '\\'))
				i++;
			else
				return fail(p, "%s: in a quoted value a backslash "
				            "must be followed by '\"' or '\\'",
				            k->name);
		}
		p->val[o++] = s[i];
	}
	if (i >= n)
		return fail(p, "%s: quoted value has no closing '\"'", k->name);
	if (i + 1 != n)	/* trailing blanks were trimmed */
		return fail(p, "%s: text after the closing '\"'", k->name);
	p->val[o] = '\0';
	p->vlen = o;
	return 0;
}

static int
parse_section(struct parser *p, const char *s, size_t n)
{
	char e[ECHO_BUF];
	size_t i;

	/* s starts with '[' and has no trailing blanks */
	if (s[n - 1] != ']') {
		if (memchr(s, ']', n) != NULL)
			return fail(p, "text after the section header");
		return fail(p, "section header without closing ']'");
	}
	s++;
	n -= 2;
	trim(&s, &n);
	if (n == 0)
		return fail(p, "empty section name");
	for (i = 0; i < N_SECTIONS; i++) {
		if (equals(s, n, sections[i])) {
			p->section = sections[i];
			return 0;
		}
	}
	return fail(p, "unknown section [%s]", echo(e, s, n));
}

static int
parse_pair(struct parser *p, const char *s, size_t n)
{
	const char *eq = memchr(s, '=', n), *key = s, *val;
	size_t klen, vlen, i;
	char e[ECHO_BUF];

	if (eq == NULL)
		return fail(p, "expected 'key = value', '[section]' or a comment");
	klen = (size_t)(eq - s);
	val = eq + 1;
	vlen = n - klen - 1;
	trim(&key, &klen);
	trim(&val, &vlen);
	if (klen == 0)
		return fail(p, "empty key before '='");
	if (p->section == NULL)
		return fail(p, "key '%s' before any [section]", echo(e, key, klen));
	for (i = 0; i < N_KEYS; i++)
		if (strcmp(keys[i].section, p->section) == 0 &&
		    equals(key, klen, keys[i].name))
			break;
	if (i == N_KEYS)
		return fail(p, "unknown key '%s' in section [%s]",
		            echo(e, key, klen), p->section);
	if (p->seen[i])
		return fail(p, "duplicate key '%s' in section [%s]",
		            keys[i].name, p->section);
	p->seen[i] = true;
	if (read_value(p, &keys[i], val, vlen) < 0)
		return -1;
	return set_value(p, &keys[i]);
}

static int
parse_line(struct parser *p, const char *s, size_t n)
{
	size_t i;

	if (n > CONFIG_LINE_MAX)
		return fail(p, "line longer than %d bytes", CONFIG_LINE_MAX);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\0')
			return fail(p, "NUL byte in line");
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return fail(p, "control character in line");
	}
	trim(&s, &n);
	if (n == 0 || s[0] == '#' || s[0] == ';')
		return 0;
	if (s[0] == '[')
		return parse_section(p, s, n);
	return parse_pair(p, s, n);
}

int
config_parse(struct config *cfg, const char *text, size_t len,
             const char *name, char *err, size_t errlen)
{
	struct parser *p;
	const char *s = text, *end = text + len;
	int rc = -1;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		fail_path(err, errlen, name ? name : "config", "out of memory");
		return -1;
	}
	p->cfg = cfg;
	p->name = name ? name : "config";
	p->err = err;
	p->errlen = errlen;
	if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = (size_t)((nl ? nl : end) - s);

		p->line++;
		if (n > 0 && s[n - 1] == '\r')
			n--;
		if (parse_line(p, s, n) < 0)
			goto out;
		if (nl == NULL)
			break;
		s = nl + 1;
	}
	rc = 0;
out:
	explicit_bzero(p->val, sizeof(p->val));
	free(p);
	return rc;
}

const char *
config_default_path(void)
{
	const char *env = getenv("MODBOX_CONF");

	if (env != NULL && env[0] != '\0')
		return env;
	return SYSCONFDIR "/modbox/modbox.conf";
}

int
config_init(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->database.port = 3306;
	cfg->http.max_body_bytes = 65536;
	cfg->pull.allow_private_networks = false;
	cfg->pull.retry_seconds = 30;
	cfg->pull.concurrency = 4;
	cfg->http.wait_max_seconds = 20;
	cfg->pull.lease_seconds = 900;
	cfg->pull.poll_ms = 500;
	if ((cfg->database.host = strdup("127.0.0.1")) == NULL ||
	    (cfg->database.user = strdup("modbox")) == NULL ||
	    (cfg->database.name = strdup("modbox")) == NULL ||
	    (cfg->pull.platform = strdup("linux/amd64")) == NULL) {
		config_free(cfg);
		return -1;
	}
	return 0;
}

/* Read the whole file, at most CONFIG_FILE_MAX bytes, into *out. */
static int
read_file(const char *path, char **out, size_t *outlen, char *err,
          size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	int fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		fail_path(err, errlen, path, "%s", strerror(errno));
		return -1;
	}
	/* one spare byte tells a file of exactly the cap from a bigger one */
	if ((buf = malloc(CONFIG_FILE_MAX + 1)) == NULL) {
		fail_path(err, errlen, path, "out of memory");
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + len, CONFIG_FILE_MAX + 1 - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fail_path(err, errlen, path, "%s", strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > CONFIG_FILE_MAX) {
			fail_path(err, errlen, path, "larger than %d bytes",
			          CONFIG_FILE_MAX);
			goto out;
		}
	}
	*out = buf;
	*outlen = len;
	buf = NULL;
	rc = 0;
out:
	if (buf != NULL) {
		explicit_bzero(buf, len);
		free(buf);
	}
	close(fd);
	return rc;
}

int
config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int rc = -1;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (config_init(cfg) < 0 || (cfg->path = strdup(path)) == NULL) {
		fail_path(err, errlen, path, "out of memory");
		return -1;
	}
	if (read_file(path, &text, &len, err, errlen) < 0)
		goto out;
	rc = config_parse(cfg, text, len, path, err, errlen);
out:
	if (text != NULL) {
		explicit_bzero(text, len);	/* it holds the password */
		free(text);
	}
	return rc;
}

void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->database.host);
	free(cfg->database.socket);
	free(cfg->database.user);
	free_string(&cfg->database.password, true);
	free(cfg->database.name);
	free(cfg->crypto.key_file);
	free(cfg->http.base_path);
	free(cfg->pull.store_dir);
	free(cfg->pull.ca_file);
	free_host_list(&cfg->pull);
	free(cfg->pull.platform);
	memset(cfg, 0, sizeof(*cfg));
}
