/* Opaque positions (pos.h). */
#include "util/pos.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

int src_pos_set(src_pos *d, const void *p, size_t n)
{
    if (n > d->cap) {
        size_t cap = d->cap ? d->cap : 16;
        while (cap < n)
            cap *= 2;
        uint8_t *np = realloc(d->p, cap);
        if (!np)
            return -1;
        d->p = np;
        d->cap = cap;
    }
    if (n)
        memcpy(d->p, p, n);
    d->n = n;
    return 0;
}

int src_pos_set_i64(src_pos *d, int64_t v)
{
    uint8_t b[8];
    cs_put_be64(b, (uint64_t)v);
    return src_pos_set(d, b, 8);
}

int src_pos_get_i64(const src_pos *d, int64_t dflt, int64_t *v)
{
    if (d->n == 0) {
        *v = dflt;
        return 0;
    }
    if (d->n != 8)
        return -1;
    *v = (int64_t)cs_be64(d->p);
    return 0;
}

void src_pos_clear(src_pos *d) { d->n = 0; }

void src_pos_free(src_pos *d)
{
    free(d->p);
    memset(d, 0, sizeof *d);
}

