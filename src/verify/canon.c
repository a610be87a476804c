/* Canonical forms of CQL values, and token buckets (verify.h). */
#include <stdlib.h>
#include <string.h>

#include "verify/verify.h"

typedef struct elem {
    const uint8_t *k, *v; /* map: key and value; set: k only */
    int32_t kl, vl;
} elem;

static int cmp_bytes(const uint8_t *a, int32_t al, const uint8_t *b, int32_t bl)
{
    int32_t n = al < bl ? al : bl;
    int c = n > 0 ? memcmp(a, b, (size_t)n) : 0;
    if (c)
        return c;
    return al < bl ? -1 : al > bl;
}

static int cmp_elem(const void *x, const void *y)
{
    const elem *a = x, *b = y;
    return cmp_bytes(a->k, a->kl, b->k, b->kl);
}

static void put_value(cs_buf *out, const uint8_t *p, int32_t len)
{
    if (len < 0) {
        cs_buf_put_u8(out, 0);
        return;
    }
    cs_buf_put_u8(out, 1);
    cs_buf_put_u32(out, (uint32_t)len);
    cs_buf_append(out, p, (size_t)len);
}

/* One [int32 len][bytes] element at r (len < 0: a null element). */
static int read_elem(cs_rd *r, const uint8_t **p, int32_t *len)
{
    *len = (int32_t)cs_rd_u32(r);
    *p = *len > 0 ? cs_rd_bytes(r, (size_t)*len) : (const uint8_t *)"";
    return r->err ? -1 : 0;
}

int verify_canon_value(const cql_type *t, const uint8_t *p, int32_t len, cs_buf *out)
{
    int is_set = t->id == CQL_T_SET, is_map = t->id == CQL_T_MAP;
    if (len < 0 || !(is_set || is_map || t->id == CQL_T_LIST)) {
        put_value(out, p, len);
        return 0;
    }
    cs_rd r;
    cs_rd_init(&r, p, (size_t)len);
    int32_t n = len >= 4 ? (int32_t)cs_rd_u32(&r) : -1;
    if (n == 0) { /* an empty collection reads back as null */
        put_value(out, NULL, -1);
        return 0;
    }
    if (t->id == CQL_T_LIST || n < 0 || (size_t)n > (size_t)len / 4) {
        put_value(out, p, len);
        return n < 0 || (size_t)n > (size_t)len / 4 ? -1 : 0;
    }
    elem *e = malloc((size_t)n * sizeof *e);
    if (!e) {
        put_value(out, p, len);
        return -1;
    }
    int bad = 0;
    for (int32_t i = 0; i < n && !bad; i++) {
        bad |= read_elem(&r, &e[i].k, &e[i].kl);
        if (is_map)
            bad |= read_elem(&r, &e[i].v, &e[i].vl);
    }
    if (bad || r.n != 0) {
        free(e);
        put_value(out, p, len);
        return -1;
    }
    qsort(e, (size_t)n, sizeof *e, cmp_elem);
    int32_t m = 0;
    for (int32_t i = 0; i < n; i++) /* a repeated key: Cassandra keeps one */
        if (m == 0 || cmp_elem(&e[m - 1], &e[i]))
            e[m++] = e[i];
    cs_buf_put_u8(out, 2);
    cs_buf_put_u32(out, (uint32_t)m);
    for (int32_t i = 0; i < m; i++) {
        put_value(out, e[i].k, e[i].kl);
        if (is_map)
            put_value(out, e[i].v, e[i].vl);
    }
    free(e);
    return 0;
}

uint32_t verify_bucket_of(int64_t token, int bits)
{
    uint64_t u = (uint64_t)token ^ (UINT64_C(1) << 63);
    return bits <= 0 ? 0 : (uint32_t)(u >> (64 - bits));
}

void verify_bucket_bounds(uint32_t b, int bits, int64_t *lo, int64_t *hi)
{
    uint64_t first = bits <= 0 ? 0 : (uint64_t)b << (64 - bits);
    uint64_t last = bits <= 0 ? UINT64_MAX : first + ((UINT64_C(1) << (64 - bits)) - 1);
    *lo = (int64_t)(first ^ (UINT64_C(1) << 63));
    *hi = (int64_t)(last ^ (UINT64_C(1) << 63));
}
