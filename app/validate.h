/*
 * validate: pure checks of user-supplied field values.  Each returns NULL
 * when the value is acceptable, else a short static message for the user
 * (it never quotes the value, which might be a secret).  Lengths are the
 * spec's: "characters" are Unicode code points of valid UTF-8.
 */
#ifndef MODBOX_VALIDATE_H
#define MODBOX_VALIDATE_H

#include <stddef.h>

/* 1-128 characters, valid UTF-8, no control characters (C0, DEL, C1),
 * not only blanks. */
const char *validate_name(const char *s, size_t len);
/* 1-255 characters, valid UTF-8, no control characters. */
const char *validate_username(const char *s, size_t len);
/* 1 byte to 16 KiB, no NUL byte (newlines allowed: JSON key files). */
const char *validate_password(const char *s, size_t len);
/* 3-254 characters, exactly one '@' with something on both sides, no
 * blanks or control characters. */
const char *validate_email(const char *s, size_t len);
/* 0-1024 characters, valid UTF-8, no control characters but tab, CR and
 * LF (a description may have lines). */
const char *validate_description(const char *s, size_t len);
/* A sandbox task_id: 1-128 characters of [A-Za-z0-9._~-] (safe in a URL
 * path), not "." or "..", and not "provision" or "wait" (those paths are
 * routes of their own). */
const char *validate_task_id(const char *s, size_t len);
/* An environment variable name: [A-Za-z_][A-Za-z0-9_]{0,127}. */
const char *validate_env_name(const char *s, size_t len);
/* Valid UTF-8 with no NUL, len bytes.  Returns the number of code points,
 * or -1 when not valid UTF-8 (overlongs, surrogates, > U+10FFFF) or when
 * it holds a NUL. */
long utf8_count(const char *s, size_t len);

#endif
