/*
 * modbox-provisioner: pulls the images of provisioning sandboxes.
 *
 * The parent forks [pull] concurrency workers, starts another when one
 * dies, and, every few seconds, moves sandboxes whose TTL ran out to
 * destroyed.  Each worker has its own
 * database connection and claims one sandbox at a time (SELECT ... FOR
 * UPDATE SKIP LOCKED plus a lease), so any number of provisioners on any
 * number of hosts share the queue and no sandbox is pulled twice.  A pull
 * ends in ready (with the manifest digest) or failed (with the spec's code
 * and a message); a transient failure goes back to the queue with an
 * exponential backoff until [pull] retry_seconds have passed since the
 * first attempt.
 *
 * While a pull runs, the worker renews its lease every third of
 * [pull] lease_seconds, so a slow pull is never taken over; if the lease
 * was lost meanwhile (the sandbox was destroyed), it stops pulling.
 * SIGTERM/SIGINT: every worker interrupts the pull in hand within about a
 * second, hands the sandbox back to the queue (the attempt not counted),
 * and exits; the parent waits for them.  A worker killed outright leaves a
 * lease that runs out after [pull] lease_seconds; another provisioner then
 * takes the sandbox.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mysql.h>

#include "config.h"
#include "crypto.h"
#include "db.h"
#include "log.h"
#include "pull.h"
#include "regclient.h"
#include "store_sandbox.h"

#define EXPIRE_EVERY_S 5
#define BACKOFF_MAX_MS 10000

static volatile sig_atomic_t stopping;

static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (!stopping && nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static unsigned
backoff_ms(unsigned attempts)
{
	unsigned ms = 500;

	while (attempts-- > 1 && ms < BACKOFF_MAX_MS)
		ms *= 2;
	return ms < BACKOFF_MAX_MS ? ms : BACKOFF_MAX_MS;
}

/* Record the outcome of one attempt on sb. */
static void
record(struct db *db, const struct config *cfg, const char *owner,
       const struct sandbox *sb, const struct pull_outcome *o)
{
	enum db_status st;
	bool failed = false;

	if (o->ok)
		st = store_sandbox_ready(db, &sb->id, owner, o->digest);
	else if (o->transient && !stopping &&
	    sb->retry_age_s < (long long)cfg->pull.retry_seconds)
		st = store_sandbox_release(db, &sb->id, owner,
		    backoff_ms(sb->attempts), false);
	else if (o->transient && stopping)
		st = store_sandbox_release(db, &sb->id, owner, 0, true);
	else {
		failed = true;
		st = store_sandbox_failed(db, &sb->id, owner, o->code, o->message);
	}
	if (st == DB_NOT_FOUND)
		log_info("sandbox %s changed while pulling (destroyed?): "
		    "outcome dropped", sb->task_id);
	else if (st != DB_OK)
		log_warn("sandbox %s: the outcome could not be recorded; its lease "
		    "will run out and it will be pulled again", sb->task_id);
	else if (!o->ok && st == DB_OK && o->transient && !failed)
		log_info("sandbox %s: %s (transient: will retry)", sb->task_id, o->code);
	else if (!o->ok)
		log_info("sandbox %s: failed: %s", sb->task_id, o->code);
}

struct progress {
	struct db *db;
	const struct config *cfg;
	const char *owner;
	const struct sandbox *sb;
	time_t renewed;
};

/* Called by the client about once a second during a pull: go on (0), or
 * stop (1) when the provisioner is stopping or the lease is gone. */
static int
on_progress(void *arg)
{
	struct progress *p = arg;
	time_t now = time(NULL);
	unsigned every = p->cfg->pull.lease_seconds / 3;

	if (stopping)
		return 1;
	if (now - p->renewed < (time_t)(every ? every : 1))
		return 0;
	p->renewed = now;
	if (store_sandbox_renew(p->db, &p->sb->id, p->owner,
	    p->cfg->pull.lease_seconds) == DB_NOT_FOUND) {
		log_info("sandbox %s: no longer ours (destroyed?): pull stopped",
		    p->sb->task_id);
		return 1;
	}
	return 0;
}

