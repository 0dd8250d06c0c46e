/*
 * cursor: the opaque keyset-pagination cursor.  It carries the id of the
 * last item of the page (lists are ordered by id, which is creation order)
 * behind a version byte, in base64url without padding.
 */
#ifndef MODBOX_CURSOR_H
#define MODBOX_CURSOR_H

#include <stddef.h>

#include "uuid.h"

#define CURSOR_TEXT_MAX 32

/* Encode; out must have CURSOR_TEXT_MAX + 1 bytes. */
void cursor_encode(const struct uuid *last, char out[CURSOR_TEXT_MAX + 1]);
/* Decode len characters; 0 on success, -1 for anything not produced by
 * cursor_encode. */
int cursor_decode(const char *s, size_t len, struct uuid *last);

#endif
