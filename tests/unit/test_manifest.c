/*
 * test_manifest: the four media types, media type agreement, platform
 * choice in an index, and the manifests that must be refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "tap.h"

#define H64(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c \
	c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
#define D_A "sha256:" H64("a")
#define D_B "sha256:" H64("b")
#define D_C "sha256:" H64("c")
#define D_1 "sha256:" H64("1")
#define D_2 "sha256:" H64("2")
#define D_3 "sha256:" H64("3")
#define D_4 "sha256:" H64("4")

#define OCI_CFG "application/vnd.oci.image.config.v1+json"
#define OCI_LAYER "application/vnd.oci.image.layer.v1.tar+gzip"

#define OCI_IMAGE \
	"{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST "\"," \
	"\"config\":{\"mediaType\":\"" OCI_CFG "\",\"digest\":\"" D_A "\",\"size\":123}," \
	"\"layers\":[{\"mediaType\":\"" OCI_LAYER "\",\"digest\":\"" D_B "\",\"size\":4567}," \
	"{\"mediaType\":\"" OCI_LAYER "\",\"digest\":\"" D_C "\",\"size\":0," \
	"\"annotations\":{\"x\":\"y\"}}]}"

#define OCI_IMAGE_NO_MT \
	"{\"schemaVersion\":2," \
	"\"config\":{\"mediaType\":\"" OCI_CFG "\",\"digest\":\"" D_A "\",\"size\":1}," \
	"\"layers\":[]}"

#define DOCKER_IMAGE \
	"{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_MANIFEST "\"," \
	"\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\"," \
	"\"digest\":\"" D_A "\",\"size\":1469}," \
	"\"layers\":[{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\"," \
	"\"digest\":\"" D_B "\",\"size\":2818413}]}"

#define ENTRY(mt, d, plat) \
	"{\"mediaType\":\"" mt "\",\"digest\":\"" d "\",\"size\":7023," \
	"\"platform\":" plat "}"
#define PLAT(os, arch) "{\"os\":\"" os "\",\"architecture\":\"" arch "\"}"
#define PLATV(os, arch, v) \
	"{\"os\":\"" os "\",\"architecture\":\"" arch "\",\"variant\":\"" v "\"}"

/* arm64 without variant, amd64, arm v6, arm v7, an attestation. */
#define OCI_INDEX \
	"{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_INDEX "\",\"manifests\":[" \
	ENTRY(MT_OCI_MANIFEST, D_1, PLAT("linux", "arm64")) "," \
	ENTRY(MT_OCI_MANIFEST, D_2, PLAT("linux", "amd64")) "," \
	ENTRY(MT_OCI_MANIFEST, D_3, PLATV("linux", "arm", "v6")) "," \
	ENTRY(MT_OCI_MANIFEST, D_4, PLATV("linux", "arm", "v7")) "," \
	ENTRY(MT_OCI_MANIFEST, D_A, PLAT("unknown", "unknown")) "]}"

#define DOCKER_LIST \
	"{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_LIST "\",\"manifests\":[" \
	ENTRY(MT_DOCKER_MANIFEST, D_1, PLATV("linux", "arm64", "v8")) "," \
	ENTRY(MT_DOCKER_MANIFEST, D_2, PLAT("linux", "amd64")) "]}"

static struct manifest m;

static int
parse(const char *body, const char *ct, const char *platform, const char **why)
{
	return manifest_parse(body, strlen(body), ct, platform, &m, why);
}

static void
refuse(const char *body, const char *ct, const char *what)
{
	const char *why = NULL;
	int rc = parse(body, ct, "linux/amd64", &why);

	if (!ok(rc == -1 && why != NULL && *why != '\0' &&
	    m.n_layers == 0 && m.media_type[0] == '\0', "refuses %s", what))
		printf("#   rc %d why %s\n", rc, why ? why : "(null)");
	else
		printf("#   why: %s\n", why);
}

