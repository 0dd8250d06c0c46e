/*
 * regpull: the registry client from the command line, for tests and
 * benchmarks.
 *
 *   regpull --host H --repo R --tag T --store DIR --ref NAME
 *           [--user U --password-file F] [--ca-file F] [--insecure H]...
 *           [--allow-private] [--platform P] [--verify] [--timeout S]
 *           [--connect-timeout S] [--stall-timeout S]
 *
 * Success: exit 0, printing the digest the tag names (with --verify,
 * "ok"); a line "fetched=N present=M bytes=B manifest=DIGEST" goes to
 * stderr.  Failure: "CODE: message" on stdout, exit 1.  Bad usage: exit 2.
 * The password is read from a file (never from argv, which any user can
 * see in ps) into secure memory, one trailing newline dropped.  --verify
 * checks the credentials (reg_verify; --repo optional, --tag, --store and
 * --ref ignored) and uses --timeout (default 15 s) as its total bound.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gcrypt.h>

#include "crypto.h"
#include "log.h"
#include "regclient.h"

#define PASSWORD_MAX (16 * 1024)
#define INSECURE_MAX 16

static void
usage(void)
{
	fprintf(stderr, "usage: regpull --host H --repo R --tag T --store DIR "
	    "--ref NAME\n"
	    "               [--user U --password-file F] [--ca-file F]\n"
	    "               [--insecure H]... [--allow-private] "
	    "[--platform P]\n"
	    "               [--verify] [--timeout SECONDS]\n"
	    "               [--connect-timeout SECONDS] "
	    "[--stall-timeout SECONDS]\n");
	exit(2);
}

/* A positive number of seconds (at most a day), or -1. */
static long
seconds(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v <= 0 || v > 86400)
		return -1;
	return v;
}

/* Read the password file into secure memory.  Returns 0 or -1. */
static int
read_password(const char *path, char **out, size_t *len)
{
	char *buf;
	size_t got = 0;
	struct stat sb;
	int fd;

	*out = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "regpull: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > PASSWORD_MAX + 2) {
		fprintf(stderr, "regpull: %s: not a regular file of at most "
		    "16 KiB\n", path);
		close(fd);
		return -1;
	}
	if ((buf = gcry_malloc_secure(PASSWORD_MAX + 3)) == NULL) {
		fprintf(stderr, "regpull: out of secure memory\n");
		close(fd);
		return -1;
	}
	for (;;) {
		ssize_t r = read(fd, buf + got, PASSWORD_MAX + 2 - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "regpull: %s: %s\n", path,
			    strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		got += (size_t)r;
		if (got >= PASSWORD_MAX + 2)
			break;
	}
	if (got > 0 && buf[got - 1] == '\n')
		got--;
	if (got > 0 && buf[got - 1] == '\r')
		got--;
	if (got == 0 || got > PASSWORD_MAX) {
		fprintf(stderr, "regpull: %s: the password must be 1 byte to "
		    "16 KiB\n", path);
		goto fail;
	}
	if ((*out = crypto_secret_dup(buf, got)) == NULL) {
		fprintf(stderr, "regpull: out of secure memory\n");
		goto fail;
	}
	*len = got;
	crypto_wipe(buf, PASSWORD_MAX + 3);
	gcry_free(buf);
	close(fd);
	return 0;
fail:
	crypto_wipe(buf, PASSWORD_MAX + 3);
	gcry_free(buf);
	close(fd);
	return -1;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'h' },
		{ "repo", required_argument, NULL, 'r' },
		{ "tag", required_argument, NULL, 't' },
		{ "store", required_argument, NULL, 's' },
		{ "ref", required_argument, NULL, 'n' },
		{ "user", required_argument, NULL, 'u' },
		{ "password-file", required_argument, NULL, 'p' },
		{ "ca-file", required_argument, NULL, 'c' },
		{ "insecure", required_argument, NULL, 'i' },
		{ "allow-private", no_argument, NULL, 'a' },
		{ "platform", required_argument, NULL, 'P' },
		{ "verify", no_argument, NULL, 'v' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "connect-timeout", required_argument, NULL, 'C' },
		{ "stall-timeout", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	const char *host = NULL, *repo = NULL, *tag = NULL, *store = NULL,
	    *ref = NULL, *user = NULL, *pwfile = NULL;
	char *insecure[INSECURE_MAX], *password = NULL;
	size_t n_insecure = 0, pwlen = 0;
	struct reg_policy pol;
	struct reg_creds creds;
	struct reg_result res;
	bool verify = false;
	long timeout = 15;
	int opt, rc;

	memset(&pol, 0, sizeof pol);
	pol.platform = "linux/amd64";
	pol.connect_timeout_s = 10;
	pol.stall_timeout_s = 30;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'h': host = optarg; break;
		case 'r': repo = optarg; break;
		case 't': tag = optarg; break;
		case 's': store = optarg; break;
		case 'n': ref = optarg; break;
		case 'u': user = optarg; break;
		case 'p': pwfile = optarg; break;
		case 'c': pol.ca_file = optarg; break;
		case 'i':
			if (n_insecure == INSECURE_MAX)
				usage();
			insecure[n_insecure++] = optarg;
			break;
		case 'a': pol.allow_private = true; break;
		case 'P': pol.platform = optarg; break;
		case 'v': verify = true; break;
		case 'T':
			if ((timeout = seconds(optarg)) <= 0)
				usage();
			break;
		case 'C':
			if ((pol.connect_timeout_s = seconds(optarg)) <= 0)
				usage();
			break;
		case 'S':
			if ((pol.stall_timeout_s = seconds(optarg)) <= 0)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc || host == NULL || (user == NULL) != (pwfile == NULL))
		usage();
	if (!verify && (repo == NULL || tag == NULL || store == NULL ||
	    ref == NULL))
		usage();
	pol.insecure = insecure;
	pol.n_insecure = n_insecure;
	if (verify)
		pol.total_timeout_s = timeout;

	log_set_program("regpull");
	if (regclient_global_init() < 0) {
		printf("internal_error: cannot initialise libcurl or libgcrypt\n");
		return 1;
	}
	memset(&creds, 0, sizeof creds);
	if (pwfile != NULL) {
		if (read_password(pwfile, &password, &pwlen) < 0)
			return 2;
		creds.username = user;
		creds.password = password;
		creds.password_len = pwlen;
	}
	if (verify)
		rc = reg_verify(&pol, host, repo, pwfile ? &creds : NULL, &res);
	else
		rc = reg_pull(&pol, host, repo, tag, pwfile ? &creds : NULL,
		    store, ref, &res);
	crypto_secret_free(password, pwlen);
	regclient_global_cleanup();
	if (rc != 0) {
		printf("%s: %s\n", res.code, res.message);
		return 1;
	}
	if (verify) {
		printf("ok\n");
		return 0;
	}
	printf("%s\n", res.digest);
	fprintf(stderr, "fetched=%u present=%u bytes=%llu manifest=%s\n",
	    res.blobs_fetched, res.blobs_present, res.bytes_fetched,
	    res.manifest_digest);
	return 0;
}
