/*
 * regclient: a client for the Docker Registry HTTP API v2 / OCI
 * distribution spec on libcurl, used to pull an image into an OCI image
 * layout and to verify stored credentials.
 *
 * Protocol: GET /v2/; on 401 it follows WWW-Authenticate: Basic (the
 * credentials on every request to that registry) or Bearer (a token from
 * the realm, GET ?service=..&scope=repository:NAME:pull, sent with the
 * credentials as Basic auth, reused until it expires).  The manifest is
 * fetched by tag with an Accept list of OCI index, Docker manifest list,
 * OCI manifest and Docker v2 manifest; an index resolves to the policy's
 * platform.  The config and every layer are streamed to a temporary file
 * in the store with their sha256 computed on the way, and renamed into
 * blobs/sha256/HEX only when it matches; blobs already present are not
 * fetched again.  index.json then names the manifest with an
 * org.opencontainers.image.ref.name annotation.
 *
 * Outbound policy: HTTPS verified against the system CAs plus ca_file;
 * plain HTTP only to hosts listed as insecure; loopback, private,
 * link-local, unique-local and metadata addresses refused unless
 * allow_private, checked on the address actually connected to (libcurl's
 * opensocket callback), so DNS rebinding cannot get around it.
 * Redirects (blob storage) are followed by hand, up to 5, and never carry
 * Authorization to another host.  Credentials go only to the registry
 * host and its token realm, and only over HTTPS (or to an insecure host
 * the operator listed).
 *
 * No message here ever contains a password or a token.
 */
#ifndef MODBOX_REGCLIENT_H
#define MODBOX_REGCLIENT_H

#include <stdbool.h>
#include <stddef.h>

struct reg_policy {
	const char *ca_file;		/* extra PEM bundle, or NULL */
	char *const *insecure;		/* hosts ("host[:port]", lowercase) allowed over http */
	size_t n_insecure;
	bool allow_private;		/* allow loopback/private/link-local targets */
	const char *platform;		/* "os/arch[/variant]", e.g. "linux/amd64" */
	long connect_timeout_s;		/* e.g. 10 */
	long stall_timeout_s;		/* abort a transfer below 1 byte/s for this long */
	long total_timeout_s;		/* 0: none (pulls); verify uses a short one */
	/* Called about once a second while a transfer runs (NULL: never).
	 * A non-zero return cancels the pull: it fails as registry_unreachable,
	 * transient, and nothing half-written is kept. */
	int (*progress)(void *arg);
	void *progress_arg;
};

struct reg_creds {
	const char *username;
	const char *password;		/* secure memory, owned by the caller */
	size_t password_len;
};

/* The spec's failure codes, and whether trying again may help. */
enum reg_error {
	REG_OK = 0,
	REG_AUTH_FAILED,		/* registry_auth_failed: 401/403 with our credentials */
	REG_IMAGE_NOT_FOUND,		/* image_not_found: repository or tag unknown */
	REG_UNREACHABLE,		/* registry_unreachable: connect/TLS/timeout/5xx (transient) */
	REG_DIGEST_MISMATCH,		/* digest_mismatch */
	REG_INSECURE_REFUSED,		/* insecure_registry_refused: http:// not allowed */
	REG_ADDRESS_BLOCKED,		/* address_blocked */
	REG_PROTOCOL,			/* the registry answered something we cannot use */
	REG_INTERNAL,			/* local failure (disk, memory) */
};

struct reg_result {
	enum reg_error error;
	bool transient;			/* worth retrying (REG_UNREACHABLE, some 5xx) */
	char code[40];			/* spec code, e.g. "registry_auth_failed"; "" on success */
	char message[512];		/* for the user; never a secret */
	char digest[80];		/* "sha256:HEX" of what the tag names, on success:
					 * for a multi-platform tag the index (as
					 * `skopeo inspect` and `docker pull` show it) */
	char manifest_digest[80];	/* the manifest named in index.json: equal to
					 * digest unless the tag is an index or the
					 * image a Docker v2 manifest (stored converted
					 * to OCI, which skopeo and umoci read) */
	unsigned long long bytes_fetched; /* blob bytes downloaded (0 when all present) */
	unsigned blobs_fetched;		/* blobs downloaded by this pull */
	unsigned blobs_present;		/* blobs found already in the store */
};

/* Call once at start, before any thread (curl_global_init). */
int regclient_global_init(void);
void regclient_global_cleanup(void);

/*
 * Pull host/repo:tag into the OCI layout at store_dir (created if
 * missing), naming it ref_name in index.json.  creds NULL: anonymous.
 * Returns 0 on success, -1 with out filled on failure.
 */
int reg_pull(const struct reg_policy *pol, const char *host, const char *repo,
             const char *tag, const struct reg_creds *creds,
             const char *store_dir, const char *ref_name,
             struct reg_result *out);

/*
 * Check that creds open host: GET /v2/ and, when repo is not NULL, a token
 * for repository:repo:pull (Bearer registries).  Returns 0 when ok.
 */
int reg_verify(const struct reg_policy *pol, const char *host,
               const char *repo, const struct reg_creds *creds,
               struct reg_result *out);

/* The spec's code for an error ("registry_auth_failed", ...). */
const char *reg_error_code(enum reg_error e);

#endif
