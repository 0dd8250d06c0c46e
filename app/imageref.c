/*
 * imageref: see imageref.h.  The input is taken apart as Docker's
 * ParseNormalizedNamed does (github.com/distribution/reference,
 * normalize.go and regexp.go), without copying:
 *
 *   1. the raw bytes are screened (NUL, controls, blanks, non-ASCII);
 *   2. the first '@' ends the name and tag: what follows is a digest;
 *   3. the last ':' before that is a tag separator when no '/' follows it
 *      (so "localhost:5000/app" has a port, "localhost:5000" a tag, as in
 *      Docker: a name without '/' is one path component on Docker Hub);
 *   4. the name is split at its first '/' into a domain and a path when
 *      the first part contains '.' or ':', is "localhost", or has an
 *      uppercase letter; the domain goes through server_normalize, so a
 *      host is spelt here exactly as a stored registry server is;
 *   5. the path is checked component by component against the grammar;
 *   6. the tag and digest, if any, are checked so that HAS_TAG and
 *      HAS_DIGEST are only said of a valid name with a valid suffix.
 *
 * Where server_normalize and Docker's domain grammar differ:
 * - Docker's IPv6 is "[" [0-9A-Fa-f:]+ "]": no embedded IPv4 ("[::ffff:
 *   1.2.3.4]"), which server_normalize accepts; it is refused here.  So
 *   are the addresses Docker would take in hex but inet_ntop spells with
 *   an embedded IPv4 address (::/96 and ::ffff:0:0/96, e.g. "[::f:4]"
 *   becomes "[::0.15.0.4]"), as the host could not be written back.
 * - server_normalize is stricter, and is kept so: a port is 1-65535
 *   without a leading zero (Docker: any digits), labels are at most 63
 *   and hosts at most 253 characters, the last label has a letter unless
 *   the host is a dotted-quad IPv4 address ("foo.123" and "1.2.3" are
 *   refused; Docker takes them), and an IPv6 address must be one
 *   inet_pton accepts (Docker's pattern takes "[:]").  Every host stored
 *   is thus one a registry server can be normalised to.
 * - The host is lowercased ("Foo/bar" gives host "foo", path "bar");
 *   Docker keeps the case.  A single-label host other than localhost is
 *   then only recognisable as a domain when written in uppercase again.
 *
 * Other choices where imageref.h or Docker leave room:
 * - Docker Hub is recognised after normalisation, so "DOCKER.IO/x" and
 *   "registry-1.docker.io/x" are Docker Hub too (Docker only folds
 *   "index.docker.io"); "docker.io:443" is not (server_key keeps ports).
 * - Lengths: the name as given (before any tag or digest) is at most 255
 *   characters, and so is the path after "library/" is added (current
 *   Docker's only check), so "ubuntu"-style names stop at 247 characters.
 * - The 64-hex rule applies to the name as given without a domain, as in
 *   Docker, but also when a tag or digest follows ("<64 hex>:v1" is
 *   INVALID rather than HAS_TAG: the name itself is not acceptable).
 * - A digest is well-formed when go-digest would accept it: "sha256:",
 *   "sha384:" or "sha512:" followed by exactly 64, 96 or 128 lowercase
 *   hex digits.  Anything else after '@' is INVALID, not HAS_DIGEST.
 * - An uppercase letter in the path is reported as such before any other
 *   fault of the path, as Docker does.
 */
#include "imageref.h"

#include <string.h>

#include "server.h"

#define DOCKER_HUB	"docker.io"
#define LIBRARY		"library/"
#define IDENTIFIER_LEN	64

static const char why_tag[] =
    "must not include a tag: give the tag in the 'tag' field";
static const char why_digest[] =
    "must not include a digest: name the image by a tag in the 'tag' field";

static const struct {
	const char *name;
	size_t hex_len;
} digest_algorithms[] = {
	{ "sha256", 64 },
	{ "sha384", 96 },
	{ "sha512", 128 },
};

static bool
is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static bool
is_lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool
is_tag_char(char c)
{
	return is_lower_alnum(c) || is_upper(c) || c == '_';
}

