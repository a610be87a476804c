/* pg_decode_field: PostgreSQL binary COPY fields to typed source values,
 * from hand-built bytes (the layouts of PostgreSQL's send functions), and
 * malformed bytes refused without reading past the field. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "source/pg_int.h"
#include "util/buf.h"

static arena A;

static int setup(void **st)
{
    (void)st;
    arena_init(&A, 4096);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    arena_release(&A);
    return 0;
}

/* Decode bytes as column type d; the return code. The bytes are copied to
 * a heap block of exactly len bytes, so a read past the field is caught by
 * valgrind and the sanitizers. */
static int dec(pg_dec d, const uint8_t *p, int32_t len, src_value *v)
{
    pg_col c = {.dec = d, .dims = 1};
    uint8_t *copy = malloc(len ? (size_t)len : 1);
    assert_non_null(copy);
    memcpy(copy, p, (size_t)len);
    memset(v, 0, sizeof *v);
    int rc = pg_decode_field(&c, copy, len, v, &A);
    free(copy);
    return rc;
}

/* numeric: ndigits, weight, sign, dscale, base-10000 digits */
static int numeric(src_value *v, int weight, unsigned sign, int dscale, int nd, ...)
{
    uint8_t b[64];
    cs_put_be16(b, (uint16_t)nd);
    cs_put_be16(b + 2, (uint16_t)(int16_t)weight);
    cs_put_be16(b + 4, (uint16_t)sign);
    cs_put_be16(b + 6, (uint16_t)dscale);
    va_list ap;
    va_start(ap, nd);
    for (int i = 0; i < nd; i++)
        cs_put_be16(b + 8 + 2 * i, (uint16_t)va_arg(ap, int));
    va_end(ap);
    return dec(PGD_NUMERIC, b, 8 + 2 * nd, v);
}

static void assert_text(const src_value *v, src_kind k, const char *want)
{
    assert_int_equal(v->kind, k);
    char got[512];
    snprintf(got, sizeof got, "%.*s", (int)v->u.s.n, v->u.s.p);
    assert_string_equal(got, want);
}

static void test_numeric(void **st)
{
    (void)st;
    src_value v;
    assert_int_equal(numeric(&v, 0, 0, 0, 0), 0);
    assert_text(&v, SV_DECIMAL, "0");
    assert_int_equal(numeric(&v, 0, 0, 3, 0), 0);
    assert_text(&v, SV_DECIMAL, "0.000");
    /* 123456789.0123 = 1|2345|6789 . 0123 */
    assert_int_equal(numeric(&v, 2, 0, 4, 4, 1, 2345, 6789, 123), 0);
    assert_text(&v, SV_DECIMAL, "123456789.0123");
    /* -1.10: dscale 2 keeps the trailing zero */
    assert_int_equal(numeric(&v, 0, 0x4000, 2, 2, 1, 1000), 0);
    assert_text(&v, SV_DECIMAL, "-1.10");
    /* 1e-30: weight -8, digit 100 (0.0000...0001 in the 8th group) */
    assert_int_equal(numeric(&v, -8, 0, 30, 1, 100), 0);
    assert_text(&v, SV_DECIMAL, "0.000000000000000000000000000001");
    /* 10000 = weight 1, digit 1 (trailing zero groups are not sent) */
    assert_int_equal(numeric(&v, 1, 0, 0, 1, 1), 0);
    assert_text(&v, SV_DECIMAL, "10000");
    /* dscale shorter than the digits sent: 0.12 (the 34 is beyond scale) */
    assert_int_equal(numeric(&v, -1, 0, 2, 1, 1234), 0);
    assert_text(&v, SV_DECIMAL, "0.12");
    assert_int_equal(numeric(&v, 0, 0xC000, 0, 0), 0);
    assert_text(&v, SV_DECIMAL, "NaN");
    assert_int_equal(numeric(&v, 0, 0xD000, 0, 0), 0);
    assert_text(&v, SV_DECIMAL, "Infinity");
    assert_int_equal(numeric(&v, 0, 0xF000, 0, 0), 0);
    assert_text(&v, SV_DECIMAL, "-Infinity");
    /* malformed: a digit over 9999, an unknown sign, a short field */
    assert_int_equal(numeric(&v, 0, 0, 0, 1, 10000), -2);
    assert_int_equal(numeric(&v, 0, 0x1234, 0, 0), -2);
    uint8_t shortb[8] = {0, 5, 0, 0, 0, 0, 0, 0};    /* says 5 digits, has none */
    assert_int_equal(dec(PGD_NUMERIC, shortb, 8, &v), -2);
}