static void
test_types(void)
{
	const char *why = NULL;

	ok(parse(OCI_IMAGE, MT_OCI_MANIFEST, "linux/amd64", &why) == 0 &&
	    m.kind == MANIFEST_IMAGE &&
	    strcmp(m.media_type, MT_OCI_MANIFEST) == 0 && m.n_layers == 2 &&
	    strcmp(m.config.digest, D_A) == 0 && m.config.size == 123 &&
	    strcmp(m.config.media_type, OCI_CFG) == 0 &&
	    strcmp(m.layers[0].digest, D_B) == 0 && m.layers[0].size == 4567 &&
	    strcmp(m.layers[1].digest, D_C) == 0 && m.layers[1].size == 0,
	    "OCI image manifest");
	ok(parse(DOCKER_IMAGE, MT_DOCKER_MANIFEST, "linux/amd64", &why) == 0 &&
	    m.kind == MANIFEST_IMAGE &&
	    strcmp(m.media_type, MT_DOCKER_MANIFEST) == 0 && m.n_layers == 1 &&
	    m.layers[0].size == 2818413, "Docker v2 schema 2 manifest");
	ok(parse(OCI_INDEX, MT_OCI_INDEX, "linux/amd64", &why) == 0 &&
	    m.kind == MANIFEST_INDEX && strcmp(m.media_type, MT_OCI_INDEX) == 0 &&
	    strcmp(m.chosen.digest, D_2) == 0 && m.chosen.size == 7023 &&
	    strcmp(m.chosen.media_type, MT_OCI_MANIFEST) == 0,
	    "OCI index, linux/amd64");
	ok(parse(DOCKER_LIST, MT_DOCKER_LIST, "linux/amd64", &why) == 0 &&
	    m.kind == MANIFEST_INDEX &&
	    strcmp(m.media_type, MT_DOCKER_LIST) == 0 &&
	    strcmp(m.chosen.digest, D_2) == 0 &&
	    strcmp(m.chosen.media_type, MT_DOCKER_MANIFEST) == 0,
	    "Docker manifest list, schemaVersion 2");

	ok(parse(OCI_IMAGE, NULL, "linux/amd64", &why) == 0 &&
	    strcmp(m.media_type, MT_OCI_MANIFEST) == 0,
	    "no Content-Type: the body decides");
	ok(parse(OCI_IMAGE, "", "linux/amd64", &why) == 0,
	    "empty Content-Type: the body decides");
	ok(parse(OCI_IMAGE, "application/json", "linux/amd64", &why) == 0,
	    "a generic Content-Type does not overrule the body");
	ok(parse(OCI_IMAGE, " Application/VND.oci.image.manifest.v1+JSON ; "
	    "charset=utf-8", "linux/amd64", &why) == 0,
	    "Content-Type parameters and case are ignored");
	ok(parse(OCI_IMAGE_NO_MT, MT_OCI_MANIFEST, "linux/amd64", &why) == 0 &&
	    strcmp(m.media_type, MT_OCI_MANIFEST) == 0 && m.n_layers == 0,
	    "no mediaType in the body: the Content-Type decides");
	refuse(OCI_IMAGE_NO_MT, NULL, "a manifest whose type nothing tells");
	refuse(OCI_IMAGE_NO_MT, "application/json",
	    "a manifest whose type only a generic Content-Type tells");
	refuse(OCI_IMAGE, MT_DOCKER_MANIFEST,
	    "body mediaType (OCI) vs Content-Type (Docker)");
	refuse(OCI_INDEX, MT_OCI_MANIFEST,
	    "an index served as an image manifest");
	refuse(DOCKER_LIST, MT_OCI_INDEX,
	    "a Docker list served as an OCI index");
}

