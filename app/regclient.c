/*
 * regclient: see regclient.h.  One libcurl easy handle per pull (so
 * connections and TLS sessions are reused from request to request), reset
 * and configured afresh before every request.
 *
 * Requests.  perform() sends one GET and follows redirects by hand, at
 * most REG_MAX_REDIRECTS: each hop's URL is checked (https, or http to a
 * host listed as insecure: anything else is insecure_registry_refused),
 * and the Authorization header goes only to the origin (scheme, host and
 * port) of the first URL: once a hop leaves it, no later hop gets it, even
 * one that comes back.  libcurl is told the one protocol of each hop's URL
 * and to use no proxy (an environment proxy would be connected to instead
 * of the address the policy checked).  The opensocket callback classes
 * every address libcurl is about to connect to (netpolicy) and refuses it
 * by policy; a refusal is remembered so the failure is reported as
 * address_blocked rather than as a connect error.  Response headers are
 * read by a header callback (status, Content-Type, Content-Length,
 * Docker-Content-Digest, Location, the first WWW-Authenticate that
 * parses); a new status line starts them afresh.  Bodies of 2xx answers
 * are kept in memory up to a cap (a larger one aborts the transfer), or,
 * for blobs, streamed into an ocistore temporary file, which checks the
 * size as it goes and the sha256 at the end; bodies of other answers are
 * kept up to ERROR_BODY_MAX for the registry's error code, the rest
 * dropped.
 *
 * CAs: when the policy names a ca_file, libcurl gets, as a blob, the
 * system bundle (libcurl's built-in CURLINFO_CAINFO path) followed by that
 * file, so private CAs are added to the system ones, not put in their
 * place.
 *
 * Authentication.  GET /v2/ without credentials.  200: anonymous (a later
 * 401 on a repository URL still starts the dance).  401 with Basic: the
 * credentials go on every request to the registry's origin.  401 with
 * Bearer: GET realm?service=S&scope=repository:REPO:pull&account=USER,
 * with the credentials as Basic auth when there are any; the realm must be
 * https unless its host is listed as insecure.  The answer must be JSON
 * with a non-empty "token" (or "access_token") of visible ASCII; its
 * expires_in (default and minimum 60 s, as the token spec says) decides
 * when it is fetched again before a request.  A 401 on a request made with
 * a token fetches a new token once and tries again.  The Basic and Bearer
 * header lines live in libgcrypt secure memory and are wiped; so is every
 * token response body.  Copies libcurl makes while sending (its request
 * buffer) and json-c's copy of the token string are not wiped: a known
 * limit.
 *
 * Pull.  Manifest by tag (Accept: the four types), its sha256 recorded as
 * the pull's digest and checked against Docker-Content-Digest when that
 * header holds a sha256 digest.  An index (OCI or Docker list) picks the
 * policy's platform, and that manifest is fetched by digest and checked
 * against the index entry's digest and size.  The config and each layer
 * not already in the store (same digest and size) are fetched; duplicates
 * in one manifest are fetched once.  Then the image manifest is stored as
 * a blob and index.json names it.  skopeo and umoci read only OCI
 * manifests from a layout, so a Docker v2 schema 2 manifest is stored
 * converted to an OCI manifest (same config and layer blobs, OCI media
 * types: manifest_to_oci), as `skopeo copy --format oci` would.
 * out->digest is the digest of what the tag names in the registry (for a
 * multi-platform tag, the index: what `docker pull` and `skopeo inspect`
 * show); out->manifest_digest is the manifest named in index.json (the
 * image manifest, or its OCI conversion).  The index itself and the
 * unconverted Docker manifest are not stored.
 *
 * Failure mapping: transport errors, 429 and 5xx are registry_unreachable
 * and transient (a certificate that does not verify is not transient:
 * retrying will not make it trusted); 401/403 are registry_auth_failed;
 * 404 (or MANIFEST_UNKNOWN / NAME_UNKNOWN) on the manifest, a blob missing
 * in the registry, or an index without the platform are image_not_found;
 * a digest or size that does not match is digest_mismatch, and nothing of
 * that blob stays in the store.  An https attempt to a host not listed as
 * insecure that fails in the TLS handshake (or, for a host named without
 * a port, cannot connect to 443) is followed by one plain http GET /v2/
 * without credentials: if that gets an HTTP answer, the failure is
 * insecure_registry_refused.  A listed insecure host is tried over https
 * first, then over http.
 */
#include "regclient.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <gcrypt.h>
#include <json-c/json.h>

#include "b64.h"
#include "crypto.h"
#include "imageref.h"
#include "jsonin.h"
#include "log.h"
#include "manifest.h"
#include "netpolicy.h"
#include "ocistore.h"
#include "server.h"
#include "wwwauth.h"

#define REG_MAX_REDIRECTS 5
#define URL_MAX 8192
#define ERROR_BODY_MAX (64 * 1024)
#define TOKEN_BODY_MAX (64 * 1024)
#define TOKEN_MAX (16 * 1024)
#define TOKEN_MIN_LIFETIME_S 60
#define CA_BUNDLE_MAX (8L * 1024 * 1024)
#define DEFAULT_CONNECT_S 10
#define DEFAULT_STALL_S 30
#define DEFAULT_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"
#define USER_AGENT "modbox-regclient/1"
#define DOCKER_HUB_API "registry-1.docker.io"

#define ACCEPT_ANY_MANIFEST "Accept: " MT_OCI_INDEX ", " MT_DOCKER_LIST ", " \
	MT_OCI_MANIFEST ", " MT_DOCKER_MANIFEST
#define ACCEPT_IMAGE_MANIFEST "Accept: " MT_OCI_MANIFEST ", " MT_DOCKER_MANIFEST

struct client {
	const struct reg_policy *pol;
	const struct reg_creds *creds;	/* NULL: anonymous */
	struct reg_result *out;
	char host[SERVER_MAX + 1];	/* as the user named it, for messages */
	char api_host[SERVER_MAX + 1];	/* where the API is served */
	const char *repo;
	bool host_insecure;		/* listed: http allowed */
	const char *scheme;		/* "https", or "http" for a listed host */
	CURL *curl;
	char *ca;			/* system bundle + ca_file, or NULL */
	size_t ca_len;
	bool has_deadline;
	struct timespec deadline;
	/* Set by the opensocket callback during one transfer. */
	bool blocked;
	enum netpolicy_class blocked_class;
	char blocked_addr[INET6_ADDRSTRLEN];
	/* Authentication state. */
	enum wwwauth_scheme auth;	/* WWWAUTH_NONE: anonymous so far */
	char realm[WWWAUTH_VALUE_MAX];	/* token service URL (Bearer) */
	char service[WWWAUTH_VALUE_MAX]; /* its service parameter, or "" */
	char *basic;			/* secure: "Authorization: Basic ..." */
	size_t basic_len;		/* bytes allocated for basic */
	char *bearer;			/* secure: "Authorization: Bearer ..." */
	size_t bearer_len;		/* bytes allocated for bearer */
	struct timespec bearer_expiry;	/* CLOCK_MONOTONIC: fetch a new one after */
	char errbuf[CURL_ERROR_SIZE];	/* libcurl's message for the last transfer */
	struct timespec last_progress;	/* CLOCK_MONOTONIC of the last pol->progress call */
	bool cancelled;			/* pol->progress asked to stop */
};

struct request {
	char url[URL_MAX];		/* the first URL (redirects are followed) */
	const char *accept;		/* a whole header line, or NULL */
	const char *auth;		/* a whole header line for the origin, or NULL */
	size_t body_max;		/* cap for a 2xx body kept in memory */
	struct ocistore_blob *blob;	/* a 200 body goes here instead */
	long long blob_size;		/* the descriptor's size */
	bool secret_body;		/* wipe the body when freed */
};

