/*
 * imageref: image references as Docker parses them (the distribution
 * reference grammar, github.com/distribution/reference, with Docker's
 * normalisation), for the `image` field of a sandbox image, which names a
 * repository without tag or digest.
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [ domain "/" ] path
 *   domain     := host [ ":" port ]   (host: DNS name, IPv4, or [IPv6])
 *   path       := component ( "/" component )*
 *   component  := [a-z0-9]+ ( separator [a-z0-9]+ )*
 *   separator  := "." | "_" | "__" | "-"+
 *
 * The first "/"-separated part is the domain when it contains '.' or ':',
 * is "localhost", or has an uppercase letter; otherwise the domain is
 * Docker Hub ("docker.io") and a one-component path gains "library/".
 * "index.docker.io" and "registry-1.docker.io" are Docker Hub too (see
 * server.h).  The whole name (domain + "/" + path as given) is at most 255
 * characters.  A path that is 64 lowercase hex digits is refused, as
 * Docker does (it would be mistaken for an image id).
 */
#ifndef MODBOX_IMAGEREF_H
#define MODBOX_IMAGEREF_H

#include <stdbool.h>
#include <stddef.h>

#include "server.h"

#define IMAGEREF_NAME_MAX 255
#define IMAGEREF_TAG_MAX 128

struct imageref {
	char host[SERVER_MAX + 1];	/* lowercase host[:port]; "docker.io" for Docker Hub */
	char path[IMAGEREF_NAME_MAX + 1]; /* e.g. "library/ubuntu", "org/app" */
};

enum imageref_status {
	IMAGEREF_OK = 0,
	IMAGEREF_INVALID,	/* not a reference */
	IMAGEREF_HAS_TAG,	/* a valid name followed by ":tag" */
	IMAGEREF_HAS_DIGEST,	/* a valid name followed by "@digest" (with or without a tag) */
};

/* Parse len bytes of s as a repository name (no tag, no digest).
 * On IMAGEREF_OK fills out.  Otherwise *why is a short static message
 * (never quoting the input) that, for HAS_TAG / HAS_DIGEST, tells the user
 * to put the tag in the `tag` field and leave digests out. */
enum imageref_status imageref_parse(const char *s, size_t len,
                                    struct imageref *out, const char **why);

/* True when s (len bytes) is a valid tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}. */
bool imageref_tag_valid(const char *s, size_t len);

#endif
