/*
 * manifest: see manifest.h.
 *
 * The media type comes from the body's mediaType when it has one, else
 * from the Content-Type (parameters and case ignored); when both name one
 * of the four manifest types and differ, the manifest is refused, as is
 * one whose type is known from neither.  A Content-Type that is not a
 * manifest type (application/json, octet-stream) is not held against a
 * body that says what it is.  schemaVersion must be the integer 2 (schema
 * 1 is refused by name).  To stop an index being read as an image or the
 * reverse, an image may not have "manifests" and an index may not have
 * "config" or "layers".
 *
 * Descriptors: an object with a mediaType string (printable ASCII, less
 * than 128 bytes), a digest that digest_valid accepts, and a size that is
 * a JSON integer from 0 to INT64_MAX - 1 (json-c clamps larger numbers to
 * INT64_MAX, so that value cannot be trusted).  Other members (urls,
 * annotations, platform of an image's layers) are not looked at.  An image
 * config must be an OCI or Docker image config: an artifact that is not a
 * container image is refused.
 *
 * Platform choice in an index: only entries that are image manifests and
 * have a platform take part.  os and architecture must be equal
 * (x86_64 is read as amd64 and aarch64 as arm64, on both sides).  A
 * variant absent from an entry or a request stands for its
 * architecture's default (v8 for arm64, v7 for arm, none elsewhere).  A
 * request with a variant takes the first entry whose variant matches; a
 * request without one takes the first entry with the default variant,
 * else the first entry of that os/architecture.  Every entry of the index
 * must be well-formed, whether chosen or not.
 *
 * manifest_to_oci writes its JSON by hand (every value it writes is a
 * checked digest, an integer, or a media type of printable ASCII, escaped
 * for '"' and '\'), members in a fixed order.
 */
#include "manifest.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "jsonin.h"

const char manifest_why_no_platform[] =
    "the index has no image for the requested platform";

#define MT_DOCKER_SCHEMA1 "application/vnd.docker.distribution.manifest.v1+json"
#define MT_DOCKER_SCHEMA1_SIGNED \
	"application/vnd.docker.distribution.manifest.v1+prettyjws"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"

#define PLATFORM_PART_MAX 64

int
digest_valid(const char *s)
{
	if (s == NULL || strncmp(s, "sha256:", 7) != 0)
		return 0;
	s += 7;
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[64] == '\0';
}

/* The four types we read; NULL when s is none of them. */
static const char *
known_type(const char *s, size_t n)
{
	static const char *const types[] = {
		MT_OCI_INDEX, MT_DOCKER_LIST, MT_OCI_MANIFEST, MT_DOCKER_MANIFEST,
	};

	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (strlen(types[i]) == n && strncasecmp(types[i], s, n) == 0)
			return types[i];
	return NULL;
}

static bool
is_schema1(const char *s, size_t n)
{
	return (n == strlen(MT_DOCKER_SCHEMA1) &&
	    strncasecmp(s, MT_DOCKER_SCHEMA1, n) == 0) ||
	    (n == strlen(MT_DOCKER_SCHEMA1_SIGNED) &&
	    strncasecmp(s, MT_DOCKER_SCHEMA1_SIGNED, n) == 0);
}

/* The type part of a Content-Type value, blanks and parameters cut off. */
static void
content_type_part(const char *ct, const char **start, size_t *n)
{
	const char *e;

	*start = NULL;
	*n = 0;
	if (ct == NULL)
		return;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	e = ct + strcspn(ct, ";");
	while (e > ct && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*start = ct;
	*n = (size_t)(e - ct);
}

static bool
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

/* A string member; NULL when absent.  *bad set when present but wrong. */
static const char *
get_string(struct json_object *o, const char *key, bool *bad)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	if (!json_object_is_type(v, json_type_string)) {
		*bad = true;
		return NULL;
	}
	return json_object_get_string(v);
}

