/*
 * server: see server.h.  The input is taken apart left to right without
 * copying: the raw bytes are screened first (NUL, controls, blanks,
 * non-ASCII), then an optional scheme is stripped, the authority is cut at
 * the first '/', '?' or '#', the rest must be one of the paths Kubernetes
 * drops, and the authority is split into host and port.  The host is
 * written lowercase straight into out; IP addresses go through
 * inet_pton/inet_ntop so each has one spelling.
 *
 * Choices where server.h is silent:
 * - A trailing dot ("ghcr.io.") is refused rather than dropped: a fully
 *   qualified name is a different key for docker/podman credential
 *   helpers, and a user never needs it for a registry.
 * - Non-ASCII is refused: an internationalised name must be given in
 *   punycode ("xn--..."), which is what the registry's TLS name is.
 * - The port is kept as given ("ghcr.io:443" stays so, and is not Docker
 *   Hub even for docker.io:443): registries and credential helpers key on
 *   host[:port] literally.
 * - "/V2/" and other spellings of the dropped paths are refused.
 */
#include "server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#define SERVER_IN_MAX	512
#define HOST_MAX	253
#define LABEL_MAX	63

static const char *const dropped_paths[] = {
	"", "/", "/v1", "/v1/", "/v2", "/v2/",
};

static const char *const docker_hub_aliases[] = {
	"docker.io", "index.docker.io", "registry-1.docker.io",
};

static int
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char
to_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
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
			return "must be ASCII (give an internationalised "
			    "name in punycode)";
	}
	return NULL;
}

/* Does [s, e) start with a URI scheme followed by "://"? */
static int
has_scheme(const char *s, const char *e)
{
	const char *q = memmem(s, (size_t)(e - s), "://", 3);

	if (q == NULL || q == s || !is_alpha(*s))
		return 0;
	for (const char *c = s; c < q; c++)
		if (!is_alpha(*c) && !is_digit(*c) && *c != '+' && *c != '-' &&
		    *c != '.')
			return 0;
	return 1;
}

static int
has_prefix_nocase(const char *s, const char *e, const char *prefix)
{
	size_t n = strlen(prefix);

	return (size_t)(e - s) >= n && strncasecmp(s, prefix, n) == 0;
}

/* The part after the authority: nothing, or a path Kubernetes drops. */
static const char *
check_rest(const char *s, const char *e)
{
	size_t n = (size_t)(e - s);

	if (memchr(s, '?', n) != NULL || memchr(s, '#', n) != NULL)
		return "must not contain a query or fragment";
	for (size_t i = 0; i < sizeof dropped_paths / sizeof *dropped_paths;
	    i++)
		if (strlen(dropped_paths[i]) == n &&
		    memcmp(dropped_paths[i], s, n) == 0)
			return NULL;
	return "must not contain a path (only /v1/ or /v2/ may follow the host)";
}

/* 1-65535 in decimal, no sign, no leading zero. */
static const char *
check_port(const char *s, const char *e)
{
	unsigned long v = 0;

	if (s == e)
		return "has an empty port";
	for (const char *c = s; c < e; c++)
		if (!is_digit(*c))
			return "has a port that is not a number";
	if (*s == '0' && e - s > 1)
		return "has a port with a leading zero";
	if (e - s > 5)
		return "has a port out of range (1-65535)";
	for (const char *c = s; c < e; c++)
		v = v * 10 + (unsigned long)(*c - '0');
	if (v < 1 || v > 65535)
		return "has a port out of range (1-65535)";
	return NULL;
}

/* Write an IPv6 address given between brackets as "[canonical]". */
static const char *
put_ipv6(const char *s, const char *e, char *out, size_t outlen, size_t *o)
{
	char text[INET6_ADDRSTRLEN];
	struct in6_addr a;
	size_t n = (size_t)(e - s);

	if (n == 0 || n >= sizeof text)
		return "has an invalid IPv6 address";
	memcpy(text, s, n);
	text[n] = '\0';
	if (inet_pton(AF_INET6, text, &a) != 1 ||
	    inet_ntop(AF_INET6, &a, text, sizeof text) == NULL)
		return "has an invalid IPv6 address";
	n = strlen(text);
	if (n + 2 >= outlen)
		return "is too long";
	out[0] = '[';
	memcpy(out + 1, text, n);
	out[n + 1] = ']';
	*o = n + 2;
	return NULL;
}

/*
 * A DNS name (LDH labels) or a dotted-quad IPv4 address: the latter when
 * the last label has no letter, as a top-level domain always has one.
 */
