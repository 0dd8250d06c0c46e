/*
 * test_imageref: imageref_parse over a table of inputs taken from how
 * Docker parses references (github.com/distribution/reference,
 * reference_test.go and normalize_test.go), each with the wanted status,
 * host and path; then generated long names at the length limits, and
 * imageref_tag_valid over its own table.  Every refusal must come with a
 * reason that never quotes the input; HAS_TAG and HAS_DIGEST reasons
 * must point at the tag field.  Cases marked "stricter" or "header" are
 * where modbox deliberately differs from Docker (see imageref.c).
 */
#include <stdio.h>
#include <string.h>

#include "imageref.h"
#include "tap.h"

#define OK	IMAGEREF_OK
#define BAD	IMAGEREF_INVALID
#define TAG	IMAGEREF_HAS_TAG
#define DIG	IMAGEREF_HAS_DIGEST

#define HEX64 "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a"
#define SHA256 "sha256:" \
	"dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c"
#define SHA512 "sha512:" \
	"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff" \
	"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"

struct pcase {
	const char *in;
	size_t len;		/* 0: strlen(in) */
	enum imageref_status want;
	const char *host;	/* on OK */
	const char *path;	/* on OK */
};

static const struct pcase pcases[] = {
	/* Docker Hub names and "library/". */
	{ "ubuntu", 0, OK, "docker.io", "library/ubuntu" },
	{ "docker.io/ubuntu", 0, OK, "docker.io", "library/ubuntu" },
	{ "index.docker.io/ubuntu", 0, OK, "docker.io", "library/ubuntu" },
	{ "registry-1.docker.io/ubuntu", 0, OK, "docker.io", "library/ubuntu" },	/* header */
	{ "DOCKER.IO/ubuntu", 0, OK, "docker.io", "library/ubuntu" },
	{ "docker.io/org/app", 0, OK, "docker.io", "org/app" },
	{ "library/ubuntu", 0, OK, "docker.io", "library/ubuntu" },
	{ "docker.io/library/ubuntu", 0, OK, "docker.io", "library/ubuntu" },
	{ "index.docker.io/docker/docker", 0, OK, "docker.io", "docker/docker" },
	{ "docker/docker", 0, OK, "docker.io", "docker/docker" },
	{ "library/foo/bar", 0, OK, "docker.io", "library/foo/bar" },
	{ "docker.io/library/foo/bar", 0, OK, "docker.io", "library/foo/bar" },
	{ "store/foo/bar", 0, OK, "docker.io", "store/foo/bar" },
	{ "other/library", 0, OK, "docker.io", "other/library" },
	{ "ubuntu-12.04-base", 0, OK, "docker.io", "library/ubuntu-12.04-base" },
	{ "docker.io/foo.bar/x", 0, OK, "docker.io", "foo.bar/x" },
	{ "docker.io:443/foo", 0, OK, "docker.io:443", "foo" },
	{ "test_com/foo", 0, OK, "docker.io", "test_com/foo" },
	{ "test_com", 0, OK, "docker.io", "library/test_com" },
	{ "a/b/c/d/e", 0, OK, "docker.io", "a/b/c/d/e" },
	{ "0/1", 0, OK, "docker.io", "0/1" },
	/* One component and no '/': always a Docker Hub name. */
	{ "localhost", 0, OK, "docker.io", "library/localhost" },
	{ "ghcr.io", 0, OK, "docker.io", "library/ghcr.io" },
	{ "192.168.0.1", 0, OK, "docker.io", "library/192.168.0.1" },
	{ "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
	  0, OK, "docker.io",
	  "library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev" },
	/* Registry hosts: '.', ':', localhost, uppercase. */
	{ "localhost/foo", 0, OK, "localhost", "foo" },
	{ "localhost:5000/foo", 0, OK, "localhost:5000", "foo" },
	{ "LocalHost:5000/app", 0, OK, "localhost:5000", "app" },
	{ "registry.example.com:5000/a/b", 0, OK, "registry.example.com:5000", "a/b" },
	{ "ghcr.io/org/app", 0, OK, "ghcr.io", "org/app" },
	{ "GHCR.io/org/app", 0, OK, "ghcr.io", "org/app" },
	{ "example.com/privatebase", 0, OK, "example.com", "privatebase" },
	{ "test:5000/repo", 0, OK, "test:5000", "repo" },
	{ "test-com:8080/foo", 0, OK, "test-com:8080", "foo" },
	{ "xn--n3h.com:18080/foo", 0, OK, "xn--n3h.com:18080", "foo" },
	{ "sub-dom1.foo.com/bar/baz/quux", 0, OK, "sub-dom1.foo.com", "bar/baz/quux" },
	{ "b.gcr.io/test.example.com/my-app", 0, OK, "b.gcr.io", "test.example.com/my-app" },
	{ "europe-west1-docker.pkg.dev/proj/repo/img", 0, OK,
	  "europe-west1-docker.pkg.dev", "proj/repo/img" },
	{ "123456789012.dkr.ecr.us-east-1.amazonaws.com/app", 0, OK,
	  "123456789012.dkr.ecr.us-east-1.amazonaws.com", "app" },
	{ "Foo/bar", 0, OK, "foo", "bar" },
	{ "FOO/bar", 0, OK, "foo", "bar" },
	{ "Docker/docker", 0, OK, "docker", "docker" },
	{ "127.0.0.1:5000/x", 0, OK, "127.0.0.1:5000", "x" },
	{ "127.0.0.1:5000/docker/docker", 0, OK, "127.0.0.1:5000", "docker/docker" },
	{ "192.168.0.1:8/debian", 0, OK, "192.168.0.1:8", "debian" },
	{ "192.168.1.1/repo", 0, OK, "192.168.1.1", "repo" },
	{ "[::1]:5000/x", 0, OK, "[::1]:5000", "x" },
	{ "[2001:db8::1]/x", 0, OK, "[2001:db8::1]", "x" },
	{ "[2001:DB8::0001]/x", 0, OK, "[2001:db8::1]", "x" },
	{ "[2001:db8::]:5000/repo", 0, OK, "[2001:db8::]:5000", "repo" },
	{ "[fc00:1:2:3:4:5:6:7]:5000/library/debian", 0, OK,
	  "[fc00:1:2:3:4:5:6:7]:5000", "library/debian" },
	/* Separators. */
	{ "a__b", 0, OK, "docker.io", "library/a__b" },
	{ "a--b", 0, OK, "docker.io", "library/a--b" },
	{ "docker---rules/docker", 0, OK, "docker.io", "docker---rules/docker" },
	{ "dock__er/docker", 0, OK, "docker.io", "dock__er/docker" },
	{ "a.b_c-d", 0, OK, "docker.io", "library/a.b_c-d" },
	{ "d/docker", 0, OK, "docker.io", "d/docker" },
	{ "a___b", 0, BAD, NULL, NULL },
	{ "a-", 0, BAD, NULL, NULL },
	{ "-a", 0, BAD, NULL, NULL },
	{ "a._b", 0, BAD, NULL, NULL },
	{ "a..b", 0, BAD, NULL, NULL },
	{ "a_.b", 0, BAD, NULL, NULL },
	{ "dock-.er/docker", 0, BAD, NULL, NULL },
	{ "-docker/docker", 0, BAD, NULL, NULL },
	{ "docker-/docker", 0, BAD, NULL, NULL },
	{ "____/____", 0, BAD, NULL, NULL },
	{ "_docker/_docker", 0, BAD, NULL, NULL },
	{ ".a", 0, BAD, NULL, NULL },
	{ "a/.b", 0, BAD, NULL, NULL },
	/* Empty components. */
	{ "a/b/", 0, BAD, NULL, NULL },
	{ "/a", 0, BAD, NULL, NULL },
	{ "a//b", 0, BAD, NULL, NULL },
	{ "docker///docker", 0, BAD, NULL, NULL },
	{ "docker/", 0, BAD, NULL, NULL },
	{ "ghcr.io/", 0, BAD, NULL, NULL },
	{ "ghcr.io//x", 0, BAD, NULL, NULL },
	{ "/", 0, BAD, NULL, NULL },
	/* Uppercase in the path. */
	{ "foo/Bar", 0, BAD, NULL, NULL },
	{ "UPPER", 0, BAD, NULL, NULL },
	{ "docker/Docker", 0, BAD, NULL, NULL },
	{ "docker.io/docker/Docker", 0, BAD, NULL, NULL },
	{ "Foo/Bar", 0, BAD, NULL, NULL },
	{ "Uppercase:tag", 0, BAD, NULL, NULL },
	{ "test:5000/Uppercase/lowercase:tag", 0, BAD, NULL, NULL },
	/* Bad domains. */
	{ "https://github.com/docker/docker", 0, BAD, NULL, NULL },
	{ "https:/x", 0, BAD, NULL, NULL },
	{ "-docker.io/docker/docker", 0, BAD, NULL, NULL },
	{ "a.b_c/x", 0, BAD, NULL, NULL },
	{ "ghcr.io./x", 0, BAD, NULL, NULL },
	{ "a:b/c", 0, BAD, NULL, NULL },
	{ "a:/c", 0, BAD, NULL, NULL },
	{ "fc00::1:5000/debian", 0, BAD, NULL, NULL },
	{ "[fc00::1]", 0, BAD, NULL, NULL },
	{ "[fc00::1]:5000", 0, BAD, NULL, NULL },
	{ "[2001:db8::1]:tag", 0, BAD, NULL, NULL },
	{ "[fe80::1%eth0]:5000/debian", 0, BAD, NULL, NULL },
	{ "[2001:db8:3:4::192.0.2.33]:5000/debian", 0, BAD, NULL, NULL },
	{ "[::ffff:1.2.3.4]/x", 0, BAD, NULL, NULL },
	{ "[::1/x", 0, BAD, NULL, NULL },
	{ "[::f:4]/x", 0, BAD, NULL, NULL },			/* stricter */
	{ "[::ffff:a:b]/x", 0, BAD, NULL, NULL },		/* stricter */
	{ "[::1:0:0]/x", 0, OK, "[::1:0:0]", "x" },
	{ "user@ghcr.io/x", 0, BAD, NULL, NULL },
	{ "localhost:0/foo", 0, BAD, NULL, NULL },		/* stricter */
	{ "localhost:05000/foo", 0, BAD, NULL, NULL },		/* stricter */
	{ "localhost:65536/foo", 0, BAD, NULL, NULL },		/* stricter */
	{ "foo.123/x", 0, BAD, NULL, NULL },			/* stricter */
	/* Other characters. */
	{ "aa/asdf$$^/aa", 0, BAD, NULL, NULL },
	{ "ghcr.io/org/app?x=1", 0, BAD, NULL, NULL },
	{ "ghcr.io/org/app#x", 0, BAD, NULL, NULL },
	{ "a\\b", 0, BAD, NULL, NULL },
	/* 64 hex digits: an image id, refused unless a domain is given. */
	{ HEX64, 0, BAD, NULL, NULL },
	{ HEX64 ":v1", 0, BAD, NULL, NULL },		/* Docker: tagged */
	{ "docker.io/" HEX64, 0, OK, "docker.io", "library/" HEX64 },
	{ "library/" HEX64, 0, OK, "docker.io", "library/" HEX64 },
	{ "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3", 0, OK,
	  "docker.io",
	  "library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3" },
	{ "1A3F5E7D9C1B3A5F7E9D1C3B5A7F9E1D3C5B7A9F1E3D5D7C9B1A3F5E7D9C1B3A", 0,
	  BAD, NULL, NULL },
	/* Tags. */
	{ "ubuntu:22.04", 0, TAG, NULL, NULL },
	{ "ghcr.io/org/app:latest", 0, TAG, NULL, NULL },
	{ "localhost:5000/app", 0, OK, "localhost:5000", "app" },
	{ "localhost:5000/app:v1", 0, TAG, NULL, NULL },
	{ "localhost:5000", 0, TAG, NULL, NULL },
	{ "test.com:tag", 0, TAG, NULL, NULL },
	{ "192.168.1.1:5000", 0, TAG, NULL, NULL },
	{ "192.168.1.1:5000/repo:5050", 0, TAG, NULL, NULL },
	{ "foo_bar.com:8080", 0, TAG, NULL, NULL },
	{ "lowercase:Uppercase", 0, TAG, NULL, NULL },
	{ "ubuntu:_x", 0, TAG, NULL, NULL },
	{ "[2001:db8::1]:5000/repo:tag", 0, TAG, NULL, NULL },
	{ "b.gcr.io/test.example.com/my-app:test.example.com", 0, TAG, NULL, NULL },
	{ "ubuntu:", 0, BAD, NULL, NULL },
	{ "ubuntu:-x", 0, BAD, NULL, NULL },
	{ "ubuntu:.x", 0, BAD, NULL, NULL },
	{ "ubuntu:a:b", 0, BAD, NULL, NULL },
	{ ":justtag", 0, BAD, NULL, NULL },
	{ "a/b:c/d", 0, BAD, NULL, NULL },
	/* Digests. */
	{ "ubuntu@" SHA256, 0, DIG, NULL, NULL },
	{ "ubuntu:22.04@" SHA256, 0, DIG, NULL, NULL },
	{ "ghcr.io/org/app@" SHA256, 0, DIG, NULL, NULL },
	{ "localhost:5000/app@" SHA256, 0, DIG, NULL, NULL },
	{ "[2001:db8::1]:5000/repo:tag@" SHA256, 0, DIG, NULL, NULL },
	{ "xn--7o8h.com/myimage:xn--7o8h.com@" SHA512, 0, DIG, NULL, NULL },
	{ "ubuntu@sha256:ffffffffffffffffffffffffffffffffff", 0, BAD, NULL, NULL },
	{ "validname@invaliddigest:"
	  "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	  0, BAD, NULL, NULL },
	{ "ubuntu@sha256:"
	  "DBCC1C35AC38DF41FD2F5E4130B32FFDB93EBAE8B3DBE638C23575912276FC9C",
	  0, BAD, NULL, NULL },
	{ "ubuntu@", 0, BAD, NULL, NULL },
	{ "ubuntu@sha256", 0, BAD, NULL, NULL },
	{ "ubuntu@" SHA256 "@x", 0, BAD, NULL, NULL },
	{ "@" SHA256, 0, BAD, NULL, NULL },
	{ "ubuntu:-x@" SHA256, 0, BAD, NULL, NULL },
	{ "foo/Bar@" SHA256, 0, BAD, NULL, NULL },
	/* Bytes. */
	{ "", 0, BAD, NULL, NULL },
	{ " ", 0, BAD, NULL, NULL },
	{ "ubuntu ", 0, BAD, NULL, NULL },
	{ " ubuntu", 0, BAD, NULL, NULL },
	{ "ub untu", 0, BAD, NULL, NULL },
	{ "ubuntu\n", 0, BAD, NULL, NULL },
	{ "ubuntu\t", 0, BAD, NULL, NULL },
	{ "ubuntu\x7f", 0, BAD, NULL, NULL },
	{ "ubu\0ntu", 7, BAD, NULL, NULL },
	{ "ubuntu\0", 7, BAD, NULL, NULL },
	{ "caf\xc3\xa9", 0, BAD, NULL, NULL },
	{ "ghcr.io/caf\xc3\xa9", 0, BAD, NULL, NULL },
};

struct tcase {
	const char *in;
	size_t len;		/* 0: strlen(in) */
	bool want;
};

static const struct tcase tcases[] = {
	{ "latest", 0, true },
	{ "22.04", 0, true },
	{ "v1.0-rc_2", 0, true },
	{ "_x", 0, true },
	{ "Latest", 0, true },
	{ "A", 0, true },
	{ "0", 0, true },
	{ "x.", 0, true },
	{ "x-", 0, true },
	{ "", 0, false },
	{ ".x", 0, false },
	{ "-x", 0, false },
	{ "a b", 0, false },
	{ "a:b", 0, false },
	{ "a/b", 0, false },
	{ "a@b", 0, false },
	{ "a+b", 0, false },
	{ "caf\xc3\xa9", 0, false },
	{ "x\0", 2, false },
	{ "x\n", 0, false },
};

/* Printable form of an input for a test description. */
static const char *
show(const char *s, size_t len)
{
	static char buf[160];
	size_t o = 0, i = 0;

	for (; i < len && o < 60; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, sizeof buf - o, "\\x%02x", c);
	}
	if (i < len)
		snprintf(buf + o, sizeof buf - o, "...[%zu bytes]", len);
	else
		buf[o] = '\0';
	return buf;
}