struct response {
	const struct request *rq;	/* what was asked (body caps, blob) */
	long status;			/* of the last status line; 0: none */
	char content_type[256];		/* "" when absent or too long */
	char docker_digest[128];	/* Docker-Content-Digest, "" when absent */
	char location[URL_MAX];		/* Location, "" when absent */
	bool location_bad;		/* Location too long to use */
	bool have_challenge;		/* a WWW-Authenticate parsed into challenge */
	struct wwwauth challenge;
	long long content_length;	/* -1: not given */
	char *body;			/* malloc'd, NUL-terminated; NULL when empty */
	size_t len, cap;		/* bytes in body, bytes allocated */
	bool too_big;			/* a 2xx body past body_max */
	bool blob_overrun;		/* more bytes than the descriptor says */
	bool blob_io;			/* the store could not write */
};

/* ------------------------------------------------------------ results */

const char *
reg_error_code(enum reg_error e)
{
	switch (e) {
	case REG_OK:			return "";
	case REG_AUTH_FAILED:		return "registry_auth_failed";
	case REG_IMAGE_NOT_FOUND:	return "image_not_found";
	case REG_UNREACHABLE:		return "registry_unreachable";
	case REG_DIGEST_MISMATCH:	return "digest_mismatch";
	case REG_INSECURE_REFUSED:	return "insecure_registry_refused";
	case REG_ADDRESS_BLOCKED:	return "address_blocked";
	case REG_PROTOCOL:		return "registry_unreachable";
	case REG_INTERNAL:		break;
	}
	return "internal_error";
}

__attribute__((format(printf, 4, 5))) static int
fail(struct client *c, enum reg_error e, bool transient, const char *fmt, ...)
{
	struct reg_result *o = c->out;
	va_list ap;

	o->error = e;
	o->transient = transient;
	snprintf(o->code, sizeof o->code, "%s", reg_error_code(e));
	va_start(ap, fmt);
	vsnprintf(o->message, sizeof o->message, fmt, ap);
	va_end(ap);
	return -1;
}

/* ----------------------------------------------------------- secrets */

static void
secret_free(char **p, size_t *len)
{
	if (*p != NULL) {
		crypto_wipe(*p, *len);
		gcry_free(*p);
	}
	*p = NULL;
	*len = 0;
}

/* "Authorization: Basic " + base64(user ":" password), in secure memory.
 * The joined credentials pass through a small secure scratch buffer in
 * chunks of 3 bytes' multiples, so no full plaintext copy is made. */
static int
ensure_basic(struct client *c)
{
	static const char prefix[] = "Authorization: Basic ";
	const struct reg_creds *cr = c->creds;
	size_t ulen, total, cap, o;
	unsigned char *scratch;
	size_t fill = 0;

	if (c->basic != NULL)
		return 0;
	if (cr == NULL || cr->username == NULL || cr->password == NULL)
		return -1;
	ulen = strlen(cr->username);
	total = ulen + 1 + cr->password_len;
	cap = sizeof prefix + b64_encoded_len(total);
	if ((c->basic = gcry_malloc_secure(cap)) == NULL)
		return fail(c, REG_INTERNAL, false,
		    "out of secure memory for the credentials");
	c->basic_len = cap;
	if ((scratch = gcry_malloc_secure(768)) == NULL) {
		secret_free(&c->basic, &c->basic_len);
		return fail(c, REG_INTERNAL, false,
		    "out of secure memory for the credentials");
	}
	memcpy(c->basic, prefix, sizeof prefix - 1);
	o = sizeof prefix - 1;
	for (size_t i = 0; i < total; i++) {
		scratch[fill++] = i < ulen ? (unsigned char)cr->username[i] :
		    i == ulen ? ':' : (unsigned char)cr->password[i - ulen - 1];
		if (fill == 768 || i + 1 == total) {
			o += b64_encode(scratch, fill, c->basic + o);
			fill = 0;
		}
	}
	c->basic[o] = '\0';
	crypto_wipe(scratch, 768);
	gcry_free(scratch);
	return 0;
}

/* ---------------------------------------------------------- callbacks */

static curl_socket_t
open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct client *c = clientp;
	enum netpolicy_class cls;
	int fd;

	if (purpose != CURLSOCKTYPE_IPCXN)
		return CURL_SOCKET_BAD;
	cls = netpolicy_classify(&a->addr, a->addrlen);
	if (netpolicy_refused(cls, c->pol->allow_private)) {
		const void *raw = NULL;

		c->blocked = true;
		c->blocked_class = cls;
		c->blocked_addr[0] = '\0';
		if (a->family == AF_INET)
			raw = &((const struct sockaddr_in *)(void *)&a->addr)->sin_addr;
		else if (a->family == AF_INET6)
			raw = &((const struct sockaddr_in6 *)(void *)&a->addr)->sin6_addr;
		if (raw == NULL || inet_ntop(a->family, raw, c->blocked_addr,
		    sizeof c->blocked_addr) == NULL)
			snprintf(c->blocked_addr, sizeof c->blocked_addr, "?");
		return CURL_SOCKET_BAD;
	}
	fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	return fd < 0 ? CURL_SOCKET_BAD : fd;
}

static void
headers_reset(struct response *r)
{
	r->status = 0;
	r->content_type[0] = '\0';
	r->docker_digest[0] = '\0';
	r->location[0] = '\0';
	r->location_bad = false;
	r->have_challenge = false;
	memset(&r->challenge, 0, sizeof r->challenge);
	r->content_length = -1;
}

static bool
header_is(const char *name, size_t n, const char *want)
{
	return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

/* Copy n bytes of v into dst (cap); false when it does not fit. */
static bool
copy_value(char *dst, size_t cap, const char *v, size_t n)
{
	if (n >= cap)
		return false;
	memcpy(dst, v, n);
	dst[n] = '\0';
	return true;
}

static size_t
on_header(char *buf, size_t size, size_t nitems, void *ud)
{
	struct response *r = ud;
	size_t n = size * nitems, len = n, nl;
	const char *colon, *v;

	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
		const char *sp = memchr(buf, ' ', len);

		headers_reset(r);
		if (sp != NULL && (size_t)(sp - buf) + 4 <= len &&
		    sp[1] >= '1' && sp[1] <= '5' && sp[2] >= '0' &&
		    sp[2] <= '9' && sp[3] >= '0' && sp[3] <= '9')
			r->status = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 +
			    (sp[3] - '0');
		return n;
	}
	if ((colon = memchr(buf, ':', len)) == NULL)
		return n;
	nl = (size_t)(colon - buf);
	v = colon + 1;
	while (v < buf + len && (*v == ' ' || *v == '\t'))
		v++;
	len = (size_t)(buf + len - v);
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	if (header_is(buf, nl, "content-type")) {
		if (!copy_value(r->content_type, sizeof r->content_type, v, len))
			r->content_type[0] = '\0';
	} else if (header_is(buf, nl, "docker-content-digest")) {
		if (!copy_value(r->docker_digest, sizeof r->docker_digest, v, len))
			r->docker_digest[0] = '\0';
	} else if (header_is(buf, nl, "location")) {
		if (!copy_value(r->location, sizeof r->location, v, len))
			r->location_bad = true;
	} else if (header_is(buf, nl, "www-authenticate")) {
		if (!r->have_challenge &&
		    wwwauth_parse(v, len, &r->challenge) == 0)
			r->have_challenge = true;
	} else if (header_is(buf, nl, "content-length")) {
		long long cl = 0;
		size_t i;

		for (i = 0; i < len && v[i] >= '0' && v[i] <= '9' &&
		    cl < (1LL << 52); i++)
			cl = cl * 10 + (v[i] - '0');
		if (i == len && len > 0)
			r->content_length = cl;
		if (r->status == 200 && r->rq->blob != NULL &&
		    r->rq->blob_size >= 0 && r->content_length > r->rq->blob_size) {
			r->blob_overrun = true;
			return 0;	/* abort: longer than its descriptor */
		}
	}
	return n;
}

