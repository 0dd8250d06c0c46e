/*
 * netpolicy: which addresses the pull client may connect to, and which
 * registry hosts may be spoken to over plain HTTP.  Pure functions: the
 * caller (libcurl's opensocket callback in regclient) passes the address
 * actually about to be connected to, so a DNS answer that changes between
 * look-ups cannot get around the check.
 *
 * Classes, for IPv4 and IPv6:
 *   loopback      127/8, ::1
 *   private       10/8, 172.16/12, 192.168/16, fec0::/10 (old site-local),
 *                 64:ff9b:1::/48 (local-use NAT64)
 *   cgnat         100.64/10 (shared address space)
 *   link-local    169.254/16, fe80::/10
 *   unique-local  fc00::/7
 *   reserved      0/8, 192.0.0/24, 192.0.2/24, 198.18/15, 198.51.100/24,
 *                 203.0.113/24, 240/4, 100::/64 (discard), 2001:db8::/32
 *                 (documentation), 2001:2::/48 (benchmarking), Teredo
 *                 2001::/32 (its embedded addresses are obfuscated), ::/96
 *                 other than ::1 and :: (IPv4-compatible, deprecated)
 *   metadata      169.254.169.254, 169.254.170.2, 169.254.170.23,
 *                 100.100.100.200, 192.0.0.192, fd00:ec2::254, fd00:ec2::23
 *   unspecified   0.0.0.0, ::
 *   multicast     224/4, ff00::/8
 *   broadcast     255.255.255.255
 * An IPv6 address that carries an IPv4 address is classed by that IPv4
 * address: IPv4-mapped ::ffff:a.b.c.d, NAT64 well-known prefix
 * 64:ff9b::/96, and 6to4 2002:AABB:CCDD::/48.  Anything else is global.
 *
 * Policy: metadata, unspecified, multicast and broadcast are always
 * refused; loopback, private, cgnat, link-local, unique-local and
 * reserved are refused unless allow_private; global is allowed.  Metadata
 * stays refused even with allow_private: no registry lives at a cloud
 * metadata address, and reaching one with stored credentials is exactly
 * the request forgery this policy is for.
 */
#ifndef MODBOX_NETPOLICY_H
#define MODBOX_NETPOLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

enum netpolicy_class {
	NETPOL_GLOBAL = 0,
	NETPOL_LOOPBACK,
	NETPOL_PRIVATE,
	NETPOL_CGNAT,
	NETPOL_LINK_LOCAL,
	NETPOL_UNIQUE_LOCAL,
	NETPOL_RESERVED,
	NETPOL_METADATA,
	NETPOL_UNSPECIFIED,
	NETPOL_MULTICAST,
	NETPOL_BROADCAST,
	NETPOL_UNKNOWN_FAMILY,	/* not AF_INET/AF_INET6, or len too short */
};

/* The class of the address sa (len bytes). */
enum netpolicy_class netpolicy_classify(const struct sockaddr *sa,
                                        socklen_t len);

/* A short lowercase name for messages ("loopback", "metadata", ...). */
const char *netpolicy_class_name(enum netpolicy_class c);

/* True when the policy refuses a connection to an address of class c.
 * NETPOL_UNKNOWN_FAMILY is always refused. */
bool netpolicy_refused(enum netpolicy_class c, bool allow_private);

/* netpolicy_refused(netpolicy_classify(sa, len), allow_private). */
bool netpolicy_blocked(const struct sockaddr *sa, socklen_t len,
                       bool allow_private);

/*
 * True when host ("host[:port]", as a URL authority names it) is one of
 * the n entries of list (as config's insecure_registries holds them:
 * lowercase "host[:port]").  Compared without regard to case and exactly
 * otherwise: "localhost:5000" does not match "localhost", nor the
 * reverse.  A NULL or empty host is never listed.
 */
bool netpolicy_host_insecure(const char *host, char *const *list, size_t n);

#endif