static bool
has_upper(const char *s, const char *e)
{
	for (const char *c = s; c < e; c++)
		if (is_upper(*c))
			return true;
	return false;
}

/* Screen every byte before looking at the structure. */
static const char *
check_bytes(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\0')
			return "must not contain a NUL byte";
		if (c < 0x20 || c == 0x7f)
			return "must not contain control characters";
		if (c == ' ')
			return "must not contain blanks";
		if (c >= 0x80)
			return "must be ASCII";
	}
	return NULL;
}

/* Is the first part of a name (before its first '/') a domain? */
static bool
is_domain(const char *s, const char *e)
{
	size_t n = (size_t)(e - s);

	if (n == 9 && memcmp(s, "localhost", 9) == 0)
		return true;
	return memchr(s, '.', n) != NULL || memchr(s, ':', n) != NULL ||
	    has_upper(s, e);
}

/*
 * Docker's domain grammar on top of server_normalize: the only thing the
 * latter takes that the former does not (in a part without '/') is an
 * IPv6 address with an embedded IPv4 one.
 */
static const char *
check_domain(const char *s, const char *e)
{
	const char *close;

	if (s == e || *s != '[')
		return NULL;
	close = memchr(s, ']', (size_t)(e - s));
	if (close == NULL)
		return NULL;	/* server_normalize says what is wrong */
	for (const char *c = s + 1; c < close; c++)
		if (!is_lower_hex(*c) && !(*c >= 'A' && *c <= 'F') &&
		    *c != ':')
			return "has an invalid IPv6 address (only hex digits "
			    "and ':' may appear between the brackets)";
	return NULL;
}

/*
 * One path component: [a-z0-9]+ ( separator [a-z0-9]+ )*, where a
 * separator is ".", "_", "__" or one or more "-".  Uppercase has been
 * screened out already.
 */
static const char *
check_component(const char *s, const char *e)
{
	const char *run = NULL;	/* start of the current separator run */

	if (s == e)
		return "has an empty path component (a leading, trailing or "
		    "doubled '/')";
	for (const char *c = s; c < e; c++) {
		if (is_lower_alnum(*c)) {
			size_t rn;

			if (run == NULL)
				continue;
			rn = (size_t)(c - run);
			if (!(rn == 1 && (*run == '.' || *run == '_')) &&
			    !(rn == 2 && run[0] == '_' && run[1] == '_')) {
				for (const char *d = run; d < c; d++)
					if (*d != '-')
						return "has an invalid separator "
						    "in a path component (only "
						    "'.', '_', '__' or dashes)";
			}
			run = NULL;
		} else if (*c == '.' || *c == '_' || *c == '-') {
			if (c == s)
				return "has a path component that starts with "
				    "'.', '_' or '-'";
			if (run == NULL)
				run = c;
		} else
			return "has a character other than a-z, 0-9, '.', '_', "
			    "'-' and '/' in the repository path";
	}
	if (run != NULL)
		return "has a path component that ends with '.', '_' or '-'";
	return NULL;
}

static const char *
check_path(const char *s, const char *e)
{
	const char *c = s, *why;

	if (has_upper(s, e))
		return "has an uppercase letter: repository names must be "
		    "lowercase";
	for (;;) {
		const char *slash = memchr(c, '/', (size_t)(e - c));
		const char *end = slash != NULL ? slash : e;

		if ((why = check_component(c, end)) != NULL)
			return why;
		if (slash == NULL)
			return NULL;
		c = slash + 1;
	}
}

static bool
is_identifier(const char *s, const char *e)
{
	if (e - s != IDENTIFIER_LEN)
		return false;
	for (const char *c = s; c < e; c++)
		if (!is_lower_hex(*c))
			return false;
	return true;
}

