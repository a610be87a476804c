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

#include "cql/types_int.h"
#include "load/loader.h"
#include "util/dconv.h"

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

/* ---- typed values (database sources) ---------------------------------- */

static src_value vk(src_kind k, int64_t i) { src_value v = {.kind = k}; v.u.i = i; return v; }
static src_value vs(src_kind k, const void *p, size_t n)
{
    src_value v = {.kind = k};
    v.u.s.p = p;
    v.u.s.n = n;
    return v;
}

/* The text a value becomes in a text column. */
static const char *as_text(src_value v, char *buf)
{
    cql_error e;
    uint8_t out[512];
    int32_t n = conv("text", v, out, &e);
    if (n < 0)
        fail_msg("to text: %s", e.msg);
    memcpy(buf, out, (size_t)n);
    buf[n] = 0;
    return buf;
}

/* A null (an unset value: 4 bytes) in a watched double or float column
 * ends the buffer: the rounding check must not read a value that was never
 * written (past the end of the buffer when the unset fills it). Run under
 * valgrind to see the read. */
static void test_null_in_watched_column_reads_nothing_past_it(void **ts)
{
    (void)ts;
    const char *kinds[] = {"double", "float"};
    for (int k = 0; k < 2; k++) {
        cql_type *t = ty(kinds[k]);
        const cql_type *types[] = {t};
        const char *names[] = {"ratio"};
        load_column_info ci;
        memset(&ci, 0, sizeof ci);
        load_table lt = {.name = "t", .keyspace = "ks", .ncols = 1, .types = types,
                         .col_names = names, .info = &ci};
        cs_buf b;
        cs_buf_init(&b, 1 << 20);
        uint8_t fill[252];
        memset(fill, 0x5a, sizeof fill);
        assert_int_equal(cs_buf_append(&b, fill, sizeof fill), 0);
        assert_int_equal(b.cap, 256);
        src_value v = {.kind = SV_NULL};
        cql_error e;
        assert_int_equal(load_convert_watched(&lt, 0, &v, 1, &b, &e), 0);
        assert_int_equal(b.len, 256);
        assert_int_equal((int32_t)cs_be32(b.data + 252), -2);   /* unset */
        assert_int_equal((int)atomic_load(&ci.rounded), 0);
        cs_buf_release(&b);
        cql_type_free(t);
    }
}