static size_t
on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	struct response *r = ud;
	size_t n = size * nmemb, max;
	bool ok2xx = r->status >= 200 && r->status < 300;

	if (r->status == 200 && r->rq->blob != NULL) {
		switch (ocistore_blob_write(r->rq->blob, p, n)) {
		case OCISTORE_OK:
			return n;
		case OCISTORE_SIZE:
			r->blob_overrun = true;
			return 0;
		default:
			r->blob_io = true;
			return 0;
		}
	}
	max = ok2xx && r->rq->blob == NULL ? r->rq->body_max : ERROR_BODY_MAX;
	if (r->len + n > max) {
		if (ok2xx && r->rq->blob == NULL) {
			r->too_big = true;
			return 0;
		}
		n = max - r->len;	/* an error body: keep its start */
		if (n == 0)
			return size * nmemb;
	}
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 16384;
		char *nb;

		while (cap < r->len + n + 1)
			cap *= 2;
		if (cap > max + 1)
			cap = max + 1;
		if (r->rq->secret_body) {
			/* Grow by hand so the old copy can be wiped. */
			if ((nb = malloc(cap)) == NULL)
				return 0;
			if (r->len > 0)
				memcpy(nb, r->body, r->len);
			if (r->body != NULL) {
				crypto_wipe(r->body, r->cap);
				free(r->body);
			}
		} else if ((nb = realloc(r->body, cap)) == NULL)
			return 0;
		r->body = nb;
		r->cap = cap;
	}
	memcpy(r->body + r->len, p, n);
	r->len += n;
	r->body[r->len] = '\0';
	return size * nmemb;
}

static void
response_free(struct response *r)
{
	if (r->body != NULL && r->rq != NULL && r->rq->secret_body)
		crypto_wipe(r->body, r->cap);
	free(r->body);
	r->body = NULL;
	r->len = r->cap = 0;
}

static void
response_reset(struct response *r, const struct request *rq)
{
	response_free(r);
	memset(r, 0, sizeof *r);
	r->rq = rq;
	headers_reset(r);
}

/* ------------------------------------------------------------ requests */

static long
remaining_ms(const struct client *c)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(c->deadline.tv_sec - now.tv_sec) * 1000 +
	    (c->deadline.tv_nsec - now.tv_nsec) / 1000000;
	return ms < 1 ? 0 : ms > 86400000LL ? 86400000L : (long)ms;
}

/* libcurl's progress callback: at most once a second, ask the caller's
 * pol->progress whether to go on. */
static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
            curl_off_t ulnow)
{
	struct client *c = arg;
	struct timespec now;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec == c->last_progress.tv_sec)
		return 0;
	c->last_progress = now;
	if (c->pol->progress(c->pol->progress_arg) != 0) {
		c->cancelled = true;
		return 1;
	}
	return 0;
}

#define SET(opt, val) do { \
	if ((rc = curl_easy_setopt(c->curl, opt, val)) != CURLE_OK) \
		goto out; \
} while (0)

/*
 * One GET of url over scheme ("https" or "http"), no redirects followed.
 * auth and rq->accept are whole header lines or NULL.
 */
static CURLcode
transfer(struct client *c, const char *url, const char *scheme,
         const char *auth, const struct request *rq, struct response *r)
{
	struct curl_slist *hdrs = NULL, *h;
	struct curl_blob ca;
	CURLcode rc = CURLE_OUT_OF_MEMORY;
	long connect_s = c->pol->connect_timeout_s > 0 ?
	    c->pol->connect_timeout_s : DEFAULT_CONNECT_S;
	long stall_s = c->pol->stall_timeout_s > 0 ?
	    c->pol->stall_timeout_s : DEFAULT_STALL_S;

	response_reset(r, rq);
	c->blocked = false;
	c->errbuf[0] = '\0';
	if (c->has_deadline && remaining_ms(c) == 0)
		return CURLE_OPERATION_TIMEDOUT;
	if (rq->accept != NULL &&
	    (hdrs = curl_slist_append(hdrs, rq->accept)) == NULL)
		goto out;
	if (auth != NULL) {
		if ((h = curl_slist_append(hdrs, auth)) == NULL)
			goto out;
		hdrs = h;
	}
	curl_easy_reset(c->curl);
	SET(CURLOPT_URL, url);
	SET(CURLOPT_PROTOCOLS_STR, scheme);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_PROXY, "");
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (c->ca != NULL) {
		ca.data = c->ca;
		ca.len = c->ca_len;
		ca.flags = CURL_BLOB_NOCOPY;
		SET(CURLOPT_CAINFO_BLOB, &ca);
	}
	SET(CURLOPT_CONNECTTIMEOUT, connect_s);
	SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
	SET(CURLOPT_LOW_SPEED_TIME, stall_s);
	if (c->has_deadline)
		SET(CURLOPT_TIMEOUT_MS, remaining_ms(c));
	SET(CURLOPT_OPENSOCKETFUNCTION, open_socket);
	SET(CURLOPT_OPENSOCKETDATA, c);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, r);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, r);
	SET(CURLOPT_ERRORBUFFER, c->errbuf);
	SET(CURLOPT_USERAGENT, USER_AGENT);
	SET(CURLOPT_HTTPHEADER, hdrs);
	if (c->pol->progress != NULL) {
		SET(CURLOPT_NOPROGRESS, 0L);
		SET(CURLOPT_XFERINFOFUNCTION, on_progress);
		SET(CURLOPT_XFERINFODATA, c);
	}
	rc = curl_easy_perform(c->curl);
out:
	/* libcurl made no copy of the list: wipe the Authorization line. */
	for (h = hdrs; h != NULL; h = h->next)
		crypto_wipe(h->data, strlen(h->data));
	curl_slist_free_all(hdrs);
	if (c->curl != NULL)
		curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	return rc;
}

#undef SET

struct origin {
	char scheme[8];
	char authority[SERVER_MAX + 8];	/* host[:port] as the URL gives it */
	char key[SERVER_MAX + 24];	/* scheme://host:port, port made explicit */
};

/* Split url into its origin.  Returns 0, or -1 when it is not a URL of
 * http or https with a host and without userinfo. */
static int
origin_of(const char *url, struct origin *o)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *dport = NULL,
	    *user = NULL;
	int rc = -1;

	memset(o, 0, sizeof *o);
	if (u == NULL || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &dport, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK)
		goto out;	/* userinfo: refused */
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
		port = NULL;
	if (strcasecmp(scheme, "https") != 0 && strcasecmp(scheme, "http") != 0)
		goto out;
	for (char *p = host; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if (snprintf(o->scheme, sizeof o->scheme, "%s",
	    strcasecmp(scheme, "https") == 0 ? "https" : "http") < 0 ||
	    (size_t)snprintf(o->authority, sizeof o->authority, "%s%s%s", host,
	    port ? ":" : "", port ? port : "") >= sizeof o->authority ||
	    (size_t)snprintf(o->key, sizeof o->key, "%s://%s:%s", o->scheme,
	    host, dport) >= sizeof o->key)
		goto out;
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(dport);
	curl_free(user);
	curl_url_cleanup(u);
	return rc;
}

/* Resolve location against base into out (URL_MAX).  Returns 0 or -1. */
static int
resolve_location(const char *base, const char *location, char *out)
{
	CURLU *u = curl_url();
	char *s = NULL;
	int rc = -1;

	if (u != NULL && curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_URL, location, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK &&
	    strlen(s) < URL_MAX) {
		strcpy(out, s);
		rc = 0;
	}
	curl_free(s);
	curl_url_cleanup(u);
	return rc;
}