static const char *
parse_descriptor(struct json_object *o, struct blob_ref *out)
{
	struct json_object *v;
	const char *mt, *dg;
	bool bad = false;
	int64_t size;

	memset(out, 0, sizeof *out);
	if (!json_object_is_type(o, json_type_object))
		return "a descriptor is not an object";
	mt = get_string(o, "mediaType", &bad);
	if (mt == NULL)
		return "a descriptor has no mediaType string";
	if (*mt == '\0' || strlen(mt) >= sizeof out->media_type || !printable(mt))
		return "a descriptor has an invalid mediaType";
	dg = get_string(o, "digest", &bad);
	if (dg == NULL)
		return "a descriptor has no digest string";
	if (!digest_valid(dg))
		return "a descriptor has a digest that is not sha256:<64 "
		    "lowercase hex>";
	if (!json_object_object_get_ex(o, "size", &v))
		return "a descriptor has no size";
	if (!json_object_is_type(v, json_type_int))
		return "a descriptor has a size that is not an integer";
	size = json_object_get_int64(v);
	if (size < 0 || size == INT64_MAX)
		return "a descriptor has a negative or huge size";
	strcpy(out->media_type, mt);
	strcpy(out->digest, dg);
	out->size = size;
	return NULL;
}

static const char *
parse_image(struct json_object *root, struct manifest *out)
{
	struct json_object *v, *layers;
	const char *why;
	size_t n;

	if (json_object_object_get_ex(root, "manifests", &v))
		return "an image manifest with a manifests list";
	if (!json_object_object_get_ex(root, "config", &v))
		return "an image manifest without a config";
	if ((why = parse_descriptor(v, &out->config)) != NULL)
		return why;
	if (strcmp(out->config.media_type, MT_OCI_CONFIG) != 0 &&
	    strcmp(out->config.media_type, MT_DOCKER_CONFIG) != 0)
		return "not a container image (unknown config media type)";
	if (!json_object_object_get_ex(root, "layers", &layers) ||
	    !json_object_is_type(layers, json_type_array))
		return "an image manifest without a layers array";
	n = json_object_array_length(layers);
	if (n > MANIFEST_MAX_LAYERS)
		return "an image with more than 256 layers";
	for (size_t i = 0; i < n; i++) {
		why = parse_descriptor(json_object_array_get_idx(layers, i),
		    &out->layers[i]);
		if (why != NULL)
			return why;
	}
	out->n_layers = (unsigned)n;
	out->kind = MANIFEST_IMAGE;
	return NULL;
}

struct platform {
	char os[PLATFORM_PART_MAX];
	char arch[PLATFORM_PART_MAX];
	char variant[PLATFORM_PART_MAX];	/* "" when none given */
};

static void
normalize_platform(struct platform *p)
{
	if (strcmp(p->arch, "x86_64") == 0 || strcmp(p->arch, "x86-64") == 0)
		strcpy(p->arch, "amd64");
	else if (strcmp(p->arch, "aarch64") == 0)
		strcpy(p->arch, "arm64");
}

static const char *
default_variant(const char *arch)
{
	if (strcmp(arch, "arm64") == 0)
		return "v8";
	if (strcmp(arch, "arm") == 0)
		return "v7";
	return "";
}

static const char *
effective_variant(const struct platform *p)
{
	return p->variant[0] != '\0' ? p->variant : default_variant(p->arch);
}