static int
worker(const struct config *cfg, const struct keyring *ring, unsigned n)
{
	struct db *db = db_new(&cfg->database);
	char host[64], owner[128];
	struct sandbox sb;
	struct pull_outcome o;
	enum db_status st;

	if (db == NULL)
		return 1;
	if (gethostname(host, sizeof host) != 0)
		snprintf(host, sizeof host, "unknown");
	host[sizeof host - 1] = '\0';
	snprintf(owner, sizeof owner, "%s:%ld:%u", host, (long)getpid(), n);
	while (!stopping) {
		st = store_sandbox_claim(db, owner, cfg->pull.lease_seconds, &sb);
		if (st == DB_NOT_FOUND) {
			sleep_ms(cfg->pull.poll_ms);
			continue;
		}
		if (st != DB_OK) {
			sleep_ms(1000);
			continue;
		}
		struct progress p = { db, cfg, owner, &sb, time(NULL) };

		pull_sandbox(db, cfg, ring, &sb, on_progress, &p, &o);
		record(db, cfg, owner, &sb, &o);
	}
	db_free(db);
	return 0;
}

/* Fork worker slot i (kids[i] = its pid; 0 if fork failed). */
static void
spawn(struct config *cfg, struct keyring *ring, unsigned i, pid_t *kids,
      time_t *started)
{
	pid_t pid = fork();
	int rc;

	started[i] = time(NULL);
	if (pid < 0) {
		log_error("fork failed: %s", strerror(errno));
		kids[i] = 0;
		return;
	}
	if (pid == 0) {
		free(kids);
		free(started);
		rc = worker(cfg, ring, i);
		keyring_free(ring);
		config_free(cfg);
		regclient_global_cleanup();
		mysql_library_end();
		_exit(rc);
	}
	kids[i] = pid;
}

int
main(int argc, char **argv)
{
	struct config cfg;
	struct keyring *ring = NULL;
	struct sigaction sa;
	char err[512];
	pid_t *kids = NULL;
	time_t *started = NULL;
	unsigned nkids = 0;
	int rc = 1;
	time_t last_expire = 0;
	struct db *db = NULL;

	log_set_program("modbox-provisioner");
	memset(&cfg, 0, sizeof cfg);
	if (argc != 1) {
		(void)argv;
		fprintf(stderr, "usage: modbox-provisioner (configured by $MODBOX_CONF)\n");
		return 2;
	}
	if (config_load(&cfg, config_default_path(), err, sizeof err) != 0) {
		log_error("bad config: %s", err);
		goto out;
	}
	if (cfg.crypto.key_file == NULL || cfg.pull.store_dir == NULL) {
		log_error("bad config: %s: [crypto] key_file and [pull] store_dir are "
		    "required", cfg.path);
		goto out;
	}
	if (crypto_init() != 0 ||
	    keyring_load(cfg.crypto.key_file, &ring, err, sizeof err) != 0) {
		log_error("bad key file: %s", err);
		goto out;
	}
	if (mysql_library_init(0, NULL, NULL) != 0 || regclient_global_init() != 0) {
		log_error("the MariaDB or curl library could not be initialised");
		goto out;
	}
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	nkids = cfg.pull.concurrency;
	if ((kids = calloc(nkids, sizeof *kids)) == NULL ||
	    (started = calloc(nkids, sizeof *started)) == NULL)
		goto out_lib;
	for (unsigned i = 0; i < nkids && !stopping; i++)
		spawn(&cfg, ring, i, kids, started);
	log_info("started %u workers", nkids);
	db = db_new(&cfg.database);
	for (;;) {
		int status;
		pid_t pid;
		time_t now = time(NULL);

		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			for (unsigned i = 0; i < nkids; i++)
				if (kids[i] == pid) {
					kids[i] = 0;
					if (!stopping)
						log_warn("worker %u (pid %ld) ended unexpectedly "
						    "(status %d): starting another", i,
						    (long)pid, status);
				}
		if (stopping)
			break;
		/* A slot whose worker died is refilled, at most every 2 s so a
		 * worker that cannot start does not spin. */
		for (unsigned i = 0; i < nkids; i++)
			if (kids[i] == 0 && now - started[i] >= 2)
				spawn(&cfg, ring, i, kids, started);
		if (db != NULL && now - last_expire >= EXPIRE_EVERY_S) {
			unsigned long long n = 0;
			last_expire = now;
			if (store_sandbox_expire(db, &n) == DB_OK && n > 0)
				log_info("%llu sandboxes reached their TTL: destroyed", n);
		}
		sleep_ms(200);
	}
	for (unsigned i = 0; i < nkids; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGTERM);
	for (unsigned i = 0; i < nkids; i++)
		if (kids[i] > 0)
			(void)waitpid(kids[i], NULL, 0);
	log_info("stopped");
	rc = 0;
	db_free(db);
out_lib:
	free(kids);
	free(started);
	regclient_global_cleanup();
	mysql_library_end();
out:
	keyring_free(ring);
	config_free(&cfg);
	return rc;
}
