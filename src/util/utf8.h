/* UTF-8 validation shared by the type codecs and the reject file. */
#ifndef CQLSHIFT_UTIL_UTF8_H
#define CQLSHIFT_UTIL_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* 1 if p[0..n) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF). */
int utf8_valid(const uint8_t *p, size_t n);
/* Offset of the first invalid byte, or n. */
size_t utf8_invalid_at(const uint8_t *p, size_t n);

#endif
