/*
 * router: see router.h.
 */
#include "router.h"

#include <stdbool.h>
#include <string.h>

#include "validate.h"

/* Does path match pattern?  Captures placeholders into *p. */
static bool
path_matches(const char *pattern, const char *path, struct route_params *p)
{
	while (*pattern != '\0') {
		const char *end = strchr(path, '/');
		size_t n = end ? (size_t)(end - path) : strlen(path);

		if (strncmp(pattern, "{id}", 4) == 0) {
			if (uuid_parse(path, n, &p->id) != 0)
				return false;
			path += n;
			pattern += 4;
			continue;
		}
		if (strncmp(pattern, "{name}", 6) == 0) {
			if (validate_task_id(path, n) != NULL)
				return false;
			memcpy(p->name, path, n);
			p->name[n] = '\0';
			path += n;
			pattern += 6;
			continue;
		}
		if (*pattern != *path)
			return false;
		pattern++;
		path++;
	}
	return *path == '\0';
}

enum router_result
router_match(const struct route *table, size_t n, const char *method,
             const char *path, const struct route **match,
             struct route_params *params, char *allow, size_t allowcap)
{
	bool path_found = false;
	size_t used = 0;
	struct route_params scratch;

	if (allowcap > 0)
		allow[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (!path_matches(table[i].pattern, path, &scratch))
			continue;
		if (strcmp(table[i].method, method) == 0) {
			*match = &table[i];
			*params = scratch;
			return ROUTER_OK;
		}
		path_found = true;
		size_t m = strlen(table[i].method);
		if (used + m + 3 <= allowcap) {
			if (used > 0) {
				memcpy(allow + used, ", ", 2);
				used += 2;
			}
			memcpy(allow + used, table[i].method, m + 1);
			used += m;
		}
	}
	return path_found ? ROUTER_BAD_METHOD : ROUTER_NOT_FOUND;
}
