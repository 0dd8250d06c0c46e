/*
 * b64: base64 (RFC 4648 section 4, padded) and base64url (section 5,
 * unpadded) encoding and strict decoding.  Decoders reject any character
 * outside the alphabet, bad padding and non-canonical trailing bits, so one
 * value has exactly one encoding (cursors and API keys rely on this).
 */
#ifndef MODBOX_B64_H
#define MODBOX_B64_H

#include <stddef.h>

/* Length of the encoding of n bytes, without the terminating NUL. */
size_t b64_encoded_len(size_t n);
size_t b64url_encoded_len(size_t n);

/* Encode n bytes of src into dst (room for the encoded length + 1); the
 * result is NUL-terminated.  Returns the length written. */
size_t b64_encode(const void *src, size_t n, char *dst);
size_t b64url_encode(const void *src, size_t n, char *dst);

/* Decode len characters of src into dst, which has room for dstcap bytes.
 * Returns the number of bytes decoded, or -1 on any malformed input or
 * when the result would not fit. */
long b64_decode(const char *src, size_t len, void *dst, size_t dstcap);
long b64url_decode(const char *src, size_t len, void *dst, size_t dstcap);

#endif