static bool
is_redirect(long status)
{
	return status == 301 || status == 302 || status == 303 ||
	    status == 307 || status == 308;
}

static bool
ssl_error(CURLcode rc)
{
	return rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_SSL_CERTPROBLEM ||
	    rc == CURLE_SSL_CIPHER || rc == CURLE_PEER_FAILED_VERIFICATION ||
	    rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_ISSUER_ERROR ||
	    rc == CURLE_SSL_INVALIDCERTSTATUS ||
	    rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH ||
	    rc == CURLE_SSL_SHUTDOWN_FAILED;
}

/* Turn a transfer's failure into the result.  what: "the registry at
 * HOST", "the token service at HOST", ... */
static int
transport_failure(struct client *c, CURLcode rc, const struct response *r,
                  const char *what)
{
	const char *detail = c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);

	if (c->blocked) {
		if (netpolicy_refused(c->blocked_class, true))
			return fail(c, REG_ADDRESS_BLOCKED, false,
			    "%s resolves to %s (%s address), which is never "
			    "connected to", what, c->blocked_addr,
			    netpolicy_class_name(c->blocked_class));
		return fail(c, REG_ADDRESS_BLOCKED, false,
		    "%s resolves to %s (%s address); connections to private "
		    "networks are refused (allow_private_networks is off)",
		    what, c->blocked_addr,
		    netpolicy_class_name(c->blocked_class));
	}
	if (r->blob_overrun)
		return fail(c, REG_DIGEST_MISMATCH, false,
		    "%s sent more bytes than the descriptor's size", what);
	if (r->blob_io)
		return fail(c, REG_INTERNAL, false,
		    "cannot write to the image store (see the log)");
	if (r->too_big)
		return fail(c, REG_PROTOCOL, false,
		    "%s sent a response larger than %zu bytes", what,
		    r->rq->body_max);
	switch (rc) {
	case CURLE_ABORTED_BY_CALLBACK:
		return fail(c, REG_UNREACHABLE, true, "%s: the pull was "
		    "interrupted (the provisioner is stopping)", what);
	case CURLE_COULDNT_RESOLVE_HOST:
		return fail(c, REG_UNREACHABLE, true, "%s: cannot resolve the "
		    "host name (%s)", what, detail);
	case CURLE_COULDNT_CONNECT:
		return fail(c, REG_UNREACHABLE, true, "%s: cannot connect (%s)",
		    what, detail);
	case CURLE_OPERATION_TIMEDOUT:
		return fail(c, REG_UNREACHABLE, true, "%s: timed out (%s)", what,
		    detail);
	case CURLE_PEER_FAILED_VERIFICATION:
		return fail(c, REG_UNREACHABLE, false, "%s: its TLS certificate "
		    "is not trusted (%s); if it is signed by a private CA, set "
		    "ca_file", what, detail);
	default:
		break;
	}
	if (ssl_error(rc))
		return fail(c, REG_UNREACHABLE, true, "%s: TLS handshake failed "
		    "(%s)", what, detail);
	return fail(c, REG_UNREACHABLE, true, "%s: %s", what, detail);
}

/*
 * GET rq->url, following redirects by hand.  The Authorization line
 * rq->auth goes only to the first URL's origin.  Returns 0 with r holding
 * the final answer, or -1 with the result filled (what names the party in
 * messages).
 */
static int
perform(struct client *c, struct request *rq, struct response *r,
        const char *what)
{
	char url[URL_MAX];
	struct origin first, here;
	bool send_auth = rq->auth != NULL;
	CURLcode rc;

	snprintf(url, sizeof url, "%s", rq->url);
	if (origin_of(url, &first) < 0)
		return fail(c, REG_PROTOCOL, false, "%s: not a valid URL", what);
	for (int hop = 0;; hop++) {
		if (origin_of(url, &here) < 0)
			return fail(c, REG_PROTOCOL, false, "%s redirected to a URL "
			    "that is not valid http(s)", what);
		if (strcmp(here.scheme, "http") == 0 &&
		    !netpolicy_host_insecure(here.authority, c->pol->insecure,
		    c->pol->n_insecure))
			return fail(c, REG_INSECURE_REFUSED, false,
			    "%s%s would use plain HTTP to %s, which is not listed "
			    "in insecure_registries", what,
			    hop > 0 ? " (after a redirect)" : "", here.authority);
		if (strcmp(here.key, first.key) != 0)
			send_auth = false;
		rc = transfer(c, url, here.scheme, send_auth ? rq->auth : NULL,
		    rq, r);
		if (rc != CURLE_OK)
			return transport_failure(c, rc, r, what);
		if (!is_redirect(r->status))
			return 0;
		if (r->location[0] == '\0' || r->location_bad)
			return fail(c, REG_PROTOCOL, false, "%s answered %ld "
			    "without a usable Location", what, r->status);
		if (hop == REG_MAX_REDIRECTS)
			return fail(c, REG_PROTOCOL, false, "%s: more than %d "
			    "redirects", what, REG_MAX_REDIRECTS);
		if (resolve_location(url, r->location, url) < 0)
			return fail(c, REG_PROTOCOL, false, "%s redirected to a URL "
			    "that is not valid", what);
	}
}

/* ------------------------------------------------------ registry errors */

/* The first "code" of a registry error body ({"errors":[{"code":..}]})
 * into code (cap bytes), or "". */
static void
registry_error_code(const struct response *r, char *code, size_t cap)
{
	struct json_object *root = NULL, *errs, *e, *v;
	const char *why;

	code[0] = '\0';
	if (r->body == NULL || r->len == 0 ||
	    jsonin_parse(r->body, r->len, &root, &why) != JSONIN_OK)
		return;
	if (json_object_object_get_ex(root, "errors", &errs) &&
	    json_object_is_type(errs, json_type_array) &&
	    json_object_array_length(errs) > 0 &&
	    (e = json_object_array_get_idx(errs, 0)) != NULL &&
	    json_object_is_type(e, json_type_object) &&
	    json_object_object_get_ex(e, "code", &v) &&
	    json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		size_t i;

		for (i = 0; s[i] != '\0' && i + 1 < cap; i++)
			code[i] = (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_' ?
			    s[i] : '?';
		code[i] = '\0';
	}
	json_object_put(root);
}

/* A status that is not what was wanted, as a failure about what. */
static int
status_failure(struct client *c, const struct response *r, const char *what)
{
	if (r->status == 429)
		return fail(c, REG_UNREACHABLE, true, "%s answered 429 (too many "
		    "requests)", what);
	if (r->status >= 500)
		return fail(c, REG_UNREACHABLE, true, "%s answered %ld (a server "
		    "error)", what, r->status);
	if (r->status == 401 || r->status == 403) {
		if (c->creds != NULL)
			return fail(c, REG_AUTH_FAILED, false, "%s refused the "
			    "stored credentials (%ld)", what, r->status);
		return fail(c, REG_AUTH_FAILED, false, "%s requires "
		    "credentials (%ld); link a registry credential to the "
		    "image", what, r->status);
	}
	return fail(c, REG_PROTOCOL, false, "%s answered %ld unexpectedly",
	    what, r->status);
}

/* --------------------------------------------------------------- auth */

static void
bearer_drop(struct client *c)
{
	secret_free(&c->bearer, &c->bearer_len);
}

static bool
bearer_expired(const struct client *c)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec >= c->bearer_expiry.tv_sec;
}

