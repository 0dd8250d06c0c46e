/*
 * test_netpolicy: address classes for IPv4 and IPv6 (embedded IPv4
 * forms included), the policy with and without allow_private, and the
 * insecure host list.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "netpolicy.h"
#include "tap.h"

static enum netpolicy_class
class_of(const char *addr)
{
	struct sockaddr_in in;
	struct sockaddr_in6 in6;

	memset(&in, 0, sizeof in);
	memset(&in6, 0, sizeof in6);
	if (inet_pton(AF_INET, addr, &in.sin_addr) == 1) {
		in.sin_family = AF_INET;
		in.sin_port = htons(443);
		return netpolicy_classify((struct sockaddr *)&in, sizeof in);
	}
	if (inet_pton(AF_INET6, addr, &in6.sin6_addr) == 1) {
		in6.sin6_family = AF_INET6;
		in6.sin6_port = htons(443);
		return netpolicy_classify((struct sockaddr *)&in6, sizeof in6);
	}
	printf("# bad test address %s\n", addr);
	exit(2);
}

static const struct {
	const char *addr;
	enum netpolicy_class cls;
} cases[] = {
	/* loopback */
	{ "127.0.0.1", NETPOL_LOOPBACK },
	{ "127.255.255.254", NETPOL_LOOPBACK },
	{ "::1", NETPOL_LOOPBACK },
	{ "::ffff:127.0.0.1", NETPOL_LOOPBACK },
	/* private */
	{ "10.0.0.1", NETPOL_PRIVATE },
	{ "10.255.255.255", NETPOL_PRIVATE },
	{ "172.16.0.1", NETPOL_PRIVATE },
	{ "172.31.255.255", NETPOL_PRIVATE },
	{ "172.15.255.255", NETPOL_GLOBAL },
	{ "172.32.0.0", NETPOL_GLOBAL },
	{ "192.168.1.1", NETPOL_PRIVATE },
	{ "192.169.0.1", NETPOL_GLOBAL },
	{ "::ffff:10.1.2.3", NETPOL_PRIVATE },
	{ "::ffff:192.168.0.1", NETPOL_PRIVATE },
	{ "fec0::1", NETPOL_PRIVATE },
	{ "64:ff9b:1::a00:1", NETPOL_PRIVATE },
	/* CGNAT */
	{ "100.64.0.1", NETPOL_CGNAT },
	{ "100.127.255.255", NETPOL_CGNAT },
	{ "100.63.255.255", NETPOL_GLOBAL },
	{ "100.128.0.0", NETPOL_GLOBAL },
	/* link-local */
	{ "169.254.1.1", NETPOL_LINK_LOCAL },
	{ "fe80::1", NETPOL_LINK_LOCAL },
	{ "febf:ffff::1", NETPOL_LINK_LOCAL },
	/* unique-local */
	{ "fc00::1", NETPOL_UNIQUE_LOCAL },
	{ "fdff:ffff::1", NETPOL_UNIQUE_LOCAL },
	{ "fd12:3456:789a::1", NETPOL_UNIQUE_LOCAL },
	/* metadata */
	{ "169.254.169.254", NETPOL_METADATA },
	{ "169.254.170.2", NETPOL_METADATA },
	{ "100.100.100.200", NETPOL_METADATA },
	{ "fd00:ec2::254", NETPOL_METADATA },
	{ "fd00:ec2::23", NETPOL_METADATA },
	{ "::ffff:169.254.169.254", NETPOL_METADATA },
	{ "64:ff9b::a9fe:a9fe", NETPOL_METADATA },
	{ "2002:a9fe:a9fe::1", NETPOL_METADATA },
	/* unspecified */
	{ "0.0.0.0", NETPOL_UNSPECIFIED },
	{ "::", NETPOL_UNSPECIFIED },
	{ "::ffff:0.0.0.0", NETPOL_UNSPECIFIED },
	/* multicast and broadcast */
	{ "224.0.0.1", NETPOL_MULTICAST },
	{ "239.255.255.250", NETPOL_MULTICAST },
	{ "ff02::1", NETPOL_MULTICAST },
	{ "ff05::1:3", NETPOL_MULTICAST },
	{ "255.255.255.255", NETPOL_BROADCAST },
	{ "::ffff:255.255.255.255", NETPOL_BROADCAST },
	/* reserved */
	{ "0.1.2.3", NETPOL_RESERVED },
	{ "192.0.2.1", NETPOL_RESERVED },
	{ "198.18.0.1", NETPOL_RESERVED },
	{ "198.19.255.255", NETPOL_RESERVED },
	{ "203.0.113.9", NETPOL_RESERVED },
	{ "240.0.0.1", NETPOL_RESERVED },
	{ "2001:db8::1", NETPOL_RESERVED },
	{ "2001::1", NETPOL_RESERVED },
	{ "100::1", NETPOL_RESERVED },
	{ "::127.0.0.2", NETPOL_RESERVED },
	/* NAT64 and 6to4 carry their IPv4 address's class */
	{ "64:ff9b::7f00:1", NETPOL_LOOPBACK },
	{ "64:ff9b::808:808", NETPOL_GLOBAL },
	{ "2002:7f00:1::", NETPOL_LOOPBACK },
	{ "2002:c0a8:101::1", NETPOL_PRIVATE },
	{ "2002:808:808::1", NETPOL_GLOBAL },
	/* global */
	{ "8.8.8.8", NETPOL_GLOBAL },
	{ "1.1.1.1", NETPOL_GLOBAL },
	{ "140.82.112.3", NETPOL_GLOBAL },
	{ "::ffff:8.8.8.8", NETPOL_GLOBAL },
	{ "2606:4700::6810:84e5", NETPOL_GLOBAL },
	{ "2a00:1450:4001::200e", NETPOL_GLOBAL },
	{ "fbff:ffff::1", NETPOL_GLOBAL },
};