/* The name (no tag, no digest) into out. */
static const char *
parse_name(const char *s, const char *e, struct imageref *out)
{
	const char *slash = memchr(s, '/', (size_t)(e - s));
	const char *path = s, *why;
	size_t pn, o = 0;
	bool hub = true;

	if (s == e)
		return "must name a repository";
	if (e - s > IMAGEREF_NAME_MAX)
		return "is longer than 255 characters";
	if (slash != NULL && is_domain(s, slash)) {
		if ((why = check_domain(s, slash)) != NULL)
			return why;
		if (server_normalize(s, (size_t)(slash - s), out->host,
		    sizeof out->host, &why) != 0)
			return why;
		if (out->host[0] == '[' && strchr(out->host, '.') != NULL)
			return "has an IPv6 address in the IPv4-compatible or "
			    "IPv4-mapped range";
		hub = strcmp(server_key(out->host), DOCKER_HUB) == 0;
		path = slash + 1;
	} else if (is_identifier(s, e))
		return "is a 64-character hex string (an image id), not a "
		    "repository name";
	if ((why = check_path(path, e)) != NULL)
		return why;

	pn = (size_t)(e - path);
	if (hub) {
		strcpy(out->host, DOCKER_HUB);
		if (memchr(path, '/', pn) == NULL)
			o = strlen(LIBRARY);
	}
	if (o + pn > IMAGEREF_NAME_MAX)
		return "is longer than 255 characters";
	memcpy(out->path, LIBRARY, o);
	memcpy(out->path + o, path, pn);
	out->path[o + pn] = '\0';
	return NULL;
}

/* algorithm ":" hex, as go-digest accepts it. */
static bool
digest_valid(const char *s, const char *e)
{
	const char *colon = memchr(s, ':', (size_t)(e - s));
	size_t an, hn;

	if (colon == NULL)
		return false;
	an = (size_t)(colon - s);
	hn = (size_t)(e - colon - 1);
	for (size_t i = 0;
	    i < sizeof digest_algorithms / sizeof *digest_algorithms; i++) {
		if (strlen(digest_algorithms[i].name) != an ||
		    memcmp(digest_algorithms[i].name, s, an) != 0)
			continue;
		if (hn != digest_algorithms[i].hex_len)
			return false;
		for (const char *c = colon + 1; c < e; c++)
			if (!is_lower_hex(*c))
				return false;
		return true;
	}
	return false;
}

static enum imageref_status
parse(const char *s, size_t len, struct imageref *out, const char **why)
{
	const char *end = s + len, *at, *name_end, *tag = NULL;

	if (len == 0) {
		*why = "must not be empty";
		return IMAGEREF_INVALID;
	}
	if ((*why = check_bytes(s, len)) != NULL)
		return IMAGEREF_INVALID;

	at = memchr(s, '@', len);
	name_end = at != NULL ? at : end;
	for (const char *c = name_end; c > s; c--) {
		if (c[-1] == '/')
			break;
		if (c[-1] == ':') {
			tag = c;
			name_end = c - 1;
			break;
		}
	}

	if ((*why = parse_name(s, name_end, out)) != NULL)
		return IMAGEREF_INVALID;
	if (tag != NULL && !imageref_tag_valid(tag,
	    (size_t)((at != NULL ? at : end) - tag))) {
		*why = "has an invalid tag after ':'";
		return IMAGEREF_INVALID;
	}
	if (at != NULL) {
		if (!digest_valid(at + 1, end)) {
			*why = "has an invalid digest after '@'";
			return IMAGEREF_INVALID;
		}
		*why = why_digest;
		return IMAGEREF_HAS_DIGEST;
	}
	if (tag != NULL) {
		*why = why_tag;
		return IMAGEREF_HAS_TAG;
	}
	return IMAGEREF_OK;
}

enum imageref_status
imageref_parse(const char *s, size_t len, struct imageref *out,
               const char **why)
{
	const char *w = NULL;
	enum imageref_status st;

	out->host[0] = '\0';
	out->path[0] = '\0';
	st = parse(s, len, out, &w);
	if (st != IMAGEREF_OK) {
		out->host[0] = '\0';
		out->path[0] = '\0';
	}
	if (why != NULL)
		*why = w;
	return st;
}

bool
imageref_tag_valid(const char *s, size_t len)
{
	if (len == 0 || len > IMAGEREF_TAG_MAX || !is_tag_char(s[0]))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!is_tag_char(s[i]) && s[i] != '.' && s[i] != '-')
			return false;
	return true;
}