static void test_typed_values(void **ts)
{
    (void)ts;
    uint8_t out[64];
    cql_error e;
    assert_int_equal(conv("boolean", vk(SV_BOOL, 1), out, &e), 1);
    assert_int_equal(out[0], 1);
    assert_int_equal(conv("int", vk(SV_BOOL, 1), out, &e), 4);
    src_value u = {.kind = SV_UINT};
    u.u.u = UINT64_MAX;
    assert_int_equal(conv("varint", u, out, &e), 9);    /* 00 ff*8: positive */
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 0xff);
    assert_int_equal(conv("bigint", u, out, &e), -1);
    u.u.u = 7;
    assert_int_equal(conv("bigint", u, out, &e), 8);
    assert_int_equal(out[7], 7);
    /* decimal text: exact */
    assert_int_equal(conv("decimal", vs(SV_DECIMAL, "-12.340", 7), out, &e), 6);
    assert_int_equal(cs_be32(out), 3);                  /* scale 3, unscaled -12340 */
    assert_int_equal((int16_t)cs_be16(out + 4), -12340);
    assert_int_equal(conv("decimal", vs(SV_DECIMAL, "NaN", 3), out, &e), -1);
    assert_int_equal(conv("double", vs(SV_DECIMAL, "NaN", 3), out, &e), 8);
    /* timestamps: µs since 1970; milliseconds kept, finer digits refused */
    assert_int_equal(conv("timestamp", vk(SV_TIMESTAMP, 1500), out, &e), -1);
    assert_non_null(strstr(e.msg, "1970-01-01T00:00:00.0015Z"));
    assert_non_null(strstr(e.msg, "below the millisecond"));
    assert_int_equal(conv("timestamp", vk(SV_TIMESTAMP, -62135596800000000LL), out, &e), 8);
    assert_int_equal((int64_t)cs_be64(out), -62135596800000LL);
    /* dates: days since 1970 -> 2^31 + days; timestamps at midnight */
    assert_int_equal(conv("date", vk(SV_DATE, -1), out, &e), 4);
    assert_int_equal(cs_be32(out), (1u << 31) - 1);
    assert_int_equal(conv("date", vk(SV_DATE, (int64_t)INT32_MAX + 1), out, &e), -1);
    assert_int_equal(conv("timestamp", vk(SV_DATE, 1), out, &e), 8);
    assert_int_equal((int64_t)cs_be64(out), 86400000);
    /* time: ns of a day only */
    assert_int_equal(conv("time", vk(SV_TIME, 3723000000001LL), out, &e), 8);
    assert_int_equal((int64_t)cs_be64(out), 3723000000001LL);
    assert_int_equal(conv("time", vk(SV_TIME, -1000000000LL), out, &e), -1);
    assert_non_null(strstr(e.msg, "-00:00:01 is not a time of day"));
    assert_int_equal(conv("time", vk(SV_TIME, 86400000000000LL), out, &e), -1);
    /* durations: one sign */
    src_value d = {.kind = SV_DURATION};
    d.u.dur.months = 14;
    d.u.dur.days = 3;
    d.u.dur.nanos = 5;
    assert_int_equal(conv("duration", d, out, &e), 3);
    assert_int_equal(out[0], 28);   /* zigzag(14) */
    d.u.dur.days = -1;
    assert_int_equal(conv("duration", d, out, &e), -1);
    assert_non_null(strstr(e.msg, "mixes signs"));
    /* uuid and inet bytes */
    const uint8_t id[16] = {0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x12, 0xd3,
                            0xa4, 0x56, 0x42, 0x66, 0x14, 0x17, 0x40, 0x00};
    assert_int_equal(conv("uuid", vs(SV_UUID, id, 16), out, &e), 16);
    assert_memory_equal(out, id, 16);
    assert_int_equal(conv("timeuuid", vs(SV_UUID, id, 16), out, &e), 16);  /* version 1 */
    const uint8_t ip[4] = {10, 0, 0, 1};
    assert_int_equal(conv("inet", vs(SV_INET, ip, 4), out, &e), 4);
    /* a value the connector could not represent: rejected with its reason */
    assert_int_equal(conv("date", vs(SV_BAD, "date infinity is not a date", 27), out, &e), -1);
    assert_string_equal(e.msg, "date infinity is not a date");
}

static void test_typed_to_text_and_refusals(void **ts)
{
    (void)ts;
    char b[512];
    assert_string_equal(as_text(vk(SV_BOOL, 0), b), "false");
    src_value u = {.kind = SV_UINT};
    u.u.u = UINT64_MAX;
    assert_string_equal(as_text(u, b), "18446744073709551615");
    assert_string_equal(as_text(vk(SV_TIMESTAMP, 1700000000123456LL), b),
                        "2023-11-14T22:13:20.123456Z");
    assert_string_equal(as_text(vk(SV_TIMESTAMP, 0), b), "1970-01-01T00:00:00Z");
    assert_string_equal(as_text(vk(SV_DATE, 0), b), "1970-01-01");
    /* 44 BC is year -43 in ISO 8601 (year 0 is 1 BC) */
    assert_string_equal(as_text(vk(SV_DATE, cqlt_days_from_civil(-43, 3, 15)), b), "-000043-03-15");
    assert_string_equal(as_text(vk(SV_TIME, 45296500000000LL), b), "12:34:56.5");
    assert_string_equal(as_text(vk(SV_TIME, -3600000000000LL * 30), b), "-30:00:00");
    const uint8_t ip6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    assert_string_equal(as_text(vs(SV_INET, ip6, 16), b), "2001:db8::1");
    assert_string_equal(as_text(vs(SV_DECIMAL, "1e", 1), b), "1");
    /* through the target's text rules: a timestamp into a date column
     * keeps its day only if the time is midnight (the text rules say) */
    uint8_t out[64];
    cql_error e;
    assert_int_equal(conv("int", vs(SV_DECIMAL, "1.5", 3), out, &e), -1);
    assert_int_equal(conv("int", vs(SV_DECIMAL, "15", 2), out, &e), 4);
    assert_int_equal(conv("varint", u, out, &e), 9);
}