static const char *const status_names[] = {
	"OK", "INVALID", "HAS_TAG", "HAS_DIGEST",
};

static const char *
status_name(enum imageref_status st)
{
	return (unsigned)st < sizeof status_names / sizeof status_names[0] ?
	    status_names[st] : "?";
}

static void
check(const char *in, size_t len, enum imageref_status want,
      const char *host, const char *path)
{
	struct imageref r;
	const char *why = (const char *)1;
	enum imageref_status st;
	const char *d = show(in, len);

	memset(&r, 'x', sizeof r);
	st = imageref_parse(in, len, &r, &why);
	is_str(status_name(st), status_name(want), "parse \"%s\": status", d);
	if (want == IMAGEREF_OK) {
		is_str(r.host, host, "parse \"%s\": host", d);
		is_str(r.path, path, "parse \"%s\": path", d);
		if (why != NULL)
			ok(0, "parse \"%s\": no reason on OK", d);
		return;
	}
	if (why == NULL || why == (const char *)1 || *why == '\0') {
		ok(0, "parse \"%s\": has a reason", d);
		return;
	}
	if (r.host[0] != '\0' || r.path[0] != '\0')
		ok(0, "parse \"%s\": out cleared", d);
	if (len >= 3 && memmem(why, strlen(why), in, len) != NULL)
		ok(0, "parse \"%s\": reason quotes the input", d);
	if ((want == IMAGEREF_HAS_TAG || want == IMAGEREF_HAS_DIGEST) &&
	    strstr(why, "'tag' field") == NULL)
		ok(0, "parse \"%s\": reason points at the tag field", d);
	if (st == IMAGEREF_INVALID && strcmp(in, "foo/Bar") == 0)
		ok(strstr(why, "lowercase") != NULL,
		    "parse \"%s\": reason says lowercase", d);
}

