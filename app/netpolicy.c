/*
 * netpolicy: see netpolicy.h.  IPv4 addresses are classed from a table of
 * prefixes, most specific first (the metadata hosts inside link-local and
 * CGNAT come before those ranges).  IPv6 addresses that embed an IPv4
 * address are unwrapped and classed as that address; the rest go through
 * an IPv6 table the same way.
 */
#include "netpolicy.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <netinet/in.h>

struct v4_rule {
	uint32_t net;
	unsigned bits;
	enum netpolicy_class cls;
};

#define V4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | \
	(uint32_t)(c) << 8 | (uint32_t)(d))

static const struct v4_rule v4_rules[] = {
	{ V4(0, 0, 0, 0), 32, NETPOL_UNSPECIFIED },
	{ V4(255, 255, 255, 255), 32, NETPOL_BROADCAST },
	{ V4(169, 254, 169, 254), 32, NETPOL_METADATA },	/* AWS, GCP, Azure, ... */
	{ V4(169, 254, 170, 2), 32, NETPOL_METADATA },	/* ECS task credentials */
	{ V4(169, 254, 170, 23), 32, NETPOL_METADATA },	/* EKS pod identity */
	{ V4(100, 100, 100, 200), 32, NETPOL_METADATA },	/* Alibaba Cloud */
	{ V4(192, 0, 0, 192), 32, NETPOL_METADATA },	/* Oracle Cloud */
	{ V4(0, 0, 0, 0), 8, NETPOL_RESERVED },		/* "this network" */
	{ V4(127, 0, 0, 0), 8, NETPOL_LOOPBACK },
	{ V4(10, 0, 0, 0), 8, NETPOL_PRIVATE },
	{ V4(172, 16, 0, 0), 12, NETPOL_PRIVATE },
	{ V4(192, 168, 0, 0), 16, NETPOL_PRIVATE },
	{ V4(100, 64, 0, 0), 10, NETPOL_CGNAT },
	{ V4(169, 254, 0, 0), 16, NETPOL_LINK_LOCAL },
	{ V4(192, 0, 0, 0), 24, NETPOL_RESERVED },	/* IETF protocol assignments */
	{ V4(192, 0, 2, 0), 24, NETPOL_RESERVED },	/* TEST-NET-1 */
	{ V4(198, 18, 0, 0), 15, NETPOL_RESERVED },	/* benchmarking */
	{ V4(198, 51, 100, 0), 24, NETPOL_RESERVED },	/* TEST-NET-2 */
	{ V4(203, 0, 113, 0), 24, NETPOL_RESERVED },	/* TEST-NET-3 */
	{ V4(224, 0, 0, 0), 4, NETPOL_MULTICAST },
	{ V4(240, 0, 0, 0), 4, NETPOL_RESERVED },
};

static enum netpolicy_class
classify_v4(uint32_t a)
{
	for (size_t i = 0; i < sizeof v4_rules / sizeof v4_rules[0]; i++) {
		const struct v4_rule *r = &v4_rules[i];
		uint32_t mask = r->bits == 0 ? 0 : ~(uint32_t)0 << (32 - r->bits);

		if ((a & mask) == r->net)
			return r->cls;
	}
	return NETPOL_GLOBAL;
}

struct v6_rule {
	unsigned char net[16];
	unsigned bits;
	enum netpolicy_class cls;
};

static const struct v6_rule v6_rules[] = {
	{ { 0xfd, 0x00, 0x0e, 0xc2, [15] = 0x54, [14] = 0x02 }, 128,
	  NETPOL_METADATA },		/* fd00:ec2::254 */
	{ { 0xfd, 0x00, 0x0e, 0xc2, [15] = 0x23 }, 128,
	  NETPOL_METADATA },		/* fd00:ec2::23 */
	{ { 0x01, 0x00 }, 64, NETPOL_RESERVED },	/* 100::/64 discard */
	{ { 0x20, 0x01, 0x0d, 0xb8 }, 32, NETPOL_RESERVED },	/* documentation */
	{ { 0x20, 0x01, 0x00, 0x02, 0x00, 0x00 }, 48, NETPOL_RESERVED },	/* benchmarking */
	{ { 0x20, 0x01, 0x00, 0x00 }, 32, NETPOL_RESERVED },	/* Teredo */
	{ { 0x00, 0x64, 0xff, 0x9b, 0x00, 0x01 }, 48, NETPOL_PRIVATE },	/* local-use NAT64 */
	{ { 0xfe, 0x80 }, 10, NETPOL_LINK_LOCAL },
	{ { 0xfe, 0xc0 }, 10, NETPOL_PRIVATE },	/* deprecated site-local */
	{ { 0xfc, 0x00 }, 7, NETPOL_UNIQUE_LOCAL },
	{ { 0xff, 0x00 }, 8, NETPOL_MULTICAST },
	{ { 0 }, 96, NETPOL_RESERVED },	/* IPv4-compatible (after :: and ::1) */
};