static void
test_classes(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		enum netpolicy_class got = class_of(cases[i].addr);

		if (!ok(got == cases[i].cls, "%s is %s", cases[i].addr,
		    netpolicy_class_name(cases[i].cls)))
			printf("#   got %s\n", netpolicy_class_name(got));
	}
}

static void
test_policy(void)
{
	static const struct {
		enum netpolicy_class c;
		bool refused, refused_allow;
	} pol[] = {
		{ NETPOL_GLOBAL, false, false },
		{ NETPOL_LOOPBACK, true, false },
		{ NETPOL_PRIVATE, true, false },
		{ NETPOL_CGNAT, true, false },
		{ NETPOL_LINK_LOCAL, true, false },
		{ NETPOL_UNIQUE_LOCAL, true, false },
		{ NETPOL_RESERVED, true, false },
		{ NETPOL_METADATA, true, true },
		{ NETPOL_UNSPECIFIED, true, true },
		{ NETPOL_MULTICAST, true, true },
		{ NETPOL_BROADCAST, true, true },
		{ NETPOL_UNKNOWN_FAMILY, true, true },
	};
	struct sockaddr_in in;
	struct sockaddr_un un;

	for (size_t i = 0; i < sizeof pol / sizeof pol[0]; i++)
		ok(netpolicy_refused(pol[i].c, false) == pol[i].refused &&
		    netpolicy_refused(pol[i].c, true) == pol[i].refused_allow,
		    "policy for %s: %s, with allow_private %s",
		    netpolicy_class_name(pol[i].c),
		    pol[i].refused ? "refused" : "allowed",
		    pol[i].refused_allow ? "refused" : "allowed");

	memset(&in, 0, sizeof in);
	in.sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
	ok(netpolicy_blocked((struct sockaddr *)&in, sizeof in, false) &&
	    !netpolicy_blocked((struct sockaddr *)&in, sizeof in, true),
	    "netpolicy_blocked: loopback depends on allow_private");
	ok(netpolicy_classify((struct sockaddr *)&in, sizeof in - 1) ==
	    NETPOL_UNKNOWN_FAMILY, "a short sockaddr_in is refused");
	memset(&un, 0, sizeof un);
	un.sun_family = AF_UNIX;
	ok(netpolicy_classify((struct sockaddr *)&un, sizeof un) ==
	    NETPOL_UNKNOWN_FAMILY, "AF_UNIX is an unknown family");
	ok(netpolicy_classify(NULL, 0) == NETPOL_UNKNOWN_FAMILY, "NULL");
}

static void
test_insecure(void)
{
	char a[] = "localhost:5000", b[] = "registry.internal", c[] = "[::1]:5000";
	char *list[] = { a, b, c };

	ok(netpolicy_host_insecure("localhost:5000", list, 3),
	    "listed host:port");
	ok(netpolicy_host_insecure("LocalHost:5000", list, 3),
	    "case does not matter");
	ok(netpolicy_host_insecure("registry.internal", list, 3),
	    "listed host without port");
	ok(netpolicy_host_insecure("[::1]:5000", list, 3), "listed IPv6");
	ok(!netpolicy_host_insecure("localhost", list, 3),
	    "host without the listed port");
	ok(!netpolicy_host_insecure("localhost:5001", list, 3), "other port");
	ok(!netpolicy_host_insecure("registry.internal:443", list, 3),
	    "listed host with a port");
	ok(!netpolicy_host_insecure("evil-localhost:5000", list, 3),
	    "suffix match is no match");
	ok(!netpolicy_host_insecure("localhost:50000", list, 3),
	    "prefix match is no match");
	ok(!netpolicy_host_insecure("", list, 3), "empty host");
	ok(!netpolicy_host_insecure(NULL, list, 3), "NULL host");
	ok(!netpolicy_host_insecure("localhost:5000", NULL, 0), "empty list");
}

int
main(void)
{
	test_classes();
	test_policy();
	test_insecure();
	return done_testing();
}
