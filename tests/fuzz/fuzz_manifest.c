/*
 * fuzz_manifest: manifest_parse on arbitrary bytes.  An input whose first
 * line (at most 256 bytes, ending in '\n') is "CONTENT-TYPE PLATFORM"
 * passes those; otherwise the whole input is the body, served without
 * Content-Type, for linux/amd64.  Properties, any broken one aborts:
 * - on failure *why is a non-empty reason and the result is all zero;
 * - on success the media type is one of the four, every digest passes
 *   digest_valid, every size is >= 0, an image has at most
 *   MANIFEST_MAX_LAYERS layers and an index chose an image manifest;
 * - on success, parsing again with the media type found as the
 *   Content-Type gives the same result;
 * - an image's manifest_to_oci text parses as an OCI image manifest with
 *   the same digests and sizes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct manifest m, again;

static void
check_ref(const struct blob_ref *b)
{
	if (!digest_valid(b->digest) || b->size < 0 ||
	    strnlen(b->media_type, sizeof b->media_type) == 0 ||
	    strnlen(b->media_type, sizeof b->media_type) == sizeof b->media_type)
		abort();
}

/* The OCI conversion of m keeps every digest and size. */
static void
check_oci(void)
{
	const char *why = NULL;
	char *text;
	size_t len;

	if (manifest_to_oci(&m, &text, &len) != 0)
		abort();
	if (manifest_parse(text, len, NULL, "linux/amd64", &again, &why) != 0 ||
	    strcmp(again.media_type, MT_OCI_MANIFEST) != 0 ||
	    again.n_layers != m.n_layers ||
	    strcmp(again.config.digest, m.config.digest) != 0 ||
	    again.config.size != m.config.size)
		abort();
	for (unsigned i = 0; i < m.n_layers; i++)
		if (strcmp(again.layers[i].digest, m.layers[i].digest) != 0 ||
		    again.layers[i].size != m.layers[i].size)
			abort();
	free(text);
}

static int
is_one_of_four(const char *t)
{
	return strcmp(t, MT_OCI_INDEX) == 0 || strcmp(t, MT_DOCKER_LIST) == 0 ||
	    strcmp(t, MT_OCI_MANIFEST) == 0 || strcmp(t, MT_DOCKER_MANIFEST) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct manifest zero;
	char head[257], *ct = NULL, *platform = "linux/amd64", *sp;
	const char *body = (const char *)data, *why = NULL;
	const uint8_t *nl = memchr(data, '\n', size < 257 ? size : 257);
	size_t len = size;

	if (nl != NULL) {
		size_t hl = (size_t)(nl - data);

		memcpy(head, data, hl);
		head[hl] = '\0';
		if (strlen(head) == hl && (sp = strchr(head, ' ')) != NULL) {
			*sp = '\0';
			ct = head;
			platform = sp + 1;
			body = (const char *)nl + 1;
			len = size - hl - 1;
		}
	}
	if (manifest_parse(body, len, ct, platform, &m, &why) != 0) {
		if (why == NULL || *why == '\0' ||
		    memcmp(&m, &zero, sizeof m) != 0)
			abort();
		return 0;
	}
	if (why != NULL || !is_one_of_four(m.media_type))
		abort();
	if (m.kind == MANIFEST_IMAGE) {
		if (m.n_layers > MANIFEST_MAX_LAYERS)
			abort();
		check_ref(&m.config);
		for (unsigned i = 0; i < m.n_layers; i++)
			check_ref(&m.layers[i]);
	} else if (m.kind == MANIFEST_INDEX) {
		check_ref(&m.chosen);
		if (strcmp(m.chosen.media_type, MT_OCI_MANIFEST) != 0 &&
		    strcmp(m.chosen.media_type, MT_DOCKER_MANIFEST) != 0)
			abort();
	} else
		abort();
	if (manifest_parse(body, len, m.media_type, platform, &again,
	    &why) != 0 || memcmp(&m, &again, sizeof m) != 0)
		abort();
	if (m.kind == MANIFEST_IMAGE)
		check_oci();
	return 0;
}