/* prefix, then fill up to total bytes with 'a'. */
static const char *
make(char *buf, const char *prefix, size_t total)
{
	size_t pn = strlen(prefix);

	memcpy(buf, prefix, pn);
	memset(buf + pn, 'a', total - pn);
	buf[total] = '\0';
	return buf;
}

static void
long_names(void)
{
	char in[300], host[300], path[300];

	/* 255 with the domain counted is fine, 256 is not. */
	make(in, "registry.example.com/", 255);
	make(path, "", 255 - 21);
	check(in, 255, IMAGEREF_OK, "registry.example.com", path);
	make(in, "registry.example.com/", 256);
	check(in, 256, IMAGEREF_INVALID, NULL, NULL);

	make(in, "org/", 255);
	check(in, 255, IMAGEREF_OK, "docker.io", in);
	make(in, "org/", 256);
	check(in, 256, IMAGEREF_INVALID, NULL, NULL);

	/* "docker.io/" counts as given; "library/" makes the path 253. */
	make(in, "docker.io/", 255);
	make(path, "library/", 253);
	check(in, 255, IMAGEREF_OK, "docker.io", path);

	/* One component: the path with "library/" must fit in 255 too. */
	make(in, "", 247);
	make(path, "library/", 255);
	check(in, 247, IMAGEREF_OK, "docker.io", path);
	make(in, "", 248);
	check(in, 248, IMAGEREF_INVALID, NULL, NULL);

	/* Only the name counts: a tag may take the reference past 255. */
	make(in, "org/", 255);
	memcpy(in + 255, ":v1", 4);
	check(in, 258, IMAGEREF_HAS_TAG, NULL, NULL);

	/* A 63-character host label is fine, 64 is not. */
	make(host, "", 63);
	memcpy(host + 63, ".io", 4);
	make(in, "", 63);
	memcpy(in + 63, ".io/x", 6);
	check(in, strlen(in), IMAGEREF_OK, host, "x");
	make(host, "", 64);
	memcpy(host + 64, ".io/x", 6);
	check(host, strlen(host), IMAGEREF_INVALID, NULL, NULL);
}

static void
tags(void)
{
	char buf[200];

	for (size_t i = 0; i < sizeof tcases / sizeof *tcases; i++) {
		size_t len = tcases[i].len ? tcases[i].len : strlen(tcases[i].in);

		ok(imageref_tag_valid(tcases[i].in, len) == tcases[i].want,
		    "tag \"%s\" %s", show(tcases[i].in, len),
		    tcases[i].want ? "valid" : "invalid");
	}
	make(buf, "", 128);
	ok(imageref_tag_valid(buf, 128), "tag of 128 characters valid");
	make(buf, "", 129);
	ok(!imageref_tag_valid(buf, 129), "tag of 129 characters invalid");
	make(buf, "_", 128);
	ok(imageref_tag_valid(buf, 128), "tag \"_a...\" of 128 valid");
	ok(!imageref_tag_valid("latest", 0), "tag of length 0 invalid");
}

int
main(void)
{
	for (size_t i = 0; i < sizeof pcases / sizeof *pcases; i++) {
		const struct pcase *c = &pcases[i];

		check(c->in, c->len ? c->len : strlen(c->in), c->want,
		    c->host, c->path);
	}
	long_names();
	tags();
	return done_testing();
}