static void
test_platforms(void)
{
	static const struct {
		const char *platform;
		const char *want;
	} cases[] = {
		{ "linux/amd64", D_2 },
		{ "linux/x86_64", D_2 },
		{ "linux/arm64", D_1 },
		{ "linux/arm64/v8", D_1 },	/* entry without variant = v8 */
		{ "linux/aarch64", D_1 },
		{ "linux/arm/v6", D_3 },
		{ "linux/arm/v7", D_4 },
		{ "linux/arm", D_4 },		/* default variant v7 preferred */
	};
	const char *why = NULL;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = parse(OCI_INDEX, NULL, cases[i].platform, &why);

		ok(rc == 0 && strcmp(m.chosen.digest, cases[i].want) == 0,
		    "index: %s picks %.12s", cases[i].platform, cases[i].want);
	}
	ok(parse(DOCKER_LIST, NULL, "linux/arm64", &why) == 0 &&
	    strcmp(m.chosen.digest, D_1) == 0,
	    "list: linux/arm64 takes the v8 entry");
	ok(parse(DOCKER_LIST, NULL, "linux/arm64/v8", &why) == 0 &&
	    strcmp(m.chosen.digest, D_1) == 0,
	    "list: linux/arm64/v8 takes the v8 entry");

	ok(parse(OCI_INDEX, NULL, "linux/arm/v5", &why) == -1 &&
	    why == manifest_why_no_platform, "no entry for linux/arm/v5");
	ok(parse(OCI_INDEX, NULL, "windows/amd64", &why) == -1 &&
	    why == manifest_why_no_platform, "no entry for windows/amd64");
	ok(parse(OCI_INDEX, NULL, "linux/amd64/v2", &why) == -1 &&
	    why == manifest_why_no_platform,
	    "linux/amd64/v2 does not take an entry without variant");
	ok(parse(DOCKER_LIST, NULL, "linux/arm", &why) == -1 &&
	    why == manifest_why_no_platform, "list: no linux/arm");
	ok(parse("{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_INDEX
	    "\",\"manifests\":[]}", NULL, "linux/amd64", &why) == -1 &&
	    why == manifest_why_no_platform, "an empty index");
	ok(parse("{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_INDEX
	    "\",\"manifests\":[" ENTRY(MT_OCI_INDEX, D_1, PLAT("linux", "amd64"))
	    "," ENTRY(MT_OCI_MANIFEST, D_2, PLAT("linux", "amd64")) "]}",
	    NULL, "linux/amd64", &why) == 0 && strcmp(m.chosen.digest, D_2) == 0,
	    "a nested index entry is skipped");
	ok(parse("{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_INDEX
	    "\",\"manifests\":[{\"mediaType\":\"" MT_OCI_MANIFEST "\","
	    "\"digest\":\"" D_1 "\",\"size\":1}]}", NULL, "linux/amd64",
	    &why) == -1 && why == manifest_why_no_platform,
	    "an entry without platform takes no part");

	refuse("{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_INDEX
	    "\",\"manifests\":[" ENTRY(MT_OCI_MANIFEST, D_2, PLAT("linux", "amd64"))
	    ",{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"sha256:12\","
	    "\"size\":1}]}", NULL, "an index with a bad entry after the match");
	refuse("{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_INDEX
	    "\",\"manifests\":[" ENTRY(MT_OCI_MANIFEST, D_2, "{\"os\":\"linux\"}")
	    "]}", NULL, "a platform without architecture");
	refuse("{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_INDEX
	    "\",\"manifests\":[" ENTRY(MT_OCI_MANIFEST, D_2, "\"linux/amd64\"")
	    "]}", NULL, "a platform that is a string");
	refuse("{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_INDEX
	    "\",\"manifests\":{}}", NULL, "manifests that is not an array");
	refuse("{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_INDEX
	    "\",\"manifests\":[],\"layers\":[]}", NULL, "an index with layers");
	ok(parse(OCI_INDEX, NULL, "linux", &why) == -1 && why != NULL &&
	    why != manifest_why_no_platform, "a platform without arch is refused");
	ok(parse(OCI_INDEX, NULL, "linux/amd64/", &why) == -1,
	    "a platform with an empty variant is refused");
}

static void
test_digests(void)
{
	static const char *const bad[] = {
		"sha512:" H64("a") H64("a"),
		"sha256:" H64("A"),
		"sha256:" H64("a") "a",
		"sha256:abc",
		"SHA256:" H64("a"),
		H64("a"),
		"sha256:" H64("g"),
		"",
	};
	char body[1024];

	ok(digest_valid(D_A) && digest_valid("sha256:"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
	    "digest_valid accepts lowercase sha256");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ok(!digest_valid(bad[i]), "digest_valid refuses '%.20s...'",
		    bad[i]);
		snprintf(body, sizeof body, "{\"schemaVersion\":2,\"mediaType\":\""
		    MT_OCI_MANIFEST "\",\"config\":{\"mediaType\":\"" OCI_CFG
		    "\",\"digest\":\"%s\",\"size\":1},\"layers\":[]}", bad[i]);
		refuse(body, NULL, "a config with a bad digest");
	}
	ok(!digest_valid(NULL), "digest_valid refuses NULL");
}

