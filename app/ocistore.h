/*
 * ocistore: the local image store, an OCI image layout (image-spec
 * image-layout.md) that skopeo ("oci:DIR:REF") and umoci read.
 *
 *   DIR/oci-layout          {"imageLayoutVersion":"1.0.0"}
 *   DIR/index.json          the images, each a manifest descriptor named
 *                           by an org.opencontainers.image.ref.name
 *                           annotation
 *   DIR/blobs/sha256/HEX    content, named by its sha256
 *   DIR/.index.lock         flock(2)ed while index.json is rewritten
 *
 * Blobs are written to a temporary file beside their final place
 * (blobs/sha256/.tmp-RANDOM, created O_EXCL, mode 0644) while their
 * sha256 is computed, and renamed to their name only when the size and
 * digest match, after an fsync: a partial or corrupt download never
 * appears as a blob.  Two processes fetching the same blob both succeed:
 * each renames its own complete copy, and the second rename atomically
 * replaces identical content.  index.json is rewritten to a temporary
 * file and renamed, under an exclusive flock of .index.lock, so
 * processes that share a store never lose each other's entries.
 *
 * Temporary files left by a process that died are removed by the next
 * ocistore_open once they are a day old.  Every I/O error is logged here
 * with its path; callers only map the status.  libgcrypt must be
 * initialised (crypto_init) before blobs are written.
 */
#ifndef MODBOX_OCISTORE_H
#define MODBOX_OCISTORE_H

#include <stddef.h>

enum ocistore_status {
	OCISTORE_OK = 0,
	OCISTORE_IO,		/* a file system error (logged) */
	OCISTORE_SIZE,		/* the content is longer or shorter than declared */
	OCISTORE_DIGEST,	/* the content's sha256 is not the digest */
	OCISTORE_INVALID,	/* a bad argument: digest, ref name, media type */
	OCISTORE_CORRUPT,	/* index.json exists but cannot be read as an index */
};

struct ocistore;
struct ocistore_blob;

/*
 * Open the layout at dir, creating dir (mode 0755, its parent must
 * exist), oci-layout and blobs/sha256/ when missing.  Returns
 * OCISTORE_OK and sets *out (ocistore_close it), or OCISTORE_IO.
 */
enum ocistore_status ocistore_open(const char *dir, struct ocistore **out);
/* Close; accepts NULL. */
void ocistore_close(struct ocistore *st);

/*
 * 1 when the blob digest ("sha256:HEX") is in the store as a regular file
 * of exactly size bytes (size < 0: of any size); 0 when it is not (a file
 * of another size counts as absent: fetching it again replaces it); -1
 * when digest is not valid.
 */
int ocistore_has_blob(const struct ocistore *st, const char *digest,
                      long long size);

/*
 * Serialise fetches of one blob between processes sharing the store:
 * take an exclusive flock on the lock stripe of digest (one of 256 files
 * DIR/.blob-locks/XX, by the digest's first two hex digits; blocks until
 * free).  A caller holding it checks ocistore_has_blob again before
 * fetching, so a blob two pulls need at once is downloaded once.  Returns
 * a descriptor for ocistore_blob_unlock, or -1 (logged; the caller may
 * go on without the lock: it only costs a duplicate download).
 */
int ocistore_blob_lock(struct ocistore *st, const char *digest);
void ocistore_blob_unlock(int lock_fd);

/*
 * Start writing blob digest, expected to be size bytes (size < 0:
 * unknown).  Returns OCISTORE_OK and sets *out, OCISTORE_INVALID for a
 * bad digest, or OCISTORE_IO.  Finish with exactly one of
 * ocistore_blob_commit and ocistore_blob_abort.
 */
enum ocistore_status ocistore_blob_begin(struct ocistore *st,
                                         const char *digest, long long size,
                                         struct ocistore_blob **out);
/* Append n bytes and hash them.  OCISTORE_SIZE when they would take the
 * blob past its expected size (nothing is written then), OCISTORE_IO on a
 * write error.  After a failure the caller must abort. */
enum ocistore_status ocistore_blob_write(struct ocistore_blob *b,
                                         const void *buf, size_t n);
/* Bytes written so far. */
unsigned long long ocistore_blob_written(const struct ocistore_blob *b);
/*
 * Check the size and the sha256, fsync, and rename the blob into place.
 * Returns OCISTORE_OK, OCISTORE_SIZE (shorter than expected),
 * OCISTORE_DIGEST or OCISTORE_IO; on any failure the temporary file is
 * removed.  Frees b in every case.
 */
enum ocistore_status ocistore_blob_commit(struct ocistore_blob *b);
/* Remove the temporary file and free b.  Accepts NULL. */
void ocistore_blob_abort(struct ocistore_blob *b);

/* Store len bytes of data as blob digest (begin, write, commit). */
enum ocistore_status ocistore_put_blob(struct ocistore *st,
                                       const char *digest,
                                       const void *data, size_t len);

/*
 * Add to index.json a descriptor (media_type, digest, size, the
 * annotation org.opencontainers.image.ref.name = ref_name, and a
 * platform object when platform "os/arch[/variant]" is not NULL),
 * replacing every entry already carrying that ref name and keeping all
 * others.  ref_name must follow the image-layout ref grammar
 * (components of [A-Za-z0-9] joined by [-._:@+] or "--", separated by
 * "/"; at most 255 bytes).  Returns OCISTORE_OK, OCISTORE_INVALID,
 * OCISTORE_CORRUPT (an existing index.json that is not an index: it is
 * left alone) or OCISTORE_IO.
 */
enum ocistore_status ocistore_set_ref(struct ocistore *st,
                                      const char *ref_name,
                                      const char *media_type,
                                      const char *digest, long long size,
                                      const char *platform);

/* True when s is a valid ref name (see ocistore_set_ref). */
int ocistore_ref_valid(const char *s);

#endif
