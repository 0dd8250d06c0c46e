/*
 * test_server: server_normalize over a table of accepted inputs (with the
 * exact normalised output) and refused ones (any reason, which must never
 * quote the input), then server_key and server_same.
 */
#include <stdio.h>
#include <string.h>

#include "server.h"
#include "tap.h"

struct good {
	const char *in;
	const char *want;
};

static const struct good goods[] = {
	{ "ghcr.io", "ghcr.io" },
	{ "GHCR.io", "ghcr.io" },
	{ "https://ghcr.io/", "ghcr.io" },
	{ "http://ghcr.io", "ghcr.io" },
	{ "HTTPS://GHCR.IO/v2/", "ghcr.io" },
	{ "Http://ghcr.io/v1", "ghcr.io" },
	{ "ghcr.io/", "ghcr.io" },
	{ "ghcr.io/v2", "ghcr.io" },
	{ "localhost:5000", "localhost:5000" },
	{ "localhost", "localhost" },
	{ "LocalHost:5000/v2/", "localhost:5000" },
	{ "[::1]:5000", "[::1]:5000" },
	{ "[::1]", "[::1]" },
	{ "[0:0:0:0:0:0:0:1]:5000", "[::1]:5000" },
	{ "[2001:DB8::0001]", "[2001:db8::1]" },
	{ "https://[fe80::1]:443/v2/", "[fe80::1]:443" },
	{ "[::ffff:1.2.3.4]", "[::ffff:1.2.3.4]" },
	{ "index.docker.io", "index.docker.io" },
	{ "https://index.docker.io/v1/", "index.docker.io" },
	{ "docker.io", "docker.io" },
	{ "registry-1.docker.io", "registry-1.docker.io" },
	{ "europe-west1-docker.pkg.dev", "europe-west1-docker.pkg.dev" },
	{ "123456789012.dkr.ecr.us-east-1.amazonaws.com",
	  "123456789012.dkr.ecr.us-east-1.amazonaws.com" },
	{ "myreg.azurecr.io", "myreg.azurecr.io" },
	{ "127.0.0.1:5000", "127.0.0.1:5000" },
	{ "10.0.0.1", "10.0.0.1" },
	{ "registry.example.com/v2/", "registry.example.com" },
	{ "registry.example.com:1", "registry.example.com:1" },
	{ "registry.example.com:65535", "registry.example.com:65535" },
	{ "docker.io:443", "docker.io:443" },
	{ "xn--bcher-kva.example", "xn--bcher-kva.example" },
	{ "a-b.c-d.example", "a-b.c-d.example" },
	{ "1a.example", "1a.example" },
	{ "example.x1", "example.x1" },
};

static const char *const bads[] = {
	"ftp://x",
	"ftp://ghcr.io",
	"ssh://ghcr.io",
	"https://https://ghcr.io",
	"https://u:p@ghcr.io",
	"user@ghcr.io",
	"ghcr.io/foo",
	"ghcr.io/v3/",
	"ghcr.io/v2/foo",
	"ghcr.io//",
	"ghcr.io/V2/",
	"ghcr.io?x",
	"ghcr.io/?x",
	"ghcr.io#x",
	"",
	"https://",
	"http:///ghcr.io",
	"/v2/",
	"ghcr .io",
	" ghcr.io",
	"ghcr.io ",
	"ghcr.io:0",
	"ghcr.io:65536",
	"ghcr.io:99999999999999999999",
	"ghcr.io:",
	"ghcr.io:05000",
	"ghcr.io:+443",
	"ghcr.io:-1",
	"ghcr.io:44a",
	":5000",
	"-bad.com",
	"bad-.com",
	"bad.-com",
	"a..b",
	".ghcr.io",
	"ghcr.io.",
	"ghcr_io.example",
	"ghcr!.io",
	"[::1",
	"[zz]:1",
	"[]",
	"[::1]x",
	"[::1]:",
	"[::1]:0",
	"[fe80::1%eth0]",
	"::1",
	"fe80::1:5000",
	"1.2.3.256",
	"1.2.3",
	"01.2.3.4",
	"1.2.3.4.5",
	"123",
	"example.123",
	"gh\tcr.io",
	"ghcr.io\n",
	"gh\x7f" "cr.io",
	"gh\x1b[31mcr.io",
	"b\xc3\xbc" "cher.example",
	"\xef\xbc\x8e" "example",
};