static void
test_refusals(void)
{
#define IMG(cfg, layers) "{\"schemaVersion\":2,\"mediaType\":\"" \
	MT_OCI_MANIFEST "\",\"config\":" cfg ",\"layers\":" layers "}"
#define CFG(size) "{\"mediaType\":\"" OCI_CFG "\",\"digest\":\"" D_A \
	"\",\"size\":" size "}"

	refuse("{\"schemaVersion\":1,\"name\":\"a\",\"tag\":\"b\","
	    "\"fsLayers\":[]}", NULL, "schema 1");
	refuse("{\"schemaVersion\":1,\"name\":\"a\"}",
	    MT_DOCKER_MANIFEST, "schema 1 served as schema 2");
	refuse(OCI_IMAGE, "application/vnd.docker.distribution.manifest.v1"
	    "+prettyjws", "a signed schema 1 Content-Type");
	refuse("{\"schemaVersion\":3,\"mediaType\":\"" MT_OCI_MANIFEST "\"}",
	    NULL, "schemaVersion 3");
	refuse("{\"schemaVersion\":\"2\",\"mediaType\":\"" MT_OCI_MANIFEST "\"}",
	    NULL, "schemaVersion as a string");
	refuse("{\"schemaVersion\":2.0,\"mediaType\":\"" MT_OCI_MANIFEST "\"}",
	    NULL, "schemaVersion 2.0");
	refuse("{\"mediaType\":\"" MT_OCI_MANIFEST "\"}", NULL,
	    "no schemaVersion");
	refuse("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.foo\"}",
	    NULL, "an unknown mediaType");
	refuse("{\"schemaVersion\":2,\"mediaType\":\"application/VND.oci.image."
	    "manifest.v1+json\"}", NULL, "a body mediaType in another case");
	refuse("{\"schemaVersion\":2,\"mediaType\":7}", NULL,
	    "a mediaType that is a number");
	refuse(IMG(CFG("-1"), "[]"), NULL, "a negative size");
	refuse(IMG(CFG("1.5"), "[]"), NULL, "a fractional size");
	refuse(IMG(CFG("1e3"), "[]"), NULL, "a size in exponent form");
	refuse(IMG(CFG("\"12\""), "[]"), NULL, "a size that is a string");
	refuse(IMG(CFG("99999999999999999999"), "[]"), NULL,
	    "a size beyond int64");
	refuse(IMG(CFG("null"), "[]"), NULL, "a null size");
	refuse(IMG("{\"mediaType\":\"" OCI_CFG "\",\"digest\":\"" D_A "\"}",
	    "[]"), NULL, "a descriptor without size");
	refuse(IMG("{\"digest\":\"" D_A "\",\"size\":1}", "[]"), NULL,
	    "a descriptor without mediaType");
	refuse(IMG("{\"mediaType\":\"" OCI_CFG "\",\"size\":1}", "[]"), NULL,
	    "a descriptor without digest");
	refuse(IMG("{\"mediaType\":\"application/vnd.cncf.helm.config.v1+json\","
	    "\"digest\":\"" D_A "\",\"size\":1}", "[]"), NULL,
	    "an artifact that is not a container image");
	refuse("{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST
	    "\",\"layers\":[]}", NULL, "a missing config");
	refuse(IMG("[]", "[]"), NULL, "a config that is an array");
	refuse("{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST
	    "\",\"config\":" CFG("1") "}", NULL, "missing layers");
	refuse(IMG(CFG("1"), "{}"), NULL, "layers that is an object");
	refuse(IMG(CFG("1"), "[1]"), NULL, "a layer that is a number");
	refuse(IMG(CFG("1"), "[" CFG("-5") "]"), NULL,
	    "a layer with a negative size");
	refuse("{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST
	    "\",\"config\":" CFG("1") ",\"layers\":[],\"manifests\":[]}", NULL,
	    "an image with a manifests list");
	refuse("[]", NULL, "an array");
	refuse("\"manifest\"", NULL, "a string");
	refuse("2", NULL, "a number");
	refuse("", NULL, "an empty body");
	refuse("{\"schemaVersion\":2", NULL, "truncated JSON");
	refuse(OCI_IMAGE "x", NULL, "trailing bytes");
	refuse("{\"schemaVersion\":2,\"schemaVersion\":2,}", NULL,
	    "a trailing comma");
#undef IMG
#undef CFG
}

