/*
 * pull: see pull.h.  The order of checks for a sandbox follows what a user
 * can act on: a deleted registry, then a disabled one, then credentials
 * that do not open, then what the registry itself says.
 */
#include "pull.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "imageref.h"
#include "log.h"
#include "server.h"

#define CONNECT_TIMEOUT_S 10
#define STALL_TIMEOUT_S 30
#define VERIFY_TIMEOUT_S 15

void
pull_policy(const struct config *cfg, bool verify, struct reg_policy *pol)
{
	memset(pol, 0, sizeof *pol);
	pol->ca_file = cfg->pull.ca_file;
	pol->insecure = cfg->pull.insecure_registries;
	pol->n_insecure = cfg->pull.n_insecure;
	pol->allow_private = cfg->pull.allow_private_networks;
	pol->platform = cfg->pull.platform;
	pol->connect_timeout_s = verify ? 5 : CONNECT_TIMEOUT_S;
	pol->stall_timeout_s = verify ? 5 : STALL_TIMEOUT_S;
	pol->total_timeout_s = verify ? VERIFY_TIMEOUT_S : 0;
}

int
pull_open_creds(const struct keyring *ring, const struct registry *reg,
                const struct sealed *pw, struct reg_creds *creds)
{
	unsigned char ad[REGISTRY_AD_LEN];
	char *secret = NULL;
	size_t len = 0;

	memset(creds, 0, sizeof *creds);
	registry_secret_ad(reg, ad);
	if (crypto_open(ring, ad, sizeof ad, pw, &secret, &len) != 0)
		return -1;
	creds->username = reg->username;
	creds->password = secret;
	creds->password_len = len;
	return 0;
}

void
pull_close_creds(struct reg_creds *creds)
{
	crypto_secret_free((char *)creds->password, creds->password_len);
	memset(creds, 0, sizeof *creds);
}

/*
 * The org.opencontainers.image.ref.name of a pull: "HOST/PATH:TAG".  The
 * OCI ref grammar has no brackets, so an IPv6 host is written as "ip6-"
 * and its 32 hex digits ("[::1]:5000" -> "ip6-000...001:5000").
 */
static void
ref_name_for(const struct imageref *ref, const char *tag, char *out, size_t cap)
{
	const char *close = strchr(ref->host, ']');
	unsigned char a[16];
	char addr[64], host[80];
	size_t n;

	if (ref->host[0] == '[' && close != NULL &&
	    (n = (size_t)(close - ref->host - 1)) < sizeof addr) {
		memcpy(addr, ref->host + 1, n);
		addr[n] = '\0';
		if (inet_pton(AF_INET6, addr, a) == 1) {
			int o = snprintf(host, sizeof host, "ip6-");
			for (int i = 0; i < 16; i++)
				o += snprintf(host + o, sizeof host - (size_t)o, "%02x", a[i]);
			snprintf(host + o, sizeof host - (size_t)o, "%s", close + 1);
			snprintf(out, cap, "%s/%s:%s", host, ref->path, tag);
			return;
		}
	}
	snprintf(out, cap, "%s/%s:%s", ref->host, ref->path, tag);
}

static void
fail(struct pull_outcome *out, const char *code, const char *message)
{
	out->ok = false;
	out->transient = false;
	snprintf(out->code, sizeof out->code, "%s", code);
	snprintf(out->message, sizeof out->message, "%s", message);
}

void
pull_sandbox(struct db *db, const struct config *cfg, const struct keyring *ring,
             const struct sandbox *sb, int (*progress)(void *),
             void *progress_arg, struct pull_outcome *out)
{
	struct registry reg;
	struct sealed pw;
	struct reg_creds creds;
	struct reg_policy pol;
	struct reg_result res;
	struct imageref ref;
	const char *why;
	char ref_name[IMAGEREF_NAME_MAX + IMAGEREF_TAG_MAX + SERVER_MAX + 4];
	bool have_creds = false;
	enum db_status st;

	memset(out, 0, sizeof *out);
	memset(&pw, 0, sizeof pw);
	memset(&creds, 0, sizeof creds);
	if (imageref_parse(sb->image, strlen(sb->image), &ref, &why) != IMAGEREF_OK) {
		fail(out, "image_not_found", "the image reference is not valid");
		return;
	}
	if (sb->has_registry) {
		st = store_registry_get_sealed(db, &sb->registry_id, &reg, &pw);
		if (st == DB_UNAVAILABLE || st == DB_DEADLOCK || st == DB_ERROR) {
			out->transient = true;
			snprintf(out->code, sizeof out->code, "registry_unreachable");
			snprintf(out->message, sizeof out->message,
			    "the database was unavailable; will retry");
			return;
		}
		if (st == DB_NOT_FOUND ||
		    memcmp(reg.workspace_id.b, sb->workspace_id.b, 16) != 0) {
			fail(out, "registry_deleted", "the registry credential this "
			    "image uses was deleted; link the image to another registry");
			goto done;
		}
		if (!reg.enabled) {
			fail(out, "registry_disabled", "the registry credential this "
			    "image uses is disabled; enable it or link another");
			goto done;
		}
		if (!server_same(reg.server, ref.host)) {
			fail(out, "registry_auth_failed", "the linked registry's server "
			    "is not the image's registry host");
			goto done;
		}
		if (pull_open_creds(ring, &reg, &pw, &creds) != 0) {
			fail(out, "registry_auth_failed", "the stored password could "
			    "not be decrypted; set it again with PUT /registries/{id}");
			goto done;
		}
		have_creds = true;
	}
	ref_name_for(&ref, sb->tag, ref_name, sizeof ref_name);
	pull_policy(cfg, false, &pol);
	pol.progress = progress;
	pol.progress_arg = progress_arg;
	memset(&res, 0, sizeof res);
	if (reg_pull(&pol, ref.host, ref.path, sb->tag, have_creds ? &creds : NULL,
	    cfg->pull.store_dir, ref_name, &res) == 0) {
		out->ok = true;
		snprintf(out->digest, sizeof out->digest, "%s", res.digest);
		log_info("sandbox %s: pulled %s (%s, %u blobs fetched, %u present)",
		    sb->task_id, ref_name, res.digest, res.blobs_fetched,
		    res.blobs_present);
	} else {
		out->transient = res.transient;
		snprintf(out->code, sizeof out->code, "%s",
		    res.code[0] ? res.code : reg_error_code(res.error));
		snprintf(out->message, sizeof out->message, "%s", res.message);
	}
done:
	if (have_creds)
		pull_close_creds(&creds);
	sealed_clear(&pw);
}
