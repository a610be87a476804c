#include "util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cs_buf_init(cs_buf *b, size_t max)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->max = max;
}

void cs_buf_release(cs_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int cs_buf_grow(cs_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return -1;
    size_t need = b->len + extra;
    if (need <= b->cap)
        return 0;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    if (ncap > b->max)
        ncap = b->max;
    uint8_t *nd = realloc(b->data, ncap);
    if (!nd)
        return -1;
    b->data = nd;
    b->cap = ncap;
    return 0;
}

int cs_buf_printf(cs_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || cs_buf_reserve(b, (size_t)n + 1))
        return -1;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void cs_buf_patch_u32(cs_buf *b, size_t off, uint32_t v)
{
    cs_put_be32(b->data + off, v);
}

uint8_t *cs_buf_detach(cs_buf *b, size_t *len_out)
{
    uint8_t *d = b->data;
    if (len_out)
        *len_out = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

const uint8_t *cs_rd_bytes(cs_rd *r, size_t n)
{
    if (r->err || r->n < n) {
        r->err = 1;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    r->n -= n;
    return p;
}

uint8_t cs_rd_u8(cs_rd *r)
{
    const uint8_t *p = cs_rd_bytes(r, 1);
    return p ? p[0] : 0;
}

uint16_t cs_rd_u16(cs_rd *r)
{
    const uint8_t *p = cs_rd_bytes(r, 2);
    return p ? cs_be16(p) : 0;
}

uint32_t cs_rd_u32(cs_rd *r)
{
    const uint8_t *p = cs_rd_bytes(r, 4);
    return p ? cs_be32(p) : 0;
}

uint64_t cs_rd_u64(cs_rd *r)
{
    const uint8_t *p = cs_rd_bytes(r, 8);
    return p ? cs_be64(p) : 0;
}
