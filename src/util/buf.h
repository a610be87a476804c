/* Growable byte buffers with a hard size cap, and a bounds-checked reader.
 *
 * cs_buf owns its memory. Invariants: data is NULL only while cap == 0;
 * len <= cap <= max. Appends that would pass `max` fail with -1 and leave the
 * buffer unchanged, so untrusted lengths can never make memory grow without
 * bound. All multi-byte integers are written big-endian (network order, as
 * the CQL protocol wants) unless the name says _le.
 *
 * cs_rd reads from memory it does not own. Every getter checks the remaining
 * length; on underflow it sets rd->err (sticky) and returns zero/NULL, so a
 * parser can read a whole structure and check rd->err once at the end.
 */
#ifndef CQLSHIFT_UTIL_BUF_H
#define CQLSHIFT_UTIL_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct cs_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t max; /* hard cap on len; SIZE_MAX for "no cap" */
} cs_buf;

/* Initialise an empty buffer that may grow to at most `max` bytes. */
void cs_buf_init(cs_buf *b, size_t max);
/* Free the memory; the buffer is empty and reusable afterwards. */
void cs_buf_release(cs_buf *b);
/* Forget the content, keep the memory. */
static inline void cs_buf_reset(cs_buf *b) { b->len = 0; }
/* Make room for `extra` more bytes. 0, or -1 if over the cap or out of
 * memory. The appends below are inline: on the per-value hot path the room
 * is almost always there already. */
int cs_buf_grow(cs_buf *b, size_t extra);
static inline int cs_buf_reserve(cs_buf *b, size_t extra)
{
    return extra <= b->cap - b->len ? 0 : cs_buf_grow(b, extra);
}
/* Append a printf-formatted string (no terminating NUL counted in len). */
int cs_buf_printf(cs_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Overwrite 4 bytes at `off` (which must be < len - 3) with v, big-endian. */
void cs_buf_patch_u32(cs_buf *b, size_t off, uint32_t v);
/* Hand the memory to the caller (who frees it with free()); the buffer is
 * left empty. *len_out receives the length. Returns NULL if empty. */
uint8_t *cs_buf_detach(cs_buf *b, size_t *len_out);

/* Big-endian helpers over raw memory. */
static inline uint16_t cs_be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t cs_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t cs_be64(const uint8_t *p)
{
    return ((uint64_t)cs_be32(p) << 32) | cs_be32(p + 4);
}
static inline void cs_put_be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void cs_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void cs_put_be64(uint8_t *p, uint64_t v)
{
    cs_put_be32(p, (uint32_t)(v >> 32)); cs_put_be32(p + 4, (uint32_t)v);
}

/* Append bytes; 0 or -1 (cap or memory), buffer unchanged on failure. */
static inline int cs_buf_append(cs_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    if (cs_buf_reserve(b, n))
        return -1;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}
/* Append `n` bytes of unspecified content and return a pointer to them
 * (valid until the next append), or NULL on failure. */
static inline uint8_t *cs_buf_extend(cs_buf *b, size_t n)
{
    if (cs_buf_reserve(b, n))
        return NULL;
    uint8_t *p = b->data + b->len;
    b->len += n;
    return p;
}
static inline int cs_buf_put_u8(cs_buf *b, uint8_t v) { return cs_buf_append(b, &v, 1); }
static inline int cs_buf_put_u16(cs_buf *b, uint16_t v)
{
    uint8_t *p = cs_buf_extend(b, 2);
    if (!p)
        return -1;
    cs_put_be16(p, v);
    return 0;
}
static inline int cs_buf_put_u32(cs_buf *b, uint32_t v)
{
    uint8_t *p = cs_buf_extend(b, 4);
    if (!p)
        return -1;
    cs_put_be32(p, v);
    return 0;
}
static inline int cs_buf_put_u64(cs_buf *b, uint64_t v)
{
    uint8_t *p = cs_buf_extend(b, 8);
    if (!p)
        return -1;
    cs_put_be64(p, v);
    return 0;
}

typedef struct cs_rd {
    const uint8_t *p;
    size_t n;   /* bytes left */
    int err;    /* set to 1 on the first underflow; getters then return 0 */
} cs_rd;

static inline void cs_rd_init(cs_rd *r, const void *p, size_t n)
{
    r->p = (const uint8_t *)p; r->n = n; r->err = 0;
}
uint8_t cs_rd_u8(cs_rd *r);
uint16_t cs_rd_u16(cs_rd *r);
uint32_t cs_rd_u32(cs_rd *r);
uint64_t cs_rd_u64(cs_rd *r);
/* Return a pointer to the next n bytes and skip them, or NULL (err set). */
const uint8_t *cs_rd_bytes(cs_rd *r, size_t n);

#endif