static const char *const secrets[] = {
	"https://user:hunter2@ghcr.io",
	"ghcr.io/hunter2",
	"ghcr.io?token=hunter2",
	"hunter2://ghcr.io",
};

/* The input with non-printable bytes as \xNN, for test names. */
static const char *
show(const char *s, size_t len)
{
	static char buf[4 * 64 + 8];
	size_t o = 0;

	for (size_t i = 0; i < len && o + 5 < sizeof buf; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f)
			o += (size_t)snprintf(buf + o, sizeof buf - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return buf;
}

static void
test_good(void)
{
	char out[SERVER_MAX + 1];
	const char *why = NULL;

	for (size_t i = 0; i < sizeof goods / sizeof *goods; i++) {
		int rc = server_normalize(goods[i].in, strlen(goods[i].in), out,
		    sizeof out, &why);

		if (!ok(rc == 0, "accepts '%s'", goods[i].in))
			printf("#   why: %s\n", why);
		else if (!ok(strcmp(out, goods[i].want) == 0, "'%s' -> '%s'",
		    goods[i].in, out))
			printf("#   want '%s'\n", goods[i].want);
	}
}

static void
test_bad(void)
{
	char out[SERVER_MAX + 1];

	for (size_t i = 0; i < sizeof bads / sizeof *bads; i++) {
		const char *why = NULL;
		int rc = server_normalize(bads[i], strlen(bads[i]), out,
		    sizeof out, &why);

		ok(rc == -1 && why != NULL && *why != '\0', "refuses '%s' (%s)",
		    show(bads[i], strlen(bads[i])), rc == -1 ? why : out);
	}
}

/* One refusal, with the reason in the test name. */
static void
refuses(const char *in, size_t len, const char *what)
{
	char out[SERVER_MAX + 1];
	const char *why = NULL;
	int rc = server_normalize(in, len, out, sizeof out, &why);

	ok(rc == -1 && why != NULL, "refuses %s (%s)", what,
	    rc == -1 ? why : out);
}

static void
test_special_inputs(void)
{
	char out[SERVER_MAX + 1], big[600];
	const char *why = NULL;
	char label[100];
	const char *v6;
	int rc;

	/* NUL inside: the length says 10 bytes, the 8th is NUL. */
	refuses("ghcr.io\0xy", 10, "a NUL inside");
	refuses("\0", 1, "a lone NUL");
	/* Only len bytes are read: "ghcr.io" out of a longer buffer. */
	rc = server_normalize("ghcr.io/foo", 7, out, sizeof out, &why);
	ok(rc == 0 && strcmp(out, "ghcr.io") == 0, "reads only len bytes");

	/* Label of 63 vs 64 characters. */
	memset(label, 'a', 63);
	memcpy(label + 63, ".io", 4);
	rc = server_normalize(label, strlen(label), out, sizeof out, &why);
	ok(rc == 0, "accepts a 63-character label");
	memset(label, 'a', 64);
	memcpy(label + 64, ".io", 4);
	refuses(label, strlen(label), "a 64-character label");

	/* Host of 253 vs 254 characters: 63-char labels and dots. */
	memset(big, 0, sizeof big);
	for (int i = 0; i < 253; i++)
		big[i] = (i % 64 == 63) ? '.' : 'a';
	rc = server_normalize(big, 253, out, sizeof out, &why);
	ok(rc == 0 && strlen(out) == 253, "accepts a 253-character host");
	memcpy(big + 253, ":65535", 7);
	rc = server_normalize(big, strlen(big), out, sizeof out, &why);
	ok(rc == 0 && strlen(out) == 259 && strlen(out) <= SERVER_MAX,
	    "accepts 253 characters and a port");
	big[253] = 'a';
	big[254] = '\0';
	refuses(big, 254, "a 254-character host");
	memset(big, 'a', sizeof big);
	refuses(big, sizeof big, "a 600-byte input");
	/* The longest IPv6 text form with a port fits. */
	v6 = "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535";
	rc = server_normalize(v6, strlen(v6), out, sizeof out, &why);
	ok(rc == 0, "accepts the longest IPv6 form (%s)", rc == 0 ? out : why);

	/* A buffer below SERVER_MAX + 1 is refused, not overrun. */
	rc = server_normalize("ghcr.io", 7, out, 8, &why);
	ok(rc == -1, "refuses a short output buffer");

	/* The reason never quotes the input. */
	for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++) {
		why = NULL;
		rc = server_normalize(secrets[i], strlen(secrets[i]), out,
		    sizeof out, &why);
		ok(rc == -1 && why != NULL && strstr(why, "hunter2") == NULL,
		    "reason does not quote input #%zu", i);
	}
	rc = server_normalize("ghcr.io/foo", 11, out, sizeof out, &why);
	ok(rc == -1 && out[0] == '\0', "output is empty after a refusal");
}

