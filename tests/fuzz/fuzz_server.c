/*
 * fuzz_server: server_normalize on arbitrary bytes.  Properties of every
 * accepted input: the output is NUL-terminated within SERVER_MAX, holds
 * no uppercase letter, no '/', no byte outside printable ASCII,
 * normalising it again gives it back unchanged, and server_same holds
 * between it and itself.  Any broken property aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[SERVER_MAX + 1], again[SERVER_MAX + 1];
	const char *why = NULL;
	size_t n;

	if (server_normalize((const char *)data, size, out, sizeof out,
	    &why) != 0) {
		if (why == NULL || *why == '\0')
			abort();
		return 0;
	}
	n = strnlen(out, sizeof out);
	if (n == 0 || n > SERVER_MAX)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((out[i] >= 'A' && out[i] <= 'Z') || out[i] == '/' ||
		    out[i] <= ' ' || out[i] >= 0x7f)
			abort();
	if (server_normalize(out, n, again, sizeof again, &why) != 0 ||
	    strcmp(out, again) != 0)
		abort();
	if (!server_same(out, again) || server_key(out) == NULL)
		abort();
	return 0;
}
