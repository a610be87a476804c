/* UTF-8 validation shared by the type codecs and the reject file. */
#ifndef CQLSHIFT_UTIL_UTF8_H
#define CQLSHIFT_UTIL_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* 1 if p[0..n) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF). */
int utf8_valid(const uint8_t *p, size_t n);
/* Offset of the first invalid byte, or n. */
size_t utf8_invalid_at(const uint8_t *p, size_t n);
/* Write code point cp (<= U+10FFFF, not a surrogate) as UTF-8 into out;
 * returns the length, 1 to 4. */
size_t utf8_encode(uint32_t cp, uint8_t out[4]);
/* The value of the 4 hex digits of a JSON \u escape at p (4 bytes must be
 * readable); 0, or -1 if one is not a hex digit. */
int utf8_hex4(const char *p, uint32_t *cp);

#endif