static bool
prefix_match(const unsigned char *a, const unsigned char *net, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (memcmp(a, net, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[whole] ^ net[whole]) & (0xff << (8 - rest)) & 0xff) == 0;
}

static uint32_t
v4_at(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static enum netpolicy_class
classify_v6(const unsigned char *a)
{
	static const unsigned char zero[16];
	static const unsigned char mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
	};
	static const unsigned char nat64[12] = { 0x00, 0x64, 0xff, 0x9b };

	if (memcmp(a, zero, 15) == 0) {
		if (a[15] == 0)
			return NETPOL_UNSPECIFIED;
		if (a[15] == 1)
			return NETPOL_LOOPBACK;
	}
	if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0)
		return classify_v4(v4_at(a + 12));
	if (a[0] == 0x20 && a[1] == 0x02)	/* 6to4 2002:V4ADDR::/48 */
		return classify_v4(v4_at(a + 2));
	for (size_t i = 0; i < sizeof v6_rules / sizeof v6_rules[0]; i++)
		if (prefix_match(a, v6_rules[i].net, v6_rules[i].bits))
			return v6_rules[i].cls;
	return NETPOL_GLOBAL;
}

enum netpolicy_class
netpolicy_classify(const struct sockaddr *sa, socklen_t len)
{
	if (sa == NULL)
		return NETPOL_UNKNOWN_FAMILY;
	if (sa->sa_family == AF_INET &&
	    len >= (socklen_t)sizeof(struct sockaddr_in)) {
		struct sockaddr_in in;

		memcpy(&in, sa, sizeof in);
		return classify_v4(ntohl(in.sin_addr.s_addr));
	}
	if (sa->sa_family == AF_INET6 &&
	    len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		struct sockaddr_in6 in6;

		memcpy(&in6, sa, sizeof in6);
		return classify_v6(in6.sin6_addr.s6_addr);
	}
	return NETPOL_UNKNOWN_FAMILY;
}

const char *
netpolicy_class_name(enum netpolicy_class c)
{
	switch (c) {
	case NETPOL_GLOBAL:		return "global";
	case NETPOL_LOOPBACK:		return "loopback";
	case NETPOL_PRIVATE:		return "private";
	case NETPOL_CGNAT:		return "shared (CGNAT)";
	case NETPOL_LINK_LOCAL:		return "link-local";
	case NETPOL_UNIQUE_LOCAL:	return "unique-local";
	case NETPOL_RESERVED:		return "reserved";
	case NETPOL_METADATA:		return "cloud metadata";
	case NETPOL_UNSPECIFIED:	return "unspecified";
	case NETPOL_MULTICAST:		return "multicast";
	case NETPOL_BROADCAST:		return "broadcast";
	case NETPOL_UNKNOWN_FAMILY:	break;
	}
	return "unknown family";
}

bool
netpolicy_refused(enum netpolicy_class c, bool allow_private)
{
	switch (c) {
	case NETPOL_GLOBAL:
		return false;
	case NETPOL_LOOPBACK:
	case NETPOL_PRIVATE:
	case NETPOL_CGNAT:
	case NETPOL_LINK_LOCAL:
	case NETPOL_UNIQUE_LOCAL:
	case NETPOL_RESERVED:
		return !allow_private;
	case NETPOL_METADATA:
	case NETPOL_UNSPECIFIED:
	case NETPOL_MULTICAST:
	case NETPOL_BROADCAST:
	case NETPOL_UNKNOWN_FAMILY:
		break;
	}
	return true;
}

bool
netpolicy_blocked(const struct sockaddr *sa, socklen_t len,
                  bool allow_private)
{
	return netpolicy_refused(netpolicy_classify(sa, len), allow_private);
}

bool
netpolicy_host_insecure(const char *host, char *const *list, size_t n)
{
	if (host == NULL || *host == '\0' || list == NULL)
		return false;
	for (size_t i = 0; i < n; i++)
		if (list[i] != NULL && strcasecmp(host, list[i]) == 0)
			return true;
	return false;
}
