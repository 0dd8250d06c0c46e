/*
 * fuzz_imageref: imageref_parse and imageref_tag_valid on arbitrary
 * bytes.  Properties, any broken one aborts:
 * - the status is one of the four, and every refusal has a reason; the
 *   reason for HAS_TAG and HAS_DIGEST mentions the tag field;
 * - on OK, host and path are non-empty, NUL-terminated within their
 *   buffers, free of uppercase letters and of bytes outside printable
 *   ASCII; the path has no empty component; the host is what
 *   server_normalize makes of itself;
 * - on OK, the name written back in the form Docker reads it the same
 *   way (see compose) parses again to the same host and path, and the
 *   input followed by ":latest" or "@sha256:<64 hex>" is HAS_TAG or
 *   HAS_DIGEST;
 * - imageref_tag_valid agrees with a direct reading of its pattern.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imageref.h"
#include "server.h"

#define LATEST ":latest"
#define DIGEST "@sha256:" \
	"0000000000000000000000000000000000000000000000000000000000000000"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

/* [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}, read off the pattern. */
static int
tag_oracle(const uint8_t *s, size_t n)
{
	static const char word[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_";

	if (n < 1 || n > 128)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\0')
			return 0;
		if (strchr(word, s[i]) != NULL)
			continue;
		if (i > 0 && (s[i] == '.' || s[i] == '-'))
			continue;
		return 0;
	}
	return 1;
}

static void
check_text(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n == 0 || n > max)
		abort();
	for (size_t i = 0; i < n; i++)
		if (is_upper(s[i]) || s[i] <= ' ' || s[i] >= 0x7f)
			abort();
}

/*
 * The name as Docker reads it back: the path alone on Docker Hub when its
 * first component would not be taken for a domain, "host/path" otherwise,
 * a single-label host other than localhost in uppercase (the only way to
 * make Docker see it as a domain).
 */
static size_t
compose(const struct imageref *r, char *buf, size_t cap)
{
	const char *slash = strchr(r->path, '/');
	size_t hn = strlen(r->host), pn = strlen(r->path), first;
	int hub = strcmp(r->host, "docker.io") == 0, upper;

	if (hub && slash == NULL)
		abort();	/* a Docker Hub path always has "library/" */
	first = slash != NULL ? (size_t)(slash - r->path) : pn;
	if (hub && memchr(r->path, '.', first) == NULL &&
	    !(first == 9 && memcmp(r->path, "localhost", 9) == 0)) {
		if (pn + 1 > cap)
			return 0;
		memcpy(buf, r->path, pn + 1);
		return pn;
	}
	if (hn + 1 + pn + 1 > cap)
		return 0;
	upper = strchr(r->host, '.') == NULL && strchr(r->host, ':') == NULL &&
	    strcmp(r->host, "localhost") != 0;
	for (size_t i = 0; i < hn; i++)
		buf[i] = upper && r->host[i] >= 'a' && r->host[i] <= 'z' ?
		    (char)(r->host[i] - 'a' + 'A') : r->host[i];
	buf[hn] = '/';
	memcpy(buf + hn + 1, r->path, pn + 1);
	return hn + 1 + pn;
}

static void
check_ok(const uint8_t *data, size_t size, const struct imageref *r)
{
	char name[IMAGEREF_NAME_MAX + 1], host[SERVER_MAX + 1];
	struct imageref again;
	const char *why = NULL;
	char *ext;
	size_t n;

	check_text(r->host, SERVER_MAX);
	check_text(r->path, IMAGEREF_NAME_MAX);
	if (size > IMAGEREF_NAME_MAX)
		abort();
	if (r->path[0] == '/' || r->path[strlen(r->path) - 1] == '/' ||
	    strstr(r->path, "//") != NULL)
		abort();
	if (server_normalize(r->host, strlen(r->host), host, sizeof host,
	    &why) != 0 || strcmp(host, r->host) != 0)
		abort();

	/* A canonical IPv6 host may be a byte longer than its input. */
	if ((n = compose(r, name, sizeof name)) != 0) {
		if (imageref_parse(name, n, &again, &why) != IMAGEREF_OK ||
		    strcmp(again.host, r->host) != 0 ||
		    strcmp(again.path, r->path) != 0)
			abort();
	}

	if ((ext = malloc(size + sizeof DIGEST)) == NULL)
		abort();
	memcpy(ext, data, size);
	memcpy(ext + size, LATEST, sizeof LATEST - 1);
	if (imageref_parse(ext, size + sizeof LATEST - 1, &again, &why) !=
	    IMAGEREF_HAS_TAG)
		abort();
	memcpy(ext + size, DIGEST, sizeof DIGEST - 1);
	if (imageref_parse(ext, size + sizeof DIGEST - 1, &again, &why) !=
	    IMAGEREF_HAS_DIGEST)
		abort();
	free(ext);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imageref r;
	const char *why = NULL;
	enum imageref_status st;

	if (imageref_tag_valid((const char *)data, size) !=
	    (tag_oracle(data, size) != 0))
		abort();

	st = imageref_parse((const char *)data, size, &r, &why);
	switch (st) {
	case IMAGEREF_OK:
		if (why != NULL)
			abort();
		check_ok(data, size, &r);
		break;
	case IMAGEREF_HAS_TAG:
	case IMAGEREF_HAS_DIGEST:
		if (why == NULL || strstr(why, "tag") == NULL)
			abort();
		/* fall through */
	case IMAGEREF_INVALID:
		if (why == NULL || *why == '\0' || r.host[0] != '\0' ||
		    r.path[0] != '\0')
			abort();
		break;
	default:
		abort();
	}
	return 0;
}