/* Copy one part (no '/', 1..PLATFORM_PART_MAX-1 printable bytes). */
static int
copy_part(char *dst, const char *s, size_t n)
{
	if (n == 0 || n >= PLATFORM_PART_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > 0x7e || s[i] == '/')
			return -1;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

static int
parse_platform_string(const char *s, struct platform *p)
{
	const char *a, *b;

	memset(p, 0, sizeof *p);
	if (s == NULL || (a = strchr(s, '/')) == NULL)
		return -1;
	if (copy_part(p->os, s, (size_t)(a - s)) < 0)
		return -1;
	a++;
	if ((b = strchr(a, '/')) == NULL) {
		if (copy_part(p->arch, a, strlen(a)) < 0)
			return -1;
	} else if (copy_part(p->arch, a, (size_t)(b - a)) < 0 ||
	    copy_part(p->variant, b + 1, strlen(b + 1)) < 0)
		return -1;
	normalize_platform(p);
	return 0;
}

/* The platform object of an index entry.  1: read, 0: absent or
 * unusable (the entry takes no part), -1: malformed. */
static int
entry_platform(struct json_object *entry, struct platform *p)
{
	struct json_object *v;
	const char *os, *arch, *variant;
	bool bad = false;

	memset(p, 0, sizeof *p);
	if (!json_object_object_get_ex(entry, "platform", &v))
		return 0;
	if (!json_object_is_type(v, json_type_object))
		return -1;
	os = get_string(v, "os", &bad);
	arch = get_string(v, "architecture", &bad);
	variant = get_string(v, "variant", &bad);
	if (bad || os == NULL || arch == NULL)
		return -1;
	if (copy_part(p->os, os, strlen(os)) < 0 ||
	    copy_part(p->arch, arch, strlen(arch)) < 0)
		return 0;
	if (variant != NULL && copy_part(p->variant, variant,
	    strlen(variant)) < 0)
		return 0;
	normalize_platform(p);
	return 1;
}

static const char *
parse_index(struct json_object *root, const char *platform,
            struct manifest *out)
{
	struct json_object *list, *v;
	struct platform want, have;
	int best = 0;
	size_t n;

	if (json_object_object_get_ex(root, "config", &v) ||
	    json_object_object_get_ex(root, "layers", &v))
		return "an index with a config or layers";
	if (parse_platform_string(platform, &want) < 0)
		return "the requested platform is not os/arch[/variant]";
	if (!json_object_object_get_ex(root, "manifests", &list) ||
	    !json_object_is_type(list, json_type_array))
		return "an index without a manifests array";
	n = json_object_array_length(list);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(list, i);
		struct blob_ref d;
		const char *why;
		int score, rc;

		if ((why = parse_descriptor(e, &d)) != NULL)
			return why;
		if ((rc = entry_platform(e, &have)) < 0)
			return "an index entry has a malformed platform";
		if (rc == 0 || best == 2)
			continue;
		if (strcmp(d.media_type, MT_OCI_MANIFEST) != 0 &&
		    strcmp(d.media_type, MT_DOCKER_MANIFEST) != 0)
			continue;
		if (strcmp(have.os, want.os) != 0 ||
		    strcmp(have.arch, want.arch) != 0)
			continue;
		if (strcmp(effective_variant(&have),
		    effective_variant(&want)) == 0)
			score = 2;
		else if (want.variant[0] == '\0')
			score = 1;
		else
			continue;
		if (score > best) {
			best = score;
			out->chosen = d;
		}
	}
	if (best == 0)
		return manifest_why_no_platform;
	out->kind = MANIFEST_INDEX;
	return NULL;
}

/* The media type of the manifest, or a reason to refuse it. */
static const char *
decide_type(struct json_object *root, const char *content_type,
            const char **type)
{
	const char *body_mt, *ct_mt, *ct;
	bool bad = false;
	size_t ctn;

	*type = NULL;
	body_mt = get_string(root, "mediaType", &bad);
	if (bad)
		return "mediaType is not a string";
	content_type_part(content_type, &ct, &ctn);
	if (ct != NULL && is_schema1(ct, ctn))
		return "schema 1 manifests are not supported";
	ct_mt = ct != NULL ? known_type(ct, ctn) : NULL;
	if (body_mt != NULL) {
		if (is_schema1(body_mt, strlen(body_mt)))
			return "schema 1 manifests are not supported";
		/* The body's own field is compared exactly. */
		if ((*type = known_type(body_mt, strlen(body_mt))) == NULL ||
		    strcmp(*type, body_mt) != 0) {
			*type = NULL;
			return "unsupported media type";
		}
		if (ct_mt != NULL && ct_mt != *type) {
			*type = NULL;
			return "the body's mediaType disagrees with the "
			    "Content-Type";
		}
		return NULL;
	}
	if (ct_mt == NULL)
		return "unsupported or missing media type";
	*type = ct_mt;
	return NULL;
}

