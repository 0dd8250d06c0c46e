/*
 * server: normalisation of a registry server as users type it.
 *
 * Accepted: an optional scheme "https://" or "http://" (either case), a
 * host, an optional ":port" (1-65535, digits only, no leading zero), and
 * an optional path that is exactly "/", "/v1", "/v1/", "/v2" or "/v2/"
 * (dropped, as Kubernetes does).  The host is a DNS name (labels of
 * letters, digits and '-', 1-63 long, not starting or ending with '-',
 * total at most 253, at least one letter in the last label unless the
 * whole host is an IPv4 address), a dotted-quad IPv4 address, or an IPv6
 * address in brackets (rewritten in its canonical inet_ntop form).
 * Refused: any other scheme or path, userinfo ("user@"), a query, a
 * fragment, blanks, control characters, empty host, or an input longer
 * than 512 bytes.
 *
 * The result is lowercase "host[:port]".  docker.io, index.docker.io and
 * registry-1.docker.io (without a port) are one registry, Docker Hub:
 * server_key maps each of them to "docker.io" for comparisons.
 */
#ifndef MODBOX_SERVER_H
#define MODBOX_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#define SERVER_MAX 262		/* "[" v6 "]" ":" port, or 253 + ":65535" */

/* Normalise len bytes of in into out (outlen >= SERVER_MAX + 1).
 * Returns 0, or -1 and sets *why to a short user-facing reason (a static
 * string that never quotes the input). */
int server_normalize(const char *in, size_t len, char *out, size_t outlen,
                     const char **why);

/* The comparison key of a normalised server: "docker.io" for the Docker
 * Hub aliases, the server itself otherwise. */
const char *server_key(const char *normalized);

/* True when two normalised servers name the same registry. */
bool server_same(const char *a, const char *b);

#endif
