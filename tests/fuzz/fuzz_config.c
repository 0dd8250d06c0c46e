/*
 * fuzz_config: libFuzzer target for config_parse.  The input is passed as
 * is (not NUL-terminated, so ASan sees any over-read).  Checked: a failure
 * leaves a non-empty one-line error; a success leaves every number in its
 * range, a well-formed platform and a lowercased registry list; config_free
 * releases everything either way (leaks are found by ASan/LeakSanitizer).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(bool cond)
{
	if (!cond)
		abort();
}

static void
check_success(const struct config *cfg)
{
	size_t i;

	check(cfg->database.host != NULL && cfg->database.host[0] != '\0');
	check(cfg->database.user != NULL && cfg->database.name != NULL);
	check(cfg->database.port >= 1 && cfg->database.port <= 65535);
	check(cfg->database.password == NULL || cfg->database.password[0] != '\0');
	check(cfg->http.max_body_bytes >= 1 && cfg->http.max_body_bytes <= 16777216);
	check(cfg->http.base_path == NULL ||
	      (cfg->http.base_path[0] == '/' &&
	       cfg->http.base_path[strlen(cfg->http.base_path) - 1] != '/'));
	check(cfg->pull.platform != NULL &&
	      strspn(cfg->pull.platform, "abcdefghijklmnopqrstuvwxyz0123456789_/") ==
	      strlen(cfg->pull.platform));
	check(cfg->pull.retry_seconds <= 86400);
	check(cfg->pull.concurrency >= 1 && cfg->pull.concurrency <= 64);
	check((cfg->pull.n_insecure == 0) == (cfg->pull.insecure_registries == NULL));
	for (i = 0; i < cfg->pull.n_insecure; i++) {
		const char *r = cfg->pull.insecure_registries[i];

		check(r[0] != '\0' && strpbrk(r, "ABCDEFGHIJKLMNOPQRSTUVWXYZ ,") == NULL);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	char err[256];

	memset(err, 'x', sizeof err);
	if (config_init(&cfg) < 0)
		return 0;
	if (config_parse(&cfg, (const char *)data, size, "fuzz", err,
	                 sizeof err) == 0) {
		check_success(&cfg);
	} else {
		check(memchr(err, '\0', sizeof err) != NULL);
		check(err[0] != '\0' && strchr(err, '\n') == NULL &&
		      strchr(err, '\r') == NULL);
		check(strncmp(err, "fuzz:", 5) == 0);
	}
	config_free(&cfg);
	return 0;
}
