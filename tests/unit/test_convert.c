/* load_convert_value: source values (SQLite storage classes, CSV text,
 * JSON) to CQL wire values. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "load/loader.h"

static cql_type *ty(const char *s)
{
    cql_error e;
    cql_type *t = cql_type_parse(s, &e);
    assert_non_null(t);
    return t;
}

/* Convert and return the value bytes (after the 4-byte length) in out;
 * returns the length or -1 on error, -2 for unset. */
static int32_t conv(const char *type, src_value v, uint8_t *out, cql_error *e)
{
    cql_type *t = ty(type);
    cs_buf b;
    cs_buf_init(&b, 1 << 20);
    int rc = load_convert_value(t, &v, &b, e);
    int32_t len = -1;
    if (rc == 0) {
        len = (int32_t)cs_be32(b.data);
        if (len > 0)
            memcpy(out, b.data + 4, (size_t)len);
    } else {
        assert_int_equal(b.len, 0); /* nothing appended on failure */
    }
    cs_buf_release(&b);
    cql_type_free(t);
    return rc == 0 ? len : -1;
}

static src_value vi(int64_t i) { src_value v = {.kind = SV_INT}; v.u.i = i; return v; }
static src_value vd(double d) { src_value v = {.kind = SV_DOUBLE}; v.u.d = d; return v; }
static src_value vt(const char *s)
{
    src_value v = {.kind = SV_TEXT};
    v.u.s.p = s;
    v.u.s.n = strlen(s);
    return v;
}

static void test_null_is_unset(void **ts)
{
    (void)ts;
    uint8_t out[16];
    cql_error e;
    src_value v = {.kind = SV_NULL};
    assert_int_equal(conv("text", v, out, &e), -2); /* unset writes no tombstone */
}

static void test_integers(void **ts)
{
    (void)ts;
    uint8_t out[16];
    cql_error e;
    assert_int_equal(conv("int", vi(-2), out, &e), 4);
    assert_int_equal(cs_be32(out), 0xfffffffe);
    assert_int_equal(conv("bigint", vi(INT64_MIN), out, &e), 8);
    assert_true(cs_be64(out) == (uint64_t)INT64_MIN);
    assert_int_equal(conv("tinyint", vi(127), out, &e), 1);
    assert_int_equal(conv("tinyint", vi(128), out, &e), -1);
    assert_non_null(strstr(e.msg, "out of range for tinyint"));
    assert_int_equal(conv("int", vi(3000000000LL), out, &e), -1);
    assert_int_equal(conv("smallint", vi(-32768), out, &e), 2);
    /* integers into other types follow the text rules */
    assert_int_equal(conv("text", vi(42), out, &e), 2);
    assert_memory_equal(out, "42", 2);
    assert_int_equal(conv("decimal", vi(7), out, &e), 5); /* scale 0, unscaled 7 */
    assert_int_equal(cs_be32(out), 0);
    assert_int_equal(out[4], 7);
    assert_int_equal(conv("boolean", vi(1), out, &e), 1);
    assert_int_equal(out[0], 1);
}

static void test_doubles(void **ts)
{
    (void)ts;
    uint8_t out[32];
    cql_error e;
    /* 0.99 as a double must become the decimal 0.99 (scale 2, unscaled 99) */
    assert_int_equal(conv("decimal", vd(0.99), out, &e), 5);
    assert_int_equal(cs_be32(out), 2);
    assert_int_equal(out[4], 99);
    assert_int_equal(conv("double", vd(-0.0), out, &e), 8);
    assert_int_equal(out[0], 0x80);
    assert_int_equal(conv("float", vd(1.5), out, &e), 4);
    assert_int_equal(cs_be32(out), 0x3fc00000);
    assert_int_equal(conv("decimal", vd(NAN), out, &e), -1); /* CQL decimal has no NaN */
}

static void test_text_and_blobs(void **ts)
{
    (void)ts;
    uint8_t out[64];
    cql_error e;
    assert_int_equal(conv("timestamp", vt("2009-01-01 00:00:00"), out, &e), 8);
    assert_true(cs_be64(out) == 1230768000000ULL);
    assert_int_equal(conv("int", vt("12x"), out, &e), -1);
    src_value b = {.kind = SV_BLOB};
    b.u.s.p = "\x12\x34\x56\x78\x12\x34\x56\x78\x12\x34\x56\x78\x12\x34\x56\x78";
    b.u.s.n = 16;
    assert_int_equal(conv("uuid", b, out, &e), 16);
    assert_int_equal(conv("blob", b, out, &e), 16);
    src_value bad = {.kind = SV_BLOB};
    bad.u.s.p = "\xff\xfe";
    bad.u.s.n = 2;
    assert_int_equal(conv("text", bad, out, &e), -1); /* not UTF-8 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_is_unset),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_doubles),
        cmocka_unit_test(test_text_and_blobs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