static void test_lists(void **ts)
{
    (void)ts;
    uint8_t out[256];
    cql_error e;
    src_value el[3] = {vi(1), vi(2), vi(3)};
    src_value l = {.kind = SV_LIST};
    l.u.list.v = el;
    l.u.list.n = 3;
    assert_int_equal(conv("list<int>", l, out, &e), 4 + 3 * 8);
    assert_int_equal(cs_be32(out), 3);
    assert_int_equal(cs_be32(out + 4), 4);
    assert_int_equal(cs_be32(out + 8), 1);
    /* nested: [[1,2,3],[1,2,3]] */
    src_value rows[2] = {l, l};
    src_value l2 = {.kind = SV_LIST};
    l2.u.list.v = rows;
    l2.u.list.n = 2;
    assert_int_equal(conv("list<frozen<list<int>>>", l2, out, &e), 4 + 2 * (4 + 28));
    char b[512];
    assert_string_equal(as_text(l2, b), "[[1,2,3],[1,2,3]]");
    /* a NULL element, an element out of range, a duplicate in a set */
    el[1] = (src_value){.kind = SV_NULL};
    assert_int_equal(conv("list<int>", l, out, &e), -1);
    assert_non_null(strstr(e.msg, "element 2 is NULL"));
    el[1] = vi(1LL << 40);
    assert_int_equal(conv("list<int>", l, out, &e), -1);
    assert_non_null(strstr(e.msg, "element 2: "));
    src_value tx[2] = {vt("a"), vt("a")};
    l.u.list.v = tx;
    l.u.list.n = 2;
    assert_int_equal(conv("set<text>", l, out, &e), -1);
    assert_non_null(strstr(e.msg, "appears twice"));
}

/* dconv_text_g writes what the printf loop it replaced wrote: %.*g with
 * the first precision of 15, 16, 17 that reads back. */
static void g_text_like_printf(double d)
{
    char want[64], got[64];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(want, sizeof want, "%.*g", prec, d);
        if (strtod(want, NULL) == d)
            break;
    }
    int n = dconv_text_g(d, got, sizeof got);
    if (strcmp(want, got) || n != (int)strlen(want))
        fail_msg("%a: printf %s, dconv_text_g %s", d, want, got);
}

static void test_double_text_g(void **st)
{
    (void)st;
    static const double fixed[] = {0.99, 0.1, 0.3, 0.1 + 0.2, 1e20, 1e15, 1e16, 1e17, 123.5,
                                   100.0, 1e-4, 1e-5, 0.00012345, 1.5e-300, 5e-324,
                                   1.7976931348623157e308, 12.5, 999999999999999.0,
                                   9999999999999998.0, 2.5e-5, -7.25, 4.35, 1234567.0};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        g_text_like_printf(fixed[i]);
        g_text_like_printf(-fixed[i]);
    }
    /* random bit patterns, and random cents (what DECIMAL columns in REALs hold) */
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double d;
        memcpy(&d, &x, sizeof d);
        if (isfinite(d) && d != 0)
            g_text_like_printf(d);
        g_text_like_printf((double)(int64_t)(x % 100000000000u) / 100.0);
        g_text_like_printf((double)(x % 1000000u) * 1e-9);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_is_unset),
        cmocka_unit_test(test_double_text_g),
        cmocka_unit_test(test_typed_values),
        cmocka_unit_test(test_typed_to_text_and_refusals),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_doubles),
        cmocka_unit_test(test_text_and_blobs),
        cmocka_unit_test(test_epoch_units),
        cmocka_unit_test(test_rounded_values_are_counted),
        cmocka_unit_test(test_null_in_watched_column_reads_nothing_past_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
