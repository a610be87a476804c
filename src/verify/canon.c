/* Canonical forms of CQL values, and token buckets (verify.h). */
#include <stdlib.h>
#include <string.h>

#include "verify/verify.h"

typedef struct elem {
    const uint8_t *k, *v; /* map: key and value; set: k only (raw, or canonical when deep) */
    int32_t kl, vl;
    size_t ko, vo;        /* deep: offsets of the canonical forms in the scratch buffer */
    int32_t idx;          /* the element's place in the value: the last of a repeat wins */
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
    int c = cmp_bytes(a->k, a->kl, b->k, b->kl);
    return c ? c : (a->idx > b->idx) - (a->idx < b->idx);
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

/* Whether values of t hold a set or a map somewhere (whose bytes then
 * depend on the order the writer gave, or that Cassandra sorts again
 * when it is frozen inside another value). */
static int needs_canon(const cql_type *t)
{
    if (!t)
        return 0;
    if (t->id == CQL_T_SET || t->id == CQL_T_MAP)
        return 1;
    if (t->id == CQL_T_LIST || t->id == CQL_T_TUPLE || t->id == CQL_T_UDT ||
        t->id == CQL_T_VECTOR)
        for (int i = 0; i < t->nsub; i++)
            if (needs_canon(t->sub[i]))
                return 1;
    return 0;
}

static int canon_rec(const cql_type *t, const uint8_t *p, int32_t len, cs_buf *out);

/* A tuple or UDT holding a set or map: each field in its canonical form. */
static int canon_fields(const cql_type *t, const uint8_t *p, int32_t len, cs_buf *out)
{
    cs_buf tmp;
    cs_buf_init(&tmp, SIZE_MAX);
    cs_rd r;
    cs_rd_init(&r, p, (size_t)len);
    int bad = cs_buf_put_u8(&tmp, 3);
    for (int i = 0; r.n > 0 && !bad; i++) {
        const uint8_t *fp;
        int32_t fl;
        bad |= read_elem(&r, &fp, &fl);
        if (!bad && i < t->nsub)
            bad |= canon_rec(t->sub[i], fp, fl, &tmp);
        else if (!bad)
            put_value(&tmp, fp, fl);
    }
    if (bad)
        put_value(out, p, len);
    else
        cs_buf_append(out, tmp.data, tmp.len);
    cs_buf_release(&tmp);
    return bad ? -1 : 0;
}

/* A list, set or map: an empty one as null; the elements of a set or map
 * sorted by their canonical bytes, a repeated key kept once (the last, as
 * Cassandra keeps it); elements that hold sets or maps themselves (a
 * frozen set in a set) in their canonical form. */
static int canon_coll(const cql_type *t, const uint8_t *p, int32_t len, cs_buf *out)
{
    int is_map = t->id == CQL_T_MAP, is_list = t->id == CQL_T_LIST;
    cs_rd r;
    cs_rd_init(&r, p, (size_t)len);
    int32_t n = len >= 4 ? (int32_t)cs_rd_u32(&r) : -1;
    if (n == 0) { /* an empty collection reads back as null */
        put_value(out, NULL, -1);
        return 0;
    }
    if (n < 0 || (size_t)n > (size_t)len / 4) {
        put_value(out, p, len);
        return -1;
    }
    const cql_type *kt = t->nsub > 0 ? t->sub[0] : NULL;
    const cql_type *vt = is_map && t->nsub > 1 ? t->sub[1] : NULL;
    int deep = needs_canon(kt) || needs_canon(vt);
    if (is_list && !deep) {
        put_value(out, p, len);
        return 0;
    }
    elem small[32]; /* most collections: no allocation on the per-row path */
    elem *e = n <= 32 ? small : malloc((size_t)n * sizeof *e);
    if (!e) {
        put_value(out, p, len);
        return -1;
    }
    cs_buf tmp;
    cs_buf_init(&tmp, SIZE_MAX);
    int bad = 0;
    for (int32_t i = 0; i < n && !bad; i++) {
        e[i].idx = i;
        e[i].ko = e[i].vo = 0;
        bad |= read_elem(&r, &e[i].k, &e[i].kl);
        if (is_map)
            bad |= read_elem(&r, &e[i].v, &e[i].vl);
        if (bad || !deep)
            continue;
        e[i].ko = tmp.len;
        bad |= canon_rec(kt, e[i].k, e[i].kl, &tmp);
        e[i].kl = (int32_t)(tmp.len - e[i].ko);
        if (is_map) {
            e[i].vo = tmp.len;
            bad |= canon_rec(vt, e[i].v, e[i].vl, &tmp);
            e[i].vl = (int32_t)(tmp.len - e[i].vo);
        }
    }
    if (bad || r.n != 0) {
        if (e != small)
            free(e);
        cs_buf_release(&tmp);
        put_value(out, p, len);
        return -1;
    }
    if (deep) /* the scratch buffer no longer moves */
        for (int32_t i = 0; i < n; i++) {
            e[i].k = tmp.data + e[i].ko;
            e[i].v = tmp.data + e[i].vo;
        }
    int32_t m = n;
    if (!is_list) {
        qsort(e, (size_t)n, sizeof *e, cmp_elem);
        m = 0;
        for (int32_t i = 0; i < n; i++) /* of a repeated key, the last one given */
            if (i + 1 == n || cmp_bytes(e[i].k, e[i].kl, e[i + 1].k, e[i + 1].kl))
                e[m++] = e[i];
    }
    cs_buf_put_u8(out, 2);
    cs_buf_put_u32(out, (uint32_t)m);
    for (int32_t i = 0; i < m; i++) {
        if (deep) {
            cs_buf_append(out, e[i].k, (size_t)e[i].kl);
            if (is_map)
                cs_buf_append(out, e[i].v, (size_t)e[i].vl);
        } else {
            put_value(out, e[i].k, e[i].kl);
            if (is_map)
                put_value(out, e[i].v, e[i].vl);
        }
    }
    if (e != small)
        free(e);
    cs_buf_release(&tmp);
    return 0;
}

static int canon_rec(const cql_type *t, const uint8_t *p, int32_t len, cs_buf *out)
{
    if (len < 0 || !t) {
        put_value(out, p, len);
        return 0;
    }
    if (t->id == CQL_T_SET || t->id == CQL_T_MAP || t->id == CQL_T_LIST)
        return canon_coll(t, p, len, out);
    if ((t->id == CQL_T_TUPLE || t->id == CQL_T_UDT) && needs_canon(t))
        return canon_fields(t, p, len, out);
    put_value(out, p, len);
    return 0;
}

int verify_canon_value(const cql_type *t, const uint8_t *p, int32_t len, cs_buf *out)
{
    return canon_rec(t, p, len, out);
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
