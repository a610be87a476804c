/* load_convert_value: source values (SQLite storage classes, CSV text,
 * JSON) to CQL wire values. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

/* load_convert_column on a one-column table of `type` with info ci:
 * 0 or -1, the value bytes in out as conv. */
static int column(const char *type, load_column_info *ci, src_value v, int64_t pos, uint8_t *out,
                  cql_error *e)
{
    cql_type *t = ty(type);
    const cql_type *types[] = {t};
    const char *names[] = {"c"};
    load_table lt = {.name = "t", .keyspace = "ks", .ncols = 1, .types = types, .col_names = names,
                     .info = ci};
    cs_buf b;
    cs_buf_init(&b, 1 << 20);
    int rc = load_convert_column(&lt, 0, &v, pos, &b, e);
    if (rc == 0 && cs_be32(b.data) > 0)
        memcpy(out, b.data + 4, cs_be32(b.data));
    cs_buf_release(&b);
    cql_type_free(t);
    return rc;
}

static void test_epoch_units(void **ts)
{
    (void)ts;
    uint8_t out[16];
    cql_error e;
    load_column_info ci;
    memset(&ci, 0, sizeof ci);
    /* default: CQL's milliseconds */
    assert_int_equal(column("timestamp", &ci, vi(1706708700), 1, out, &e), 0);
    assert_true(cs_be64(out) == 1706708700ULL);
    ci.epoch_unit = LOAD_EPOCH_S;
    assert_int_equal(column("timestamp", &ci, vi(1706708700), 1, out, &e), 0);
    assert_true(cs_be64(out) == 1706708700000ULL);
    assert_int_equal(column("timestamp", &ci, vi(-86400), 1, out, &e), 0);
    assert_true((int64_t)cs_be64(out) == -86400000);
    assert_int_equal(column("timestamp", &ci, vi(INT64_MAX / 10), 1, out, &e), -1);
    assert_non_null(strstr(e.msg, "seconds since 1970 is out of the range of timestamp"));
    /* text keeps its own rules; other types ignore the unit */
    assert_int_equal(column("timestamp", &ci, vt("1706708700"), 1, out, &e), 0);
    assert_true(cs_be64(out) == 1706708700ULL);
    assert_int_equal(column("bigint", &ci, vi(5), 1, out, &e), 0);
    assert_true(cs_be64(out) == 5);
    ci.epoch_unit = LOAD_EPOCH_US;
    assert_int_equal(column("timestamp", &ci, vi(1706708700123000), 1, out, &e), 0);
    assert_true(cs_be64(out) == 1706708700123ULL);
    assert_int_equal(column("timestamp", &ci, vi(1706708700123456), 1, out, &e), -1);
    assert_non_null(strstr(e.msg, "1706708700123456 microseconds since 1970 has digits below the "
                                  "millisecond, which Cassandra's timestamp does not keep"));
    assert_int_equal(load_epoch_unit_parse("s"), LOAD_EPOCH_S);
    assert_int_equal(load_epoch_unit_parse("ms"), LOAD_EPOCH_MS);
    assert_int_equal(load_epoch_unit_parse("us"), LOAD_EPOCH_US);
    assert_int_equal(load_epoch_unit_parse("sec"), -1);
    assert_int_equal(load_epoch_unit_parse(""), -1);
}

/* Whether load_convert_column counts the value as rounded. */
static int rounded(const char *type, src_value v)
{
    uint8_t out[64];
    cql_error e;
    load_column_info ci;
    memset(&ci, 0, sizeof ci);
    assert_int_equal(column(type, &ci, v, 7, out, &e), 0);
    return (int)atomic_load(&ci.rounded);
}

static void test_rounded_values_are_counted(void **ts)
{
    (void)ts;
    /* what a double reads back as written: not counted */
    const char *exact[] = {"0.1", "1e300", "-123456789012345", "0.30000000000000004",
                           "0.10000000000000000000000", "000.1000", "1.7976931348623157e308",
                           "0.1000000000000000055511151231257827021181583404541015625",
                           "9007199254740993e0" /* 2^53+1: 16 digits, not a double */, "NaN",
                           "-Infinity", NULL};
    for (int i = 0; exact[i]; i++)
        if (rounded("double", vt(exact[i])) != (i == 8))
            fail_msg("%s: rounded %d", exact[i], rounded("double", vt(exact[i])));
    assert_int_equal(rounded("double", vt("0.1000000000000000055511151231257827")), 1);
    assert_int_equal(rounded("double", vt("3.14159265358979323846")), 1);
    assert_int_equal(rounded("double", vt("0.12345678901234567")), 1);
    assert_int_equal(rounded("double", vi(9007199254740993)), 1);   /* 2^53 + 1 */
    assert_int_equal(rounded("double", vi(9007199254740992)), 0);
    assert_int_equal(rounded("double", vi(-123)), 0);
    assert_int_equal(rounded("double", vi(INT64_MAX)), 1);
    assert_int_equal(rounded("double", vd(0.1)), 0);                /* already a double */
    assert_int_equal(rounded("float", vd(0.5)), 0);
    assert_int_equal(rounded("float", vd(0.1)), 1);                 /* a double into a float */
    assert_int_equal(rounded("float", vd(NAN)), 0);
    assert_int_equal(rounded("float", vt("0.1")), 0);
    assert_int_equal(rounded("float", vt("16777217")), 1);          /* 2^24 + 1 */
    assert_int_equal(rounded("float", vt("0.33333334")), 0);        /* a float's shortest text */
    assert_int_equal(rounded("float", vt("0.3333333432674407958984375")), 0);  /* its exact value */
    assert_int_equal(rounded("float", vt("0.333333343")), 1);       /* neither */
    assert_int_equal(rounded("decimal", vt("0.1000000000000000055511151231257827")), 0);

    /* the count and the first value, in a note */
    uint8_t out[16];
    cql_error e;
    load_column_info ci;
    memset(&ci, 0, sizeof ci);
    assert_int_equal(column("double", &ci, vt("2.5"), 1, out, &e), 0);
    assert_int_equal(column("double", &ci, vt("0.1000000000000000055511151231257827"), 2, out, &e), 0);
    assert_int_equal(column("double", &ci, vt("2.00000000000000000001"), 3, out, &e), 0);
    assert_int_equal((int)atomic_load(&ci.rounded), 2);
    assert_int_equal(ci.first_pos, 2);
    assert_string_equal(ci.first, "0.1000000000000000055511151231257827");
    load_column_info cf;
    memset(&cf, 0, sizeof cf);
    assert_int_equal(column("float", &cf, vd(0.1), 9, out, &e), 0);
    assert_string_equal(cf.first, "0.1");
    cql_type *t = ty("double");
    const cql_type *types[] = {t};
    const char *names[] = {"ratio"};
    load_table lt = {.name = "t", .keyspace = "ks", .ncols = 1, .types = types, .col_names = names,
                     .info = &ci};
    char buf[512] = "";
    FILE *f = fmemopen(buf, sizeof buf, "w");
    load_print_value_notes(&lt, f);
    fclose(f);
    assert_string_equal(buf, "cqlshift: note: ks.t.ratio: 2 values had more significant digits "
                             "than a double holds and were rounded to the nearest double; "
                             "the first, at position 2: 0.1000000000000000055511151231257827\n");
    cql_type_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_is_unset),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_doubles),
        cmocka_unit_test(test_text_and_blobs),
        cmocka_unit_test(test_epoch_units),
        cmocka_unit_test(test_rounded_values_are_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