static void
test_key_same(void)
{
	is_str(server_key("docker.io"), "docker.io", "key docker.io");
	is_str(server_key("index.docker.io"), "docker.io",
	    "key index.docker.io");
	is_str(server_key("registry-1.docker.io"), "docker.io",
	    "key registry-1.docker.io");
	is_str(server_key("ghcr.io"), "ghcr.io", "key ghcr.io is itself");
	is_str(server_key("docker.io:443"), "docker.io:443",
	    "key docker.io:443 is itself");
	is_str(server_key("registry-2.docker.io"), "registry-2.docker.io",
	    "key registry-2.docker.io is itself");

	ok(server_same("docker.io", "index.docker.io"), "docker.io ~ index");
	ok(server_same("index.docker.io", "docker.io"), "index ~ docker.io");
	ok(server_same("registry-1.docker.io", "index.docker.io"),
	    "registry-1 ~ index");
	ok(server_same("index.docker.io", "registry-1.docker.io"),
	    "index ~ registry-1");
	ok(server_same("ghcr.io", "ghcr.io"), "ghcr.io ~ ghcr.io");
	ok(!server_same("docker.io", "docker.io:443"), "docker.io !~ :443");
	ok(!server_same("docker.io:443", "docker.io"), ":443 !~ docker.io");
	ok(!server_same("ghcr.io", "docker.io"), "ghcr.io !~ docker.io");
	ok(!server_same("docker.io", "ghcr.io"), "docker.io !~ ghcr.io");
	ok(!server_same("localhost:5000", "localhost:5001"),
	    "ports differ");
}

/* Normalising a normalised server changes nothing. */
static void
test_idempotent(void)
{
	char out[SERVER_MAX + 1], again[SERVER_MAX + 1];
	const char *why;
	int all = 1;

	for (size_t i = 0; i < sizeof goods / sizeof *goods; i++) {
		if (server_normalize(goods[i].in, strlen(goods[i].in), out,
		    sizeof out, &why) != 0 ||
		    server_normalize(out, strlen(out), again, sizeof again,
		    &why) != 0 || strcmp(out, again) != 0) {
			printf("# not idempotent: %s\n", goods[i].in);
			all = 0;
		}
	}
	ok(all, "normalisation is idempotent on every accepted input");
}

int
main(void)
{
	test_good();
	test_bad();
	test_special_inputs();
	test_key_same();
	test_idempotent();
	return done_testing();
}