static const char *
put_host(const char *s, const char *e, char *out, size_t outlen, size_t *o)
{
	size_t n = (size_t)(e - s);
	const char *label = s, *last = s;
	int letter = 0;

	if (n == 0)
		return "has no host";
	if (n > HOST_MAX)
		return "has a host name longer than 253 characters";
	if (e[-1] == '.')
		return "must not end with a dot";
	for (const char *c = s; c <= e; c++) {
		if (c == e || *c == '.') {
			size_t ln = (size_t)(c - label);

			if (ln == 0)
				return "has an empty label in the host name";
			if (ln > LABEL_MAX)
				return "has a host name label longer than 63 "
				    "characters";
			if (*label == '-' || c[-1] == '-')
				return "has a host name label that starts or "
				    "ends with '-'";
			last = label;
			label = c + 1;
			continue;
		}
		if (!is_alpha(*c) && !is_digit(*c) && *c != '-')
			return "has a host name with a character other than "
			    "letters, digits, '-' and '.'";
	}
	for (const char *c = last; c < e; c++)
		if (is_alpha(*c))
			letter = 1;
	if (n + 1 > outlen)
		return "is too long";
	if (!letter) {
		char text[INET_ADDRSTRLEN];
		struct in_addr a;

		if (n >= sizeof text)
			return "is not a valid host name or IPv4 address";
		memcpy(text, s, n);
		text[n] = '\0';
		if (inet_pton(AF_INET, text, &a) != 1 ||
		    inet_ntop(AF_INET, &a, text, sizeof text) == NULL)
			return "is not a valid host name or IPv4 address";
		n = strlen(text);
		memcpy(out, text, n);
	} else
		for (size_t i = 0; i < n; i++)
			out[i] = to_lower(s[i]);
	*o = n;
	return NULL;
}

static const char *
normalize(const char *in, size_t len, char *out, size_t outlen)
{
	const char *p = in, *end = in + len, *auth, *auth_end;
	const char *host, *host_end, *port = NULL;
	const char *why;
	size_t o = 0;

	if (outlen < SERVER_MAX + 1)
		return "cannot be normalised (buffer too small)";
	if (len == 0)
		return "must not be empty";
	if (len > SERVER_IN_MAX)
		return "is too long";
	if ((why = check_bytes(in, len)) != NULL)
		return why;

	if (has_prefix_nocase(p, end, "https://"))
		p += 8;
	else if (has_prefix_nocase(p, end, "http://"))
		p += 7;
	if (has_scheme(p, end))
		return "must use the https:// or http:// scheme, or none";

	auth = p;
	auth_end = p;
	while (auth_end < end && *auth_end != '/' && *auth_end != '?' &&
	    *auth_end != '#')
		auth_end++;
	if (auth == auth_end)
		return "has no host";
	if (memchr(auth, '@', (size_t)(auth_end - auth)) != NULL)
		return "must not contain a user name or password";
	if ((why = check_rest(auth_end, end)) != NULL)
		return why;

	if (*auth == '[') {
		host = auth + 1;
		host_end = memchr(auth, ']', (size_t)(auth_end - auth));
		if (host_end == NULL)
			return "has an IPv6 address without its closing ']'";
		if (host_end + 1 < auth_end) {
			if (host_end[1] != ':')
				return "has unexpected text after the IPv6 "
				    "address";
			port = host_end + 2;
		}
	} else {
		const char *colon = memchr(auth, ':', (size_t)(auth_end - auth));

		host = auth;
		host_end = auth_end;
		if (colon != NULL) {
			if (memchr(colon + 1, ':',
			    (size_t)(auth_end - colon - 1)) != NULL)
				return "must give an IPv6 address in brackets";
			host_end = colon;
			port = colon + 1;
		}
	}
	if (port != NULL && (why = check_port(port, auth_end)) != NULL)
		return why;
	if (*auth == '[')
		why = put_ipv6(host, host_end, out, outlen, &o);
	else
		why = put_host(host, host_end, out, outlen, &o);
	if (why != NULL)
		return why;
	if (port != NULL) {
		size_t pn = (size_t)(auth_end - port);

		if (o + 1 + pn + 1 > outlen)
			return "is too long";
		out[o++] = ':';
		memcpy(out + o, port, pn);
		o += pn;
	}
	out[o] = '\0';
	return NULL;
}

int
server_normalize(const char *in, size_t len, char *out, size_t outlen,
                 const char **why)
{
	const char *w = normalize(in, len, out, outlen);

	if (w != NULL) {
		if (outlen > 0)
			out[0] = '\0';
		*why = w;
		return -1;
	}
	return 0;
}

const char *
server_key(const char *normalized)
{
	for (size_t i = 0;
	    i < sizeof docker_hub_aliases / sizeof *docker_hub_aliases; i++)
		if (strcmp(normalized, docker_hub_aliases[i]) == 0)
			return docker_hub_aliases[0];
	return normalized;
}

bool
server_same(const char *a, const char *b)
{
	return strcmp(server_key(a), server_key(b)) == 0;
}