static int
take_challenge(struct client *c, const struct wwwauth *w, const char *what)
{
	if (w->scheme == WWWAUTH_BEARER) {
		if (w->realm[0] == '\0')
			return fail(c, REG_PROTOCOL, false, "%s asks for a bearer "
			    "token without naming a realm", what);
		if (c->auth != WWWAUTH_BEARER || strcmp(c->realm, w->realm) != 0 ||
		    strcmp(c->service, w->service) != 0)
			bearer_drop(c);
		memcpy(c->realm, w->realm, sizeof c->realm);
		memcpy(c->service, w->service, sizeof c->service);
	}
	c->auth = w->scheme;
	return 0;
}

/* Check and keep the token of a token service's answer. */
static int
take_token(struct client *c, const struct response *r, const char *what)
{
	static const char prefix[] = "Authorization: Bearer ";
	struct json_object *root = NULL, *v;
	const char *tok = NULL, *why;
	long long life = TOKEN_MIN_LIFETIME_S;
	size_t n;
	int rc = -1;

	if (r->body == NULL ||
	    jsonin_parse(r->body, r->len, &root, &why) != JSONIN_OK) {
		fail(c, REG_PROTOCOL, false, "%s answered something that is not "
		    "a JSON object", what);
		goto out;
	}
	if (json_object_object_get_ex(root, "token", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    json_object_get_string_len(v) > 0)
		tok = json_object_get_string(v);
	else if (json_object_object_get_ex(root, "access_token", &v) &&
	    json_object_is_type(v, json_type_string))
		tok = json_object_get_string(v);
	if (tok == NULL || (n = strlen(tok)) == 0 || n > TOKEN_MAX) {
		fail(c, REG_PROTOCOL, false, "%s answered without a usable token",
		    what);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (tok[i] <= ' ' || tok[i] > '~') {
			fail(c, REG_PROTOCOL, false, "%s answered a token with "
			    "characters not allowed in a header", what);
			goto out;
		}
	if (json_object_object_get_ex(root, "expires_in", &v)) {
		if (!json_object_is_type(v, json_type_int)) {
			fail(c, REG_PROTOCOL, false, "%s answered an expires_in "
			    "that is not an integer", what);
			goto out;
		}
		if (json_object_get_int64(v) > life)
			life = json_object_get_int64(v);
		if (life > 86400)
			life = 86400;
	}
	bearer_drop(c);
	c->bearer_len = sizeof prefix + n;
	if ((c->bearer = gcry_malloc_secure(c->bearer_len)) == NULL) {
		c->bearer_len = 0;
		fail(c, REG_INTERNAL, false, "out of secure memory for the token");
		goto out;
	}
	memcpy(c->bearer, prefix, sizeof prefix - 1);
	memcpy(c->bearer + sizeof prefix - 1, tok, n + 1);
	clock_gettime(CLOCK_MONOTONIC, &c->bearer_expiry);
	/* Ten seconds' margin for the time the request takes. */
	c->bearer_expiry.tv_sec += (time_t)life - 10;
	rc = 0;
out:
	json_object_put(root);
	return rc;
}

/* Fetch a token from the realm, for scope ("repository:NAME:pull") or for
 * no scope (verify without a repository). */
static int
fetch_token(struct client *c, const char *scope)
{
	struct request rq;
	struct response r;
	struct origin o;
	char what[SERVER_MAX + 64], *url = NULL;
	CURLU *u = NULL;
	int rc = -1;

	memset(&rq, 0, sizeof rq);
	memset(&r, 0, sizeof r);
	if (origin_of(c->realm, &o) < 0)
		return fail(c, REG_PROTOCOL, false, "the registry at %s names a "
		    "token realm that is not an http(s) URL", c->host);
	snprintf(what, sizeof what, "the token service at %s", o.authority);
	if (strcmp(o.scheme, "https") != 0 && !netpolicy_host_insecure(
	    o.authority, c->pol->insecure, c->pol->n_insecure))
		return fail(c, REG_INSECURE_REFUSED, false, "the registry at %s "
		    "sends credentials to a token service over plain HTTP "
		    "(%s), which is not listed in insecure_registries", c->host,
		    o.authority);
	if ((u = curl_url()) == NULL ||
	    curl_url_set(u, CURLUPART_URL, c->realm, 0) != CURLUE_OK)
		goto nomem;
	if (c->service[0] != '\0') {
		char q[WWWAUTH_VALUE_MAX + 16];

		snprintf(q, sizeof q, "service=%s", c->service);
		if (curl_url_set(u, CURLUPART_QUERY, q, CURLU_APPENDQUERY |
		    CURLU_URLENCODE) != CURLUE_OK)
			goto nomem;
	}
	if (scope != NULL) {
		char q[IMAGEREF_NAME_MAX + 32];

		snprintf(q, sizeof q, "scope=%s", scope);
		if (curl_url_set(u, CURLUPART_QUERY, q, CURLU_APPENDQUERY |
		    CURLU_URLENCODE) != CURLUE_OK)
			goto nomem;
	}
	if (c->creds != NULL && c->creds->username != NULL) {
		char q[300];

		snprintf(q, sizeof q, "account=%s", c->creds->username);
		if (curl_url_set(u, CURLUPART_QUERY, q, CURLU_APPENDQUERY |
		    CURLU_URLENCODE) != CURLUE_OK)
			goto nomem;
	}
	if (curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK ||
	    strlen(url) >= sizeof rq.url)
		goto nomem;
	strcpy(rq.url, url);
	if (c->creds != NULL) {
		if (ensure_basic(c) < 0)
			goto out;
		rq.auth = c->basic;
	}
	rq.body_max = TOKEN_BODY_MAX;
	rq.secret_body = true;
	if (perform(c, &rq, &r, what) < 0)
		goto out;
	if (r.status != 200) {
		status_failure(c, &r, what);
		goto out;
	}
	rc = take_token(c, &r, what);
	goto out;
nomem:
	fail(c, REG_PROTOCOL, false, "the registry at %s names a token realm "
	    "that cannot be used", c->host);
out:
	response_free(&r);
	curl_free(url);
	curl_url_cleanup(u);
	return rc;
}

/* Make sure the credentials the registry asked for are at hand. */
static int
ready_auth(struct client *c, const char *scope)
{
	if (c->auth == WWWAUTH_BASIC) {
		if (c->creds == NULL)
			return fail(c, REG_AUTH_FAILED, false, "the registry at %s "
			    "requires credentials; link a registry credential "
			    "to the image", c->host);
		return ensure_basic(c);
	}
	if (c->auth == WWWAUTH_BEARER && (c->bearer == NULL ||
	    bearer_expired(c)))
		return fetch_token(c, scope);
	return 0;
}

static const char *
auth_line(const struct client *c)
{
	if (c->auth == WWWAUTH_BASIC)
		return c->basic;
	if (c->auth == WWWAUTH_BEARER)
		return c->bearer;
	return NULL;
}

/*
 * GET path on the registry with the current credentials.  A 401 with a
 * challenge is answered once: a new token, or credentials for a registry
 * that let /v2/ through without any.  Returns 0 with r holding the
 * answer (which may still be 401), or -1 with the result filled.
 */
static int
registry_get(struct client *c, const char *path, struct request *rq,
             struct response *r, const char *scope, const char *what)
{
	bool retried = false;

	snprintf(rq->url, sizeof rq->url, "%s://%s%s", c->scheme, c->api_host,
	    path);
	for (;;) {
		if (ready_auth(c, scope) < 0)
			return -1;
		rq->auth = auth_line(c);
		if (perform(c, rq, r, what) < 0)
			return -1;
		if (r->status != 401 || !r->have_challenge || retried)
			return 0;
		if (c->auth == WWWAUTH_BASIC &&
		    r->challenge.scheme == WWWAUTH_BASIC)
			return 0;	/* the credentials were refused */
		if (c->auth == WWWAUTH_NONE && r->challenge.scheme ==
		    WWWAUTH_BASIC && c->creds == NULL)
			return 0;	/* nothing to send */
		if (take_challenge(c, &r->challenge, what) < 0)
			return -1;
		bearer_drop(c);
		retried = true;
	}
}

/* ------------------------------------------------------------ set-up */

static char *
read_file(const char *path, size_t max, size_t *len)
{
	struct stat sb;
	char *b = NULL;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*len = 0;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    (size_t)sb.st_size > max) {
		close(fd);
		errno = EFBIG;
		return NULL;
	}
	if ((b = malloc((size_t)sb.st_size + 2)) == NULL) {
		close(fd);
		return NULL;
	}
	while (got < (size_t)sb.st_size) {
		ssize_t r = read(fd, b + got, (size_t)sb.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	*len = got;
	return b;
}

/* System bundle + ca_file, so a private CA adds to the system ones. */
static int
load_cas(struct client *c)
{
	const char *sys = NULL;
	char *sysbuf, *extra;
	size_t syslen = 0, extralen;

	if (c->pol->ca_file == NULL || c->pol->ca_file[0] == '\0')
		return 0;
	if ((extra = read_file(c->pol->ca_file, CA_BUNDLE_MAX, &extralen)) ==
	    NULL) {
		log_error("ca_file %s: %s", c->pol->ca_file, strerror(errno));
		return fail(c, REG_INTERNAL, false, "cannot read ca_file %s: %s",
		    c->pol->ca_file, strerror(errno));
	}
	if (curl_easy_getinfo(c->curl, CURLINFO_CAINFO, &sys) != CURLE_OK ||
	    sys == NULL)
		sys = DEFAULT_CA_BUNDLE;
	if ((sysbuf = read_file(sys, CA_BUNDLE_MAX, &syslen)) == NULL) {
		log_warn("system CA bundle %s: %s; using ca_file alone", sys,
		    strerror(errno));
		syslen = 0;
	}
	if ((c->ca = malloc(syslen + extralen + 2)) == NULL) {
		free(sysbuf);
		free(extra);
		return fail(c, REG_INTERNAL, false, "out of memory");
	}
	if (syslen > 0)
		memcpy(c->ca, sysbuf, syslen);
	c->ca[syslen] = '\n';
	memcpy(c->ca + syslen + 1, extra, extralen);
	c->ca_len = syslen + 1 + extralen;
	free(sysbuf);
	free(extra);
	return 0;
}

/* [a-z0-9]+ components joined by separators and '/', as imageref keeps them. */
static bool
repo_valid(const char *s)
{
	size_t n = strlen(s);
	bool need = true;

	if (n == 0 || n > IMAGEREF_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
			need = false;
		else if (ch == '.' || ch == '_' || ch == '-' || ch == '/') {
			if (need)
				return false;
			if (ch == '/')
				need = true;
		} else
			return false;
	}
	return !need;
}

static int
client_init(struct client *c, const struct reg_policy *pol, const char *host,
            const char *repo, const struct reg_creds *creds,
            struct reg_result *out)
{
	const char *why;

	memset(c, 0, sizeof *c);
	memset(out, 0, sizeof *out);
	c->pol = pol;
	c->out = out;
	c->repo = repo;
	c->creds = creds != NULL && creds->username != NULL &&
	    creds->password != NULL ? creds : NULL;
	c->scheme = "https";
	if (host == NULL || server_normalize(host, strlen(host), c->host,
	    sizeof c->host, &why) != 0)
		return fail(c, REG_INTERNAL, false, "the registry host is not "
		    "valid");
	snprintf(c->api_host, sizeof c->api_host, "%s",
	    strcmp(server_key(c->host), "docker.io") == 0 ? DOCKER_HUB_API :
	    c->host);
	if (repo != NULL && !repo_valid(repo))
		return fail(c, REG_IMAGE_NOT_FOUND, false, "%s is not a valid "
		    "repository name", repo);
	c->host_insecure = netpolicy_host_insecure(c->host, pol->insecure,
	    pol->n_insecure) || netpolicy_host_insecure(c->api_host,
	    pol->insecure, pol->n_insecure);
	if (pol->total_timeout_s > 0) {
		c->has_deadline = true;
		clock_gettime(CLOCK_MONOTONIC, &c->deadline);
		c->deadline.tv_sec += pol->total_timeout_s;
	}
	if ((c->curl = curl_easy_init()) == NULL)
		return fail(c, REG_INTERNAL, false, "cannot start libcurl");
	return load_cas(c);
}

static void
client_free(struct client *c)
{
	secret_free(&c->basic, &c->basic_len);
	secret_free(&c->bearer, &c->bearer_len);
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	c->curl = NULL;
	free(c->ca);
	c->ca = NULL;
}

/* True when host ("host[:port]", IPv6 in brackets) names a port. */
static bool
has_port(const char *host)
{
	const char *close = strrchr(host, ']');

	return strchr(close != NULL ? close : host, ':') != NULL;
}

/* True when api_host answers plain HTTP on /v2/ (no credentials sent). */
static bool
speaks_plain_http(struct client *c)
{
	struct request rq;
	struct response r;
	CURLcode rc;
	bool yes;

	memset(&rq, 0, sizeof rq);
	memset(&r, 0, sizeof r);
	snprintf(rq.url, sizeof rq.url, "http://%s/v2/", c->api_host);
	rq.body_max = 4096;
	rc = transfer(c, rq.url, "http", NULL, &rq, &r);
	yes = rc == CURLE_OK && r.status >= 100;
	response_free(&r);
	return yes;
}

/*
 * GET /v2/ without credentials: decides http or https and what
 * authentication the registry wants.
 */
static int
ping(struct client *c)
{
	struct request rq;
	struct response r;
	char what[SERVER_MAX + 32];
	CURLcode rc;
	int ret = -1;

	memset(&rq, 0, sizeof rq);
	memset(&r, 0, sizeof r);
	snprintf(what, sizeof what, "the registry at %s", c->host);
	rq.body_max = ERROR_BODY_MAX;
	snprintf(rq.url, sizeof rq.url, "https://%s/v2/", c->api_host);
	rc = transfer(c, rq.url, "https", NULL, &rq, &r);
	if (rc != CURLE_OK && !c->blocked) {
		if (c->host_insecure) {
			c->scheme = "http";
			snprintf(rq.url, sizeof rq.url, "http://%s/v2/",
			    c->api_host);
			rc = transfer(c, rq.url, "http", NULL, &rq, &r);
		} else if ((ssl_error(rc) && rc != CURLE_PEER_FAILED_VERIFICATION) ||
		    (rc == CURLE_COULDNT_CONNECT && !has_port(c->api_host))) {
			CURLcode first = rc;
			char saved[CURL_ERROR_SIZE];

			memcpy(saved, c->errbuf, sizeof saved);
			if (speaks_plain_http(c)) {
				fail(c, REG_INSECURE_REFUSED, false, "%s speaks "
				    "plain HTTP, not HTTPS; list it in "
				    "insecure_registries to allow that", what);
				goto out;
			}
			rc = first;
			memcpy(c->errbuf, saved, sizeof saved);
			c->blocked = false;
		}
	}
	if (rc != CURLE_OK) {
		transport_failure(c, rc, &r, what);
		goto out;
	}
	/* A registry may redirect /v2 once; anything else is an answer. */
	if (is_redirect(r.status)) {
		response_free(&r);
		if (perform(c, &rq, &r, what) < 0)
			goto out;
	}
	if (r.status == 200) {
		ret = 0;
		goto out;
	}
	if (r.status == 401) {
		if (!r.have_challenge) {
			fail(c, REG_PROTOCOL, false, "%s answered 401 without a "
			    "usable WWW-Authenticate challenge", what);
			goto out;
		}
		ret = take_challenge(c, &r.challenge, what);
		goto out;
	}
	if (r.status == 404) {
		fail(c, REG_PROTOCOL, false, "%s does not serve the registry API "
		    "(GET /v2/ answered 404)", what);
		goto out;
	}
	status_failure(c, &r, what);
out:
	response_free(&r);
	return ret;
}

/* ---------------------------------------------------------------- pull */

static void
sha256_hex(const void *p, size_t n, char out[72])
{
	static const char hexd[] = "0123456789abcdef";
	unsigned char sum[32];

	crypto_sha256(p, n, sum);
	memcpy(out, "sha256:", 7);
	for (int i = 0; i < 32; i++) {
		out[7 + 2 * i] = hexd[sum[i] >> 4];
		out[8 + 2 * i] = hexd[sum[i] & 15];
	}
	out[71] = '\0';
}

/*
 * GET the manifest ref (a tag or a digest) into r.  Maps every answer but
 * 200 to a failure.  label names the image in messages ("team/app:v1").
 */
static int
get_manifest(struct client *c, const char *ref, const char *accept,
             const char *scope, struct response *r, struct request *rq,
             const char *label, bool by_tag)
{
	char path[IMAGEREF_NAME_MAX + 200], what[SERVER_MAX + 32], code[64];

	snprintf(what, sizeof what, "the registry at %s", c->host);
	snprintf(path, sizeof path, "/v2/%s/manifests/%s", c->repo, ref);
	memset(rq, 0, sizeof *rq);
	rq->accept = accept;
	rq->body_max = MANIFEST_MAX_BYTES;
	if (registry_get(c, path, rq, r, scope, what) < 0) {
		if (r->too_big)
			fail(c, REG_PROTOCOL, false, "the manifest of %s is larger "
			    "than %d bytes", label, MANIFEST_MAX_BYTES);
		return -1;
	}
	if (r->status == 200)
		return 0;
	registry_error_code(r, code, sizeof code);
	if (r->status == 404 || strcmp(code, "MANIFEST_UNKNOWN") == 0 ||
	    strcmp(code, "NAME_UNKNOWN") == 0) {
		if (strcmp(code, "NAME_UNKNOWN") == 0)
			return fail(c, REG_IMAGE_NOT_FOUND, false, "repository %s "
			    "not found in %s", c->repo, c->host);
		if (by_tag)
			return fail(c, REG_IMAGE_NOT_FOUND, false, "tag %s not "
			    "found in %s/%s", ref, c->host, c->repo);
		return fail(c, REG_IMAGE_NOT_FOUND, false, "manifest %s of %s is "
		    "missing from %s", ref, label, c->host);
	}
	if (r->status == 401 || r->status == 403) {
		if (c->creds == NULL)
			return fail(c, REG_AUTH_FAILED, false, "%s requires "
			    "credentials to pull %s (%ld); link a registry "
			    "credential to the image", what, c->repo, r->status);
		return fail(c, REG_AUTH_FAILED, false, "%s refused the stored "
		    "credentials for %s (%ld)", what, c->repo, r->status);
	}
	return status_failure(c, r, what);
}

/* Dedup: true when digest is among the first n blobs of m already. */
static bool
seen_blob(const struct manifest *m, unsigned n, const char *digest)
{
	if (n > 0 && strcmp(m->config.digest, digest) == 0)
		return true;
	for (unsigned i = 0; i + 1 < n; i++)
		if (strcmp(m->layers[i].digest, digest) == 0)
			return true;
	return false;
}

static int
fetch_blob(struct client *c, struct ocistore *st, const struct blob_ref *b,
           const char *scope, const char *label)
{
	char path[IMAGEREF_NAME_MAX + 120], what[SERVER_MAX + 120], code[64];
	struct request rq;
	struct response r;
	enum ocistore_status s;
	int rc = -1, lock_fd;

	switch (ocistore_has_blob(st, b->digest, b->size)) {
	case 1:
		c->out->blobs_present++;
		return 0;
	case 0:
		break;
	default:
		return fail(c, REG_PROTOCOL, false, "a blob digest of %s is not "
		    "valid", label);
	}
	/* Another pull sharing the store may be fetching it right now: wait
	 * for it, then look again. */
	lock_fd = ocistore_blob_lock(st, b->digest);
	if (ocistore_has_blob(st, b->digest, b->size) == 1) {
		ocistore_blob_unlock(lock_fd);
		c->out->blobs_present++;
		return 0;
	}
	memset(&rq, 0, sizeof rq);
	memset(&r, 0, sizeof r);
	if (ocistore_blob_begin(st, b->digest, b->size, &rq.blob) != OCISTORE_OK) {
		ocistore_blob_unlock(lock_fd);
		return fail(c, REG_INTERNAL, false, "cannot write to the image "
		    "store (see the log)");
	}
	rq.blob_size = b->size;
	rq.body_max = ERROR_BODY_MAX;
	snprintf(what, sizeof what, "blob %.19s of %s", b->digest, label);
	snprintf(path, sizeof path, "/v2/%s/blobs/%s", c->repo, b->digest);
	if (registry_get(c, path, &rq, &r, scope, what) < 0) {
		if (r.blob_overrun)
			fail(c, REG_DIGEST_MISMATCH, false, "blob %s of %s is "
			    "larger than its descriptor says (%lld bytes)",
			    b->digest, label, b->size);
		goto out;
	}
	if (r.status != 200) {
		registry_error_code(&r, code, sizeof code);
		if (r.status == 404 || strcmp(code, "BLOB_UNKNOWN") == 0)
			fail(c, REG_IMAGE_NOT_FOUND, false, "blob %s of %s is "
			    "missing from %s", b->digest, label, c->host);
		else
			status_failure(c, &r, what);
		goto out;
	}
	s = ocistore_blob_commit(rq.blob);
	rq.blob = NULL;
	switch (s) {
	case OCISTORE_OK:
		c->out->blobs_fetched++;
		c->out->bytes_fetched += (unsigned long long)b->size;
		rc = 0;
		break;
	case OCISTORE_SIZE:
		fail(c, REG_DIGEST_MISMATCH, false, "blob %s of %s is shorter "
		    "than its descriptor says (%lld bytes)", b->digest, label,
		    b->size);
		break;
	case OCISTORE_DIGEST:
		fail(c, REG_DIGEST_MISMATCH, false, "blob %s of %s does not "
		    "match its digest", b->digest, label);
		break;
	default:
		fail(c, REG_INTERNAL, false, "cannot write to the image store "
		    "(see the log)");
		break;
	}
out:
	ocistore_blob_abort(rq.blob);
	ocistore_blob_unlock(lock_fd);
	response_free(&r);
	return rc;
}

static int
pull_image(struct client *c, const char *tag, const char *store_dir,
           const char *ref_name)
{
	const char *platform = c->pol->platform != NULL &&
	    c->pol->platform[0] != '\0' ? c->pol->platform : "linux/amd64";
	char scope[IMAGEREF_NAME_MAX + 32], label[IMAGEREF_NAME_MAX + 160];
	char tag_digest[72], img_digest[72], store_digest[72];
	char *oci = NULL;
	const char *store_body;
	size_t oci_len = 0, store_len;
	struct manifest *m = NULL;
	struct ocistore *st = NULL;
	struct request rq, rq2;
	struct response r, r2;
	const struct response *img;
	const char *why;
	bool from_index = false;
	int rc = -1;

	memset(&r, 0, sizeof r);
	memset(&r2, 0, sizeof r2);
	snprintf(scope, sizeof scope, "repository:%s:pull", c->repo);
	snprintf(label, sizeof label, "%s/%s:%s", c->host, c->repo, tag);
	if ((m = malloc(sizeof *m)) == NULL) {
		fail(c, REG_INTERNAL, false, "out of memory");
		goto out;
	}
	if (ping(c) < 0 || ready_auth(c, scope) < 0)
		goto out;
	if (ocistore_open(store_dir, &st) != OCISTORE_OK) {
		fail(c, REG_INTERNAL, false, "cannot open the image store (see "
		    "the log)");
		goto out;
	}

	if (get_manifest(c, tag, ACCEPT_ANY_MANIFEST, scope, &r, &rq, label,
	    true) < 0)
		goto out;
	sha256_hex(r.body, r.len, tag_digest);
	if (r.docker_digest[0] != '\0' && digest_valid(r.docker_digest) &&
	    strcmp(r.docker_digest, tag_digest) != 0) {
		fail(c, REG_DIGEST_MISMATCH, false, "the manifest of %s does not "
		    "match the digest the registry announced (%s)", label,
		    r.docker_digest);
		goto out;
	}
	if (manifest_parse(r.body, r.len, r.content_type, platform, m,
	    &why) < 0) {
		if (why == manifest_why_no_platform)
			fail(c, REG_IMAGE_NOT_FOUND, false, "%s has no image for "
			    "%s", label, platform);
		else
			fail(c, REG_PROTOCOL, false, "the manifest of %s cannot be "
			    "used: %s", label, why);
		goto out;
	}
	img = &r;
	memcpy(img_digest, tag_digest, sizeof img_digest);
	if (m->kind == MANIFEST_INDEX) {
		struct blob_ref chosen = m->chosen;

		from_index = true;
		if (get_manifest(c, chosen.digest, ACCEPT_IMAGE_MANIFEST, scope,
		    &r2, &rq2, label, false) < 0)
			goto out;
		sha256_hex(r2.body, r2.len, img_digest);
		if (strcmp(img_digest, chosen.digest) != 0 ||
		    (long long)r2.len != chosen.size) {
			fail(c, REG_DIGEST_MISMATCH, false, "the %s manifest of %s "
			    "does not match its digest %s", platform, label,
			    chosen.digest);
			goto out;
		}
		if (manifest_parse(r2.body, r2.len, r2.content_type, platform,
		    m, &why) < 0 || m->kind != MANIFEST_IMAGE) {
			fail(c, REG_PROTOCOL, false, "the %s manifest of %s cannot "
			    "be used: %s", platform, label,
			    why != NULL ? why : "an index inside an index");
			goto out;
		}
		img = &r2;
	}

	if (fetch_blob(c, st, &m->config, scope, label) < 0)
		goto out;
	for (unsigned i = 0; i < m->n_layers; i++) {
		if (seen_blob(m, i + 1, m->layers[i].digest))
			continue;
		if (fetch_blob(c, st, &m->layers[i], scope, label) < 0)
			goto out;
	}
	/* skopeo and umoci read only OCI manifests from a layout. */
	if (strcmp(m->media_type, MT_DOCKER_MANIFEST) == 0) {
		if (manifest_to_oci(m, &oci, &oci_len) < 0) {
			fail(c, REG_INTERNAL, false, "out of memory");
			goto out;
		}
		store_body = oci;
		store_len = oci_len;
		sha256_hex(oci, oci_len, store_digest);
	} else {
		store_body = img->body;
		store_len = img->len;
		memcpy(store_digest, img_digest, sizeof store_digest);
	}
	if (ocistore_has_blob(st, store_digest, (long long)store_len) != 1 &&
	    ocistore_put_blob(st, store_digest, store_body, store_len) !=
	    OCISTORE_OK) {
		fail(c, REG_INTERNAL, false, "cannot write to the image store "
		    "(see the log)");
		goto out;
	}
	switch (ocistore_set_ref(st, ref_name, MT_OCI_MANIFEST, store_digest,
	    (long long)store_len, from_index ? platform : NULL)) {
	case OCISTORE_OK:
		break;
	case OCISTORE_INVALID:
		fail(c, REG_INTERNAL, false, "%s is not a valid name for the "
		    "image store", ref_name);
		goto out;
	default:
		fail(c, REG_INTERNAL, false, "cannot update the image store's "
		    "index.json (see the log)");
		goto out;
	}
	snprintf(c->out->digest, sizeof c->out->digest, "%s", tag_digest);
	snprintf(c->out->manifest_digest, sizeof c->out->manifest_digest, "%s",
	    store_digest);
	rc = 0;
out:
	response_free(&r);
	response_free(&r2);
	ocistore_close(st);
	free(oci);
	free(m);
	return rc;
}

int
reg_pull(const struct reg_policy *pol, const char *host, const char *repo,
         const char *tag, const struct reg_creds *creds,
         const char *store_dir, const char *ref_name,
         struct reg_result *out)
{
	struct client c;
	int rc = -1;

	if (client_init(&c, pol, host, repo != NULL ? repo : "", creds,
	    out) < 0)
		goto out;
	if (tag == NULL || !imageref_tag_valid(tag, strlen(tag))) {
		fail(&c, REG_IMAGE_NOT_FOUND, false, "the tag is not valid");
		goto out;
	}
	if (store_dir == NULL || ref_name == NULL ||
	    !ocistore_ref_valid(ref_name)) {
		fail(&c, REG_INTERNAL, false, "the image store or the name for "
		    "the image is not valid");
		goto out;
	}
	rc = pull_image(&c, tag, store_dir, ref_name);
out:
	if (rc == 0)
		log_info("pulled %s/%s:%s as %s (%s; %u blobs fetched, %llu "
		    "bytes; %u present)", c.host, c.repo, tag, ref_name,
		    out->digest, out->blobs_fetched, out->bytes_fetched,
		    out->blobs_present);
	else
		log_warn("pull of %s/%s:%s failed: %s: %s", c.host[0] ? c.host :
		    "?", repo != NULL ? repo : "", tag != NULL ? tag : "",
		    out->code, out->message);
	client_free(&c);
	return rc;
}

int
reg_verify(const struct reg_policy *pol, const char *host,
           const char *repo, const struct reg_creds *creds,
           struct reg_result *out)
{
	char scope[IMAGEREF_NAME_MAX + 32], what[SERVER_MAX + 32];
	struct request rq;
	struct response r;
	struct client c;
	int rc = -1;

	memset(&r, 0, sizeof r);
	memset(&rq, 0, sizeof rq);
	if (client_init(&c, pol, host, repo, creds, out) < 0 || ping(&c) < 0)
		goto out;
	snprintf(what, sizeof what, "the registry at %s", c.host);
	if (c.auth == WWWAUTH_NONE) {
		rc = 0;		/* an open registry: nothing to check */
		goto out;
	}
	if (repo != NULL)
		snprintf(scope, sizeof scope, "repository:%s:pull", repo);
	if (ready_auth(&c, repo != NULL ? scope : NULL) < 0)
		goto out;
	rq.body_max = ERROR_BODY_MAX;
	if (registry_get(&c, "/v2/", &rq, &r, repo != NULL ? scope : NULL,
	    what) < 0)
		goto out;
	if (r.status != 200) {
		status_failure(&c, &r, what);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		log_info("verify of %s failed: %s: %s", c.host[0] ? c.host : "?",
		    out->code, out->message);
	response_free(&r);
	client_free(&c);
	return rc;
}

int
regclient_global_init(void)
{
	const curl_version_info_data *v;

	if (crypto_init() < 0)
		return -1;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("curl_global_init failed");
		return -1;
	}
	v = curl_version_info(CURLVERSION_NOW);
	if (v == NULL || v->version_num < 0x075500) {	/* 7.85: PROTOCOLS_STR */
		log_error("libcurl %s is too old (need 7.85)",
		    v != NULL ? v->version : "?");
		curl_global_cleanup();
		return -1;
	}
	if (v->ssl_version == NULL) {
		log_error("libcurl was built without TLS");
		curl_global_cleanup();
		return -1;
	}
	return 0;
}

void
regclient_global_cleanup(void)
{
	curl_global_cleanup();
}