/* n layers, each D_B. */
static char *
many_layers(unsigned n)
{
	static const char layer[] = "{\"mediaType\":\"" OCI_LAYER
	    "\",\"digest\":\"" D_B "\",\"size\":10},";
	size_t cap = 512 + (size_t)n * sizeof layer;
	char *b = malloc(cap);
	size_t k;

	if (b == NULL)
		exit(2);
	k = (size_t)sprintf(b, "{\"schemaVersion\":2,\"mediaType\":\""
	    MT_OCI_MANIFEST "\",\"config\":{\"mediaType\":\"" OCI_CFG
	    "\",\"digest\":\"" D_A "\",\"size\":1},\"layers\":[");
	for (unsigned i = 0; i < n; i++) {
		memcpy(b + k, layer, sizeof layer - 1);
		k += sizeof layer - 1;
	}
	if (n > 0)
		k--;	/* the last comma */
	strcpy(b + k, "]}");
	return b;
}

static void
test_limits(void)
{
	const char *why = NULL;
	char *b = many_layers(MANIFEST_MAX_LAYERS), *big;

	ok(parse(b, NULL, "linux/amd64", &why) == 0 &&
	    m.n_layers == MANIFEST_MAX_LAYERS, "256 layers are accepted");
	free(b);
	b = many_layers(MANIFEST_MAX_LAYERS + 1);
	refuse(b, NULL, "257 layers");
	free(b);

	/* A body over MANIFEST_MAX_BYTES, valid JSON all the same. */
	big = malloc(MANIFEST_MAX_BYTES + 64);
	if (big == NULL)
		exit(2);
	memset(big, ' ', MANIFEST_MAX_BYTES + 63);
	memcpy(big, OCI_IMAGE, strlen(OCI_IMAGE));
	big[MANIFEST_MAX_BYTES + 63] = '\0';
	refuse(big, NULL, "a body over MANIFEST_MAX_BYTES");
	free(big);

	ok(manifest_parse("{\"schemaVersion\":2}\0x", 21, NULL, "linux/amd64",
	    &m, &why) == -1, "a NUL byte in the body");
}

static void
test_to_oci(void)
{
	static struct manifest d, o;
	const char *why = NULL;
	char *text = NULL;
	size_t len = 0;

	ok(manifest_parse(DOCKER_IMAGE, strlen(DOCKER_IMAGE), NULL,
	    "linux/amd64", &d, &why) == 0, "Docker image parses");
	ok(manifest_to_oci(&d, &text, &len) == 0 && text != NULL &&
	    strlen(text) == len, "manifest_to_oci");
	ok(manifest_parse(text, len, MT_OCI_MANIFEST, "linux/amd64", &o,
	    &why) == 0 && o.kind == MANIFEST_IMAGE &&
	    strcmp(o.media_type, MT_OCI_MANIFEST) == 0 && o.n_layers == 1 &&
	    strcmp(o.config.digest, D_A) == 0 && o.config.size == 1469 &&
	    strcmp(o.config.media_type, OCI_CFG) == 0 &&
	    strcmp(o.layers[0].digest, D_B) == 0 &&
	    o.layers[0].size == 2818413 &&
	    strcmp(o.layers[0].media_type, OCI_LAYER) == 0,
	    "the conversion is an OCI manifest with the same blobs");
	is_str(text, "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST
	    "\",\"config\":{\"mediaType\":\"" OCI_CFG "\",\"digest\":\"" D_A
	    "\",\"size\":1469},\"layers\":[{\"mediaType\":\"" OCI_LAYER
	    "\",\"digest\":\"" D_B "\",\"size\":2818413}]}",
	    "the conversion's exact text (its digest must not drift)");
	free(text);

	ok(manifest_parse(OCI_IMAGE, strlen(OCI_IMAGE), NULL, "linux/amd64", &d,
	    &why) == 0 && manifest_to_oci(&d, &text, &len) == 0 &&
	    manifest_parse(text, len, NULL, "linux/amd64", &o, &why) == 0 &&
	    o.n_layers == 2 && strcmp(o.layers[1].digest, D_C) == 0 &&
	    o.layers[1].size == 0 && strcmp(o.layers[0].media_type,
	    OCI_LAYER) == 0, "an OCI manifest converts to itself, in substance");
	free(text);
}

int
main(void)
{
	test_types();
	test_platforms();
	test_digests();
	test_refusals();
	test_limits();
	test_to_oci();
	return done_testing();
}