static void test_scalars(void **st)
{
    (void)st;
    src_value v;
    uint8_t b[16];
    cs_put_be16(b, 0x8000);
    assert_int_equal(dec(PGD_INT2, b, 2, &v), 0);
    assert_int_equal(v.kind, SV_INT);
    assert_int_equal(v.u.i, -32768);
    cs_put_be64(b, UINT64_C(0x8000000000000000));
    assert_int_equal(dec(PGD_INT8, b, 8, &v), 0);
    assert_true(v.u.i == INT64_MIN);
    assert_int_equal(dec(PGD_INT8, b, 4, &v), -2);     /* wrong length */
    /* float4 -0 and NaN, widened exactly */
    cs_put_be32(b, 0x80000000u);
    assert_int_equal(dec(PGD_FLOAT4, b, 4, &v), 0);
    assert_true(v.kind == SV_DOUBLE && v.u.d == 0.0 && signbit(v.u.d));
    cs_put_be32(b, 0x7fc00000u);
    assert_int_equal(dec(PGD_FLOAT4, b, 4, &v), 0);
    assert_true(isnan(v.u.d));
    /* date: days since 2000-01-01; infinities are SV_BAD */
    cs_put_be32(b, (uint32_t)-10957);
    assert_int_equal(dec(PGD_DATE, b, 4, &v), 0);
    assert_int_equal(v.kind, SV_DATE);
    assert_int_equal(v.u.i, 0);
    cs_put_be32(b, 0x7fffffffu);
    assert_int_equal(dec(PGD_DATE, b, 4, &v), 0);
    assert_text(&v, SV_BAD, "date infinity has no CQL date");
    cs_put_be32(b, 0x80000000u);
    assert_int_equal(dec(PGD_DATE, b, 4, &v), 0);
    assert_text(&v, SV_BAD, "date -infinity has no CQL date");
    /* timestamp: µs since 2000 -> since 1970 */
    cs_put_be64(b, 0);
    assert_int_equal(dec(PGD_TIMESTAMP, b, 8, &v), 0);
    assert_int_equal(v.kind, SV_TIMESTAMP);
    assert_true(v.u.i == INT64_C(946684800000000));
    cs_put_be64(b, (uint64_t)INT64_MAX);
    assert_int_equal(dec(PGD_TIMESTAMP, b, 8, &v), 0);
    assert_int_equal(v.kind, SV_BAD);
    cs_put_be64(b, (uint64_t)(INT64_MAX - 1));   /* beyond 1970-based int64 */
    assert_int_equal(dec(PGD_TIMESTAMP, b, 8, &v), 0);
    assert_int_equal(v.kind, SV_BAD);
    /* time: µs -> ns */
    cs_put_be64(b, UINT64_C(86399999999));
    assert_int_equal(dec(PGD_TIME, b, 8, &v), 0);
    assert_true(v.kind == SV_TIME && v.u.i == INT64_C(86399999999000));
    /* interval: µs, days, months; mixed signs are SV_BAD */
    cs_put_be64(b, (uint64_t)-1000000);
    cs_put_be32(b + 8, (uint32_t)-2);
    cs_put_be32(b + 12, (uint32_t)-12);
    assert_int_equal(dec(PGD_INTERVAL, b, 16, &v), 0);
    assert_int_equal(v.kind, SV_DURATION);
    assert_int_equal(v.u.dur.months, -12);
    assert_int_equal(v.u.dur.days, -2);
    assert_true(v.u.dur.nanos == INT64_C(-1000000000));
    cs_put_be32(b + 12, 1);
    assert_int_equal(dec(PGD_INTERVAL, b, 16, &v), 0);
    assert_int_equal(v.kind, SV_BAD);
    /* jsonb: version byte 1 */
    const uint8_t jb[] = {1, '{', '}'};
    assert_int_equal(dec(PGD_JSONB, jb, 3, &v), 0);
    assert_text(&v, SV_TEXT, "{}");
    const uint8_t jb2[] = {2, '{', '}'};
    assert_int_equal(dec(PGD_JSONB, jb2, 3, &v), -2);
    /* empty text and bytea */
    assert_int_equal(dec(PGD_BYTEA, b, 0, &v), 0);
    assert_true(v.kind == SV_BLOB && v.u.s.n == 0);
}

static void test_inet(void **st)
{
    (void)st;
    src_value v;
    const uint8_t host[] = {2, 32, 0, 4, 192, 168, 1, 1};
    assert_int_equal(dec(PGD_INET, host, 8, &v), 0);
    assert_int_equal(v.kind, SV_INET);
    assert_int_equal(v.u.s.n, 4);
    assert_memory_equal(v.u.s.p, host + 4, 4);
    const uint8_t net[] = {2, 16, 0, 4, 10, 1, 2, 3};
    assert_int_equal(dec(PGD_INET, net, 8, &v), 0);
    assert_text(&v, SV_BAD, "inet 10.1.2.3/16 has a network prefix: a CQL inet holds an address only");
    const uint8_t bad[] = {3, 128, 0, 4, 1, 2, 3, 4};  /* v6 with 4 bytes */
    assert_int_equal(dec(PGD_INET, bad, 8, &v), -2);
}

/* An int4 array: ndim, has-null, element oid, (len, lbound) per dimension,
 * then the elements (int32 length, 4 bytes; -1: NULL). */
