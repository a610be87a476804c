/* Opaque positions: range bounds and resume points as bytes that their
 * owner defines (a source connector), kept as such by the loader and the
 * state store. */
#ifndef CQLSHIFT_UTIL_POS_H
#define CQLSHIFT_UTIL_POS_H

#include <stddef.h>
#include <stdint.h>

/* An opaque position: a range bound or a resume point, in bytes the
 * connector defines (n == 0: none, i.e. unbounded or "from the start").
 * The bytes are heap-owned and grow as needed (src_pos_set). */
typedef struct src_pos {
    size_t n, cap;
    uint8_t *p;
} src_pos;

/* Copy n bytes into d (growing it); 0, or -1 out of memory. */
int src_pos_set(src_pos *d, const void *p, size_t n);
/* d = the 8-byte big-endian form of v (today's rowids and offsets). */
int src_pos_set_i64(src_pos *d, int64_t v);
/* The int64 in d, or dflt if d is empty; -1 (and *v untouched) if d holds
 * something other than 8 bytes. */
int src_pos_get_i64(const src_pos *d, int64_t dflt, int64_t *v);
void src_pos_clear(src_pos *d);     /* n = 0, keeps the memory */
void src_pos_free(src_pos *d);

#endif
