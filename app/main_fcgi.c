/*
 * modbox.fcgi: the FastCGI responder.  Reads the config and the key file
 * once at start (either failing stops it with one line on stderr), then
 * answers requests one at a time; the web server runs as many processes
 * as it wants.  The database connection is made lazily and remade after
 * an outage, so the app starts (and answers 503) while MariaDB is down.
 *
 *   modbox.fcgi                  serve FastCGI on fd 0 (spawned by the server)
 *   modbox.fcgi --check-config   check config and key file, then exit
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>
#include <mysql.h>

#include "api.h"
#include "config.h"
#include "crypto.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "regclient.h"

static volatile sig_atomic_t stopping;

static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
	FCGX_ShutdownPending();
}

static const char *
fcgx_param(const char *name, void *arg)
{
	return FCGX_GetParam(name, ((FCGX_Request *)arg)->envp);
}

static long
fcgx_read(void *buf, size_t n, void *arg)
{
	int want = n > 1 << 20 ? 1 << 20 : (int)n;

	return FCGX_GetStr(buf, want, ((FCGX_Request *)arg)->in);
}

static int
fcgx_write(const void *buf, size_t n, void *arg)
{
	FCGX_Stream *out = ((FCGX_Request *)arg)->out;

	while (n > 0) {
		int chunk = n > 1 << 20 ? 1 << 20 : (int)n;
		if (FCGX_PutStr(buf, chunk, out) != chunk)
			return -1;
		buf = (const char *)buf + chunk;
		n -= (size_t)chunk;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct config cfg;
	struct keyring *ring = NULL;
	struct api_env env;
	FCGX_Request fr;
	struct sigaction sa;
	char err[512];
	const char *path = config_default_path();
	int rc = 1;

	log_set_program("modbox.fcgi");
	memset(&cfg, 0, sizeof cfg);
	if (argc > 2 || (argc == 2 && strcmp(argv[1], "--check-config") != 0)) {
		fprintf(stderr, "usage: modbox.fcgi [--check-config]\n");
		return 2;
	}
	if (config_load(&cfg, path, err, sizeof err) != 0) {
		log_error("bad config: %s", err);
		goto out;
	}
	if (cfg.crypto.key_file == NULL) {
		log_error("bad config: %s: [crypto] key_file is required", path);
		goto out;
	}
	if (crypto_init() != 0) {
		log_error("libgcrypt could not be initialised");
		goto out;
	}
	if (keyring_load(cfg.crypto.key_file, &ring, err, sizeof err) != 0) {
		log_error("bad key file: %s", err);
		goto out;
	}
	if (argc == 2) {
		printf("ok\n");
		rc = 0;
		goto out;
	}
	if (mysql_library_init(0, NULL, NULL) != 0 || regclient_global_init() != 0) {
		log_error("the MariaDB or curl library could not be initialised");
		goto out;
	}
	env.cfg = &cfg;
	env.ring = ring;
	if ((env.db = db_new(&cfg.database)) == NULL)
		goto out_lib;
	(void)db_connect(env.db);	/* failure is logged; retried per request */

	/* No SA_RESTART: a signal must interrupt accept() so libfcgi sees
	 * the shutdown and FCGX_Accept_r returns. */
	signal(SIGPIPE, SIG_IGN);
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	if (FCGX_Init() != 0 || FCGX_InitRequest(&fr, 0, 0) != 0) {
		log_error("FastCGI could not be initialised");
		goto out_db;
	}
	log_info("ready");
	while (!stopping && FCGX_Accept_r(&fr) >= 0) {
		struct http_request req;
		struct http_response resp;

		http_response_init(&resp);
		if (http_request_parse(&req, fcgx_param, &fr,
		    cfg.http.base_path) != 0) {
			http_response_error(&resp, 500, "internal_error",
			    "internal error", NULL);
		} else {
			api_handle(&env, &req, &resp, fcgx_read, &fr);
			if (resp.status >= 500)
				log_warn("%s %s -> %d", req.method, req.path, resp.status);
			http_request_free(&req);
		}
		(void)http_response_send(&resp, fcgx_write, &fr);
		http_response_free(&resp);
		FCGX_Finish_r(&fr);
	}
	FCGX_Free(&fr, 1);
	rc = 0;
out_db:
	db_free(env.db);
out_lib:
	regclient_global_cleanup();
	mysql_library_end();
out:
	keyring_free(ring);
	config_free(&cfg);
	return rc;
}
