/* Unit tests of verify's canonical value form and token buckets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "verify/verify.h"

/* A collection of n text elements (set or list) in the protocol's form. */
static size_t coll(uint8_t *out, int n, const char *const *el)
{
    size_t off = 0;
    cs_put_be32(out, (uint32_t)n);
    off = 4;
    for (int i = 0; i < n; i++) {
        size_t l = strlen(el[i]);
        cs_put_be32(out + off, (uint32_t)l);
        memcpy(out + off + 4, el[i], l);
        off += 4 + l;
    }
    return off;
}

static void canon(const char *type, const uint8_t *p, int32_t len, cs_buf *out)
{
    cql_error e;
    cql_type *t = cql_type_parse(type, &e);
    assert_non_null(t);
    cs_buf_reset(out);
    assert_int_equal(verify_canon_value(t, p, len, out), 0);
    cql_type_free(t);
}

static int same(const cs_buf *a, const cs_buf *b)
{
    return a->len == b->len && (a->len == 0 || !memcmp(a->data, b->data, a->len));
}

static void test_set_order_and_repeats(void **cm)
{
    (void)cm;
    uint8_t x[256], y[256];
    const char *e1[] = {"b", "a", "c"}, *e2[] = {"c", "a", "b", "a"};
    size_t nx = coll(x, 3, e1), ny = coll(y, 4, e2);
    cs_buf a, b;
    cs_buf_init(&a, SIZE_MAX);
    cs_buf_init(&b, SIZE_MAX);
    canon("set<text>", x, (int32_t)nx, &a);
    canon("set<text>", y, (int32_t)ny, &b);
    assert_true(same(&a, &b));
    /* a list keeps its order */
    canon("list<text>", x, (int32_t)nx, &a);
    canon("list<text>", y, (int32_t)ny, &b);
    assert_false(same(&a, &b));
    /* another element differs */
    const char *e3[] = {"a", "b", "d"};
    ny = coll(y, 3, e3);
    canon("set<text>", x, (int32_t)nx, &a);
    canon("set<text>", y, (int32_t)ny, &b);
    assert_false(same(&a, &b));
    cs_buf_release(&a);
    cs_buf_release(&b);
}

static void test_null_unset_empty(void **cm)
{
    (void)cm;
    cs_buf a, b;
    cs_buf_init(&a, SIZE_MAX);
    cs_buf_init(&b, SIZE_MAX);
    canon("text", NULL, -1, &a);
    canon("text", NULL, -2, &b);
    assert_true(same(&a, &b));
    uint8_t empty[4] = {0, 0, 0, 0};
    canon("set<int>", empty, 4, &b);
    canon("set<int>", NULL, -1, &a);
    assert_true(same(&a, &b));
    canon("map<int, text>", empty, 4, &b);
    assert_true(same(&a, &b));
    /* an empty text is a value, not null */
    canon("text", (const uint8_t *)"", 0, &b);
    assert_false(same(&a, &b));
    cs_buf_release(&a);
    cs_buf_release(&b);
}

static void test_map_sorted_by_key(void **cm)
{
    (void)cm;
    /* {1: 'x', 2: 'y'} in two orders */
    uint8_t m1[] = {0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 1, 'x',
                    0, 0, 0, 4, 0, 0, 0, 2, 0, 0, 0, 1, 'y'};
    uint8_t m2[] = {0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 2, 0, 0, 0, 1, 'y',
                    0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 1, 'x'};
    cs_buf a, b;
    cs_buf_init(&a, SIZE_MAX);
    cs_buf_init(&b, SIZE_MAX);
    canon("map<int, text>", m1, sizeof m1, &a);
    canon("map<int, text>", m2, sizeof m2, &b);
    assert_true(same(&a, &b));
    m2[16] = 'z'; /* 2: 'z' */
    canon("map<int, text>", m2, sizeof m2, &b);
    assert_false(same(&a, &b));
    cs_buf_release(&a);
    cs_buf_release(&b);
}

static void test_malformed_collection(void **cm)
{
    (void)cm;
    uint8_t bad[] = {0, 0, 0, 3, 0, 0, 0, 9, 'a'};
    cql_error e;
    cql_type *t = cql_type_parse("set<text>", &e);
    cs_buf a;
    cs_buf_init(&a, SIZE_MAX);
    assert_int_equal(verify_canon_value(t, bad, sizeof bad, &a), -1);
    assert_true(a.len > sizeof bad); /* the raw bytes still compare */
    cs_buf_release(&a);
    cql_type_free(t);
}

static void test_map_repeated_key_keeps_the_last(void **cm)
{
    (void)cm;
    /* {1: 'x', 1: 'y'} as a writer sent it; Cassandra keeps {1: 'y'} */
    uint8_t twice[] = {0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 1, 'x',
                       0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 1, 'y'};
    uint8_t last[] = {0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 1, 'y'};
    uint8_t first[] = {0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 1, 'x'};
    cs_buf a, b;
    cs_buf_init(&a, SIZE_MAX);
    cs_buf_init(&b, SIZE_MAX);
    canon("map<int, text>", twice, sizeof twice, &a);
    canon("map<int, text>", last, sizeof last, &b);
    assert_true(same(&a, &b));
    canon("map<int, text>", first, sizeof first, &b);
    assert_false(same(&a, &b));
    cs_buf_release(&a);
    cs_buf_release(&b);
}

/* A set of n int elements in the protocol's form, at out. */
static size_t int_set(uint8_t *out, int n, const int *v)
{
    cs_put_be32(out, (uint32_t)n);
    size_t off = 4;
    for (int i = 0; i < n; i++) {
        cs_put_be32(out + off, 4);
        cs_put_be32(out + off + 4, (uint32_t)v[i]);
        off += 8;
    }
    return off;
}

