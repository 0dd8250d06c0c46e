/*
 * manifest: parse image manifests and indexes as registries serve them,
 * strictly (through jsonin), and pick the manifest for a platform.
 * Media types: OCI image index, Docker manifest list v2, OCI image
 * manifest, Docker image manifest v2 schema 2.  Every digest is checked to
 * be "sha256:" + 64 lowercase hex (other algorithms are refused), every
 * size to be a non-negative integer.  Pure; fuzzed.
 */
#ifndef MODBOX_MANIFEST_H
#define MODBOX_MANIFEST_H

#include <stddef.h>

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"

#define MANIFEST_MAX_LAYERS 256
#define MANIFEST_MAX_BYTES (4 * 1024 * 1024)

struct blob_ref {
	char digest[72];		/* "sha256:" + 64 hex */
	char media_type[128];
	long long size;
};

enum manifest_kind { MANIFEST_IMAGE, MANIFEST_INDEX };

struct manifest {
	enum manifest_kind kind;
	char media_type[128];		/* from the body, or the Content-Type */
	/* MANIFEST_IMAGE */
	struct blob_ref config;
	struct blob_ref layers[MANIFEST_MAX_LAYERS];
	unsigned n_layers;
	/* MANIFEST_INDEX: the entry chosen for the platform */
	struct blob_ref chosen;
};

/*
 * Parse len bytes of a manifest body served with content_type (may be
 * NULL or empty: then the body's mediaType decides).  For an index, pick
 * the entry whose platform is platform ("os/arch[/variant]"; a missing
 * variant in the request matches any).  Returns 0, or -1 with *why set to a
 * short static reason (malformed, unsupported media type, no entry for the
 * platform, too many layers).
 */
int manifest_parse(const char *body, size_t len, const char *content_type,
                   const char *platform, struct manifest *out,
                   const char **why);

/*
 * An OCI image manifest holding m's config and layers (m->kind must be
 * MANIFEST_IMAGE), for an image served as a Docker v2 schema 2 manifest:
 * the Docker media types become their OCI equivalents (the bytes of the
 * config and layers are the same, as `skopeo copy --format oci` does it),
 * other media types are kept.  The text is deterministic, so converting
 * the same manifest twice gives the same digest.  Returns 0 with *out a
 * malloc'd NUL-terminated JSON text of *len bytes, or -1 (out of memory).
 */
int manifest_to_oci(const struct manifest *m, char **out, size_t *len);

/* The *why manifest_parse gives when an index has no image for the
 * platform (compare the pointer): the caller reports it as "image not
 * found" rather than as a broken manifest. */
extern const char manifest_why_no_platform[];

/* True for "sha256:" + 64 lowercase hex digits. */
int digest_valid(const char *s);

#endif