int
manifest_parse(const char *body, size_t len, const char *content_type,
               const char *platform, struct manifest *out,
               const char **why)
{
	struct json_object *root = NULL, *v;
	const char *type, *jwhy;
	int rc = -1;

	memset(out, 0, sizeof *out);
	*why = NULL;
	if (len > MANIFEST_MAX_BYTES) {
		*why = "larger than 4 MiB";
		goto out;
	}
	switch (jsonin_parse(body, len, &root, &jwhy)) {
	case JSONIN_OK:
		break;
	case JSONIN_NOT_OBJECT:
		*why = "not a JSON object";
		goto out;
	default:
		*why = "not valid JSON";
		goto out;
	}
	if (!json_object_object_get_ex(root, "schemaVersion", &v) ||
	    !json_object_is_type(v, json_type_int)) {
		*why = "no integer schemaVersion";
		goto out;
	}
	if (json_object_get_int64(v) == 1) {
		*why = "schema 1 manifests are not supported";
		goto out;
	}
	if (json_object_get_int64(v) != 2) {
		*why = "unsupported schemaVersion";
		goto out;
	}
	if ((*why = decide_type(root, content_type, &type)) != NULL)
		goto out;
	strcpy(out->media_type, type);
	if (strcmp(type, MT_OCI_INDEX) == 0 || strcmp(type, MT_DOCKER_LIST) == 0)
		*why = parse_index(root, platform, out);
	else
		*why = parse_image(root, out);
	if (*why == NULL)
		rc = 0;
out:
	json_object_put(root);
	if (rc != 0) {
		const char *keep = *why;

		memset(out, 0, sizeof *out);
		*why = keep;
	}
	return rc;
}

/* OCI equivalents of Docker media types; NULL when there is none. */
static const char *
oci_type(const char *docker)
{
	static const char *const map[][2] = {
		{ MT_DOCKER_CONFIG, MT_OCI_CONFIG },
		{ "application/vnd.docker.image.rootfs.diff.tar.gzip",
		  "application/vnd.oci.image.layer.v1.tar+gzip" },
		{ "application/vnd.docker.image.rootfs.diff.tar",
		  "application/vnd.oci.image.layer.v1.tar" },
		{ "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
		  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip" },
	};

	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcmp(docker, map[i][0]) == 0)
			return map[i][1];
	return NULL;
}

/* Append a descriptor to buf at *o (the caller sized buf). */
static void
put_descriptor(char *buf, size_t *o, const struct blob_ref *b)
{
	const char *mt = oci_type(b->media_type);

	if (mt == NULL)
		mt = b->media_type;
	*o += (size_t)sprintf(buf + *o, "{\"mediaType\":\"");
	for (; *mt != '\0'; mt++) {
		if (*mt == '"' || *mt == '\\')
			buf[(*o)++] = '\\';
		buf[(*o)++] = *mt;
	}
	*o += (size_t)sprintf(buf + *o, "\",\"digest\":\"%s\",\"size\":%lld}",
	    b->digest, b->size);
}

int
manifest_to_oci(const struct manifest *m, char **out, size_t *len)
{
	/* A descriptor: mediaType (< 128 bytes, doubled at worst by
	 * escapes), digest (71), size (20) and the JSON around them. */
	size_t per = 2 * sizeof m->config.media_type + 72 + 21 + 64;
	size_t cap = 256 + per * (m->n_layers + 1), o = 0;
	char *buf;

	*out = NULL;
	*len = 0;
	if ((buf = malloc(cap)) == NULL)
		return -1;
	o += (size_t)sprintf(buf, "{\"schemaVersion\":2,\"mediaType\":\""
	    MT_OCI_MANIFEST "\",\"config\":");
	put_descriptor(buf, &o, &m->config);
	o += (size_t)sprintf(buf + o, ",\"layers\":[");
	for (unsigned i = 0; i < m->n_layers; i++) {
		if (i > 0)
			buf[o++] = ',';
		put_descriptor(buf, &o, &m->layers[i]);
	}
	o += (size_t)sprintf(buf + o, "]}");
	*out = buf;
	*len = o;
	return 0;
}