/* An outer collection of the given inner values (count, then each as an
 * element). */
static size_t outer(uint8_t *out, int n, const uint8_t *const *in, const size_t *inl)
{
    cs_put_be32(out, (uint32_t)n);
    size_t off = 4;
    for (int i = 0; i < n; i++) {
        cs_put_be32(out + off, (uint32_t)inl[i]);
        memcpy(out + off + 4, in[i], inl[i]);
        off += 4 + inl[i];
    }
    return off;
}

/* A tuple of an int and a value v of n bytes. */
static size_t int_and(uint8_t *out, int i, const uint8_t *v, size_t n)
{
    cs_put_be32(out, 4);
    cs_put_be32(out + 4, (uint32_t)i);
    cs_put_be32(out + 8, (uint32_t)n);
    memcpy(out + 12, v, n);
    return 12 + n;
}

static void test_frozen_sets_inside(void **cm)
{
    (void)cm;
    /* {{2, 1}, {1}} as a writer sent it, {{1}, {1, 2}} as Cassandra returns
     * it: the inner frozen sets are sorted (and their repeats dropped) too */
    uint8_t s21[64], s1[64], s12[64], s11[64], x[256], y[256];
    const int v21[] = {2, 1}, v1[] = {1}, v12[] = {1, 2}, v11[] = {1, 1};
    size_t n21 = int_set(s21, 2, v21), n1 = int_set(s1, 1, v1), n12 = int_set(s12, 2, v12),
           n11 = int_set(s11, 2, v11);
    cs_buf a, b;
    cs_buf_init(&a, SIZE_MAX);
    cs_buf_init(&b, SIZE_MAX);
    size_t nx = outer(x, 2, (const uint8_t *const[]){s21, s1}, (const size_t[]){n21, n1});
    size_t ny = outer(y, 2, (const uint8_t *const[]){s1, s12}, (const size_t[]){n1, n12});
    canon("set<frozen<set<int>>>", x, (int32_t)nx, &a);
    canon("set<frozen<set<int>>>", y, (int32_t)ny, &b);
    assert_true(same(&a, &b));
    /* a list keeps its order, its frozen sets are sorted */
    canon("list<frozen<set<int>>>", x, (int32_t)nx, &a);
    canon("list<frozen<set<int>>>", y, (int32_t)ny, &b);
    assert_false(same(&a, &b));
    ny = outer(y, 2, (const uint8_t *const[]){s12, s1}, (const size_t[]){n12, n1});
    canon("list<frozen<set<int>>>", y, (int32_t)ny, &b);
    assert_true(same(&a, &b));
    /* {{1, 1}} is {{1}} */
    nx = outer(x, 1, (const uint8_t *const[]){s11}, (const size_t[]){n11});
    ny = outer(y, 1, (const uint8_t *const[]){s1}, (const size_t[]){n1});
    canon("set<frozen<set<int>>>", x, (int32_t)nx, &a);
    canon("set<frozen<set<int>>>", y, (int32_t)ny, &b);
    assert_true(same(&a, &b));
    /* in a tuple: (1, {2, 1}) is (1, {1, 2}), not (2, {1, 2}) */
    nx = int_and(x, 1, s21, n21);
    ny = int_and(y, 1, s12, n12);
    canon("tuple<int, frozen<set<int>>>", x, (int32_t)nx, &a);
    canon("tuple<int, frozen<set<int>>>", y, (int32_t)ny, &b);
    assert_true(same(&a, &b));
    ny = int_and(y, 2, s12, n12);
    canon("tuple<int, frozen<set<int>>>", y, (int32_t)ny, &b);
    assert_false(same(&a, &b));
    /* an element that differs still differs */
    nx = outer(x, 1, (const uint8_t *const[]){s21}, (const size_t[]){n21});
    ny = outer(y, 1, (const uint8_t *const[]){s1}, (const size_t[]){n1});
    canon("set<frozen<set<int>>>", x, (int32_t)nx, &a);
    canon("set<frozen<set<int>>>", y, (int32_t)ny, &b);
    assert_false(same(&a, &b));
    cs_buf_release(&a);
    cs_buf_release(&b);
}

static void test_buckets(void **cm)
{
    (void)cm;
    for (int bits = 1; bits <= 20; bits++) {
        uint32_t nb = (uint32_t)1 << bits;
        int64_t prev_hi = 0;
        for (uint32_t b = 0; b < nb; b += (nb > 64 ? nb / 64 : 1)) {
            int64_t lo, hi;
            verify_bucket_bounds(b, bits, &lo, &hi);
            assert_true(lo <= hi);
            assert_int_equal(verify_bucket_of(lo, bits), b);
            assert_int_equal(verify_bucket_of(hi, bits), b);
            if (b == 0)
                assert_true(lo == INT64_MIN);
            if (b > 0 && nb <= 64)
                assert_true(lo == prev_hi + 1);
            prev_hi = hi;
        }
        int64_t lo, hi;
        verify_bucket_bounds(nb - 1, bits, &lo, &hi);
        assert_true(hi == INT64_MAX);
    }
    assert_int_equal(verify_bucket_of(-1, 1), 0);
    assert_int_equal(verify_bucket_of(0, 1), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_order_and_repeats),
        cmocka_unit_test(test_null_unset_empty),
        cmocka_unit_test(test_map_sorted_by_key),
        cmocka_unit_test(test_malformed_collection),
        cmocka_unit_test(test_map_repeated_key_keeps_the_last),
        cmocka_unit_test(test_frozen_sets_inside),
        cmocka_unit_test(test_buckets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