static int32_t int_array(uint8_t *b, int ndim, const int32_t *dims, const int32_t *lbs,
                         const int64_t *vals, int n)
{
    int32_t o = 0;
    cs_put_be32(b + o, (uint32_t)ndim), o += 4;
    cs_put_be32(b + o, 0), o += 4;
    cs_put_be32(b + o, 23), o += 4;
    for (int i = 0; i < ndim; i++) {
        cs_put_be32(b + o, (uint32_t)dims[i]), o += 4;
        cs_put_be32(b + o, (uint32_t)lbs[i]), o += 4;
    }
    for (int i = 0; i < n; i++) {
        if (vals[i] == INT64_MIN) {
            cs_put_be32(b + o, 0xffffffffu), o += 4;
            continue;
        }
        cs_put_be32(b + o, 4), o += 4;
        cs_put_be32(b + o, (uint32_t)vals[i]), o += 4;
    }
    return o;
}

static int dec_array_of(int dims, const uint8_t *b, int32_t len, src_value *v)
{
    pg_col c = {.dec = PGD_ARRAY, .elem_dec = PGD_INT4, .dims = dims};
    uint8_t *copy = malloc((size_t)len);
    memcpy(copy, b, (size_t)len);
    int rc = pg_decode_field(&c, copy, len, v, &A);
    free(copy);
    return rc;
}

static void test_arrays(void **st)
{
    (void)st;
    uint8_t b[256];
    src_value v;
    /* {{1,2,3},{4,5,6}}: a list of 2 lists of 3 */
    int32_t d2[] = {2, 3}, lb[] = {1, 1};
    int64_t six[] = {1, 2, 3, 4, 5, 6};
    int32_t n = int_array(b, 2, d2, lb, six, 6);
    assert_int_equal(dec_array_of(2, b, n, &v), 0);
    assert_int_equal(v.kind, SV_LIST);
    assert_int_equal(v.u.list.n, 2);
    assert_int_equal(v.u.list.v[1].kind, SV_LIST);
    assert_int_equal(v.u.list.v[1].u.list.n, 3);
    assert_int_equal(v.u.list.v[1].u.list.v[2].u.i, 6);
    assert_int_equal(v.u.list.v[0].u.list.v[0].u.i, 1);
    /* the same value in a 1-dimensional column */
    assert_int_equal(dec_array_of(1, b, n, &v), 0);
    assert_text(&v, SV_BAD, "a 2-dimensional array in a column of 1-dimensional arrays");
    /* empty: ndim 0 */
    n = int_array(b, 0, NULL, NULL, NULL, 0);
    assert_int_equal(dec_array_of(1, b, n, &v), 0);
    assert_true(v.kind == SV_LIST && v.u.list.n == 0);
    /* NULL elements stay SV_NULL (the converter refuses them for a list) */
    int32_t d1[] = {3}, lb1[] = {1}, lb0[] = {0};
    int64_t withnull[] = {1, INT64_MIN, 3};
    n = int_array(b, 1, d1, lb1, withnull, 3);
    assert_int_equal(dec_array_of(1, b, n, &v), 0);
    assert_int_equal(v.u.list.n, 3);
    assert_int_equal(v.u.list.v[1].kind, SV_NULL);
    /* lower bound 0 */
    n = int_array(b, 1, d1, lb0, six, 3);
    assert_int_equal(dec_array_of(1, b, n, &v), 0);
    assert_text(&v, SV_BAD, "array with lower bound 0 (not 1): its indexes cannot be kept in a CQL list");
    /* malformed: more elements claimed than bytes, trailing bytes, a huge dimension */
    n = int_array(b, 1, d1, lb1, six, 3);
    assert_int_equal(dec_array_of(1, b, n - 4, &v), -2);
    assert_int_equal(dec_array_of(1, b, n + 0, &v), 0);
    b[n] = 0;
    assert_int_equal(dec_array_of(1, b, n + 1, &v), -2);
    int32_t huge[] = {0x7fffffff};
    n = int_array(b, 1, huge, lb1, six, 1);
    assert_int_equal(dec_array_of(1, b, n, &v), -2);
    /* an element that is SV_BAD makes the value SV_BAD, naming the element */
    pg_col dc = {.dec = PGD_ARRAY, .elem_dec = PGD_DATE, .dims = 1};
    int32_t o = 0;
    cs_put_be32(b + o, 1), o += 4;
    cs_put_be32(b + o, 0), o += 4;
    cs_put_be32(b + o, 1082), o += 4;
    cs_put_be32(b + o, 2), o += 4;
    cs_put_be32(b + o, 1), o += 4;
    cs_put_be32(b + o, 4), o += 4;
    cs_put_be32(b + o, 0), o += 4;
    cs_put_be32(b + o, 4), o += 4;
    cs_put_be32(b + o, 0x7fffffffu), o += 4;
    assert_int_equal(pg_decode_field(&dc, b, o, &v, &A), 0);
    assert_text(&v, SV_BAD, "element 2: date infinity has no CQL date");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numeric),
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_inet),
        cmocka_unit_test(test_arrays),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
