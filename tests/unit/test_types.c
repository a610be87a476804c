/* Unit tests of CQL types and value codecs (types.h): type trees from wire
 * [option] metadata and CQL text, and the text/JSON codecs of every type,
 * with byte expectations from the native protocol spec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cql/types.h"

/* ---------- helpers ---------- */

static cql_type *ty(const char *text)
{
    cql_error err;
    cql_type *t = cql_type_parse(text, &err);
    if (!t)
        fail_msg("cql_type_parse(%s): %s", text, err.msg);
    return t;
}

static char *to_hex(const uint8_t *p, size_t n)
{
    char *h = malloc(2 * n + 1);
    for (size_t i = 0; i < n; i++)
        sprintf(h + 2 * i, "%02x", p[i]);
    h[2 * n] = '\0';
    return h;
}

static size_t from_hex(const char *h, uint8_t *out)
{
    size_t n = strlen(h) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

/* Encode text s as type; return the hex of the whole [int32][bytes] value. */
static char *enc_text(const char *type, const char *s, cql_error *err)
{
    cql_type *t = ty(type);
    cs_buf b;
    cs_buf_init(&b, 1 << 26);
    cs_buf_put_u8(&b, 0xAA); /* the encoder must append, not overwrite */
    int rc = cql_value_encode_text(t, s, strlen(s), &b, err);
    char *h = NULL;
    if (rc == 0) {
        assert_int_equal(b.data[0], 0xAA);
        h = to_hex(b.data + 1, b.len - 1);
    } else {
        assert_int_equal(b.len, 1); /* out unchanged on failure */
    }
    cs_buf_release(&b);
    cql_type_free(t);
    return h;
}

static char *enc_json(const char *type, const char *js, cql_error *err)
{
    cql_type *t = ty(type);
    json_error_t je;
    json_t *v = json_loads(js, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (!v)
        fail_msg("bad test JSON %s: %s", js, je.text);
    cs_buf b;
    cs_buf_init(&b, 1 << 26);
    int rc = cql_value_encode_json(t, v, &b, err);
    char *h = rc == 0 ? to_hex(b.data, b.len) : NULL;
    if (rc)
        assert_int_equal(b.len, 0);
    cs_buf_release(&b);
    json_decref(v);
    cql_type_free(t);
    return h;
}

/* Decode value bytes (hex, no length prefix; NULL = null) as JSON text. */
static char *dec(const char *type, const char *hex, cql_error *err)
{
    cql_type *t = ty(type);
    size_t cap = hex ? strlen(hex) / 2 + 1 : 1;
    uint8_t *buf = malloc(cap);
    int32_t n = hex ? (int32_t)from_hex(hex, buf) : -1;
    json_t *j = cql_value_decode_json(t, buf, n, err);
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(j);
    free(buf);
    cql_type_free(t);
    return s;
}

#define EXPECT_TEXT(type, in, hex)                                                                   \
    do {                                                                                             \
        cql_error e_;                                                                                \
        char *h_ = enc_text(type, in, &e_);                                                          \
        if (!h_)                                                                                     \
            fail_msg("encode_text %s %s failed: %s", type, in, e_.msg);                              \
        if (strcmp(h_, hex) != 0)                                                                    \
            fail_msg("encode_text %s %s: expected %s, got %s", type, in, hex, h_);                   \
        free(h_);                                                                                    \
    } while (0)

#define EXPECT_TEXT_FAIL(type, in, needle)                                                           \
    do {                                                                                             \
        cql_error e_;                                                                                \
        char *h_ = enc_text(type, in, &e_);                                                          \
        if (h_)                                                                                      \
            fail_msg("encode_text %s %s: expected failure, got %s", type, in, h_);                   \
        assert_int_equal(e_.code, CQL_E_ENCODE);                                                     \
        if (!strstr(e_.msg, needle))                                                                 \
            fail_msg("encode_text %s %s: message '%s' lacks '%s'", type, in, e_.msg, needle);        \
    } while (0)

#define EXPECT_JSON(type, in, hex)                                                                   \
    do {                                                                                             \
        cql_error e_;                                                                                \
        char *h_ = enc_json(type, in, &e_);                                                          \
        if (!h_)                                                                                     \
            fail_msg("encode_json %s %s failed: %s", type, in, e_.msg);                              \
        if (strcmp(h_, hex) != 0)                                                                    \
            fail_msg("encode_json %s %s: expected %s, got %s", type, in, hex, h_);                   \
        free(h_);                                                                                    \
    } while (0)

#define EXPECT_JSON_FAIL(type, in, needle)                                                           \
    do {                                                                                             \
        cql_error e_;                                                                                \
        char *h_ = enc_json(type, in, &e_);                                                          \
        if (h_)                                                                                      \
            fail_msg("encode_json %s %s: expected failure, got %s", type, in, h_);                   \
        if (!strstr(e_.msg, needle))                                                                 \
            fail_msg("encode_json %s %s: message '%s' lacks '%s'", type, in, e_.msg, needle);        \
    } while (0)

#define EXPECT_DEC(type, hex, json)                                                                  \
    do {                                                                                             \
        cql_error e_;                                                                                \
        char *s_ = dec(type, hex, &e_);                                                              \
        if (!s_)                                                                                     \
            fail_msg("decode %s %s failed: %s", type, hex ? hex : "null", e_.msg);                   \
        if (strcmp(s_, json) != 0)                                                                   \
            fail_msg("decode %s %s: expected %s, got %s", type, hex ? hex : "null", json, s_);       \
        free(s_);                                                                                    \
    } while (0)

#define EXPECT_DEC_FAIL(type, hex)                                                                   \
    do {                                                                                             \
        cql_error e_;                                                                                \
        char *s_ = dec(type, hex, &e_);                                                              \
        if (s_)                                                                                      \
            fail_msg("decode %s %s: expected failure, got %s", type, hex, s_);                       \
        assert_true(e_.code == CQL_E_ENCODE || e_.code == CQL_E_USAGE);                              \
    } while (0)

/* JSON in -> bytes -> JSON out must give back `canon` (and text in too). */
static void roundtrip(const char *type, const char *json_in, const char *canon)
{
    cql_error err;
    char *h = enc_json(type, json_in, &err);
    if (!h)
        fail_msg("roundtrip encode %s %s: %s", type, json_in, err.msg);
    /* strip the [int32] length; null stays null */
    const char *body = strcmp(h, "ffffffff") == 0 ? NULL : h + 8;
    char *s = dec(type, body, &err);
    if (!s)
        fail_msg("roundtrip decode %s %s: %s", type, h, err.msg);
    if (strcmp(s, canon) != 0)
        fail_msg("roundtrip %s %s: expected %s, got %s (bytes %s)", type, json_in, canon, s, h);
    /* The canonical JSON form must encode to the same bytes again. */
    char *h2 = enc_json(type, s, &err);
    if (!h2 || strcmp(h, h2) != 0)
        fail_msg("roundtrip %s: canonical %s re-encodes to %s, not %s", type, s, h2 ? h2 : err.msg, h);
    free(h2);
    free(s);
    free(h);
}

/* ---------- scalars: exact bytes ---------- */

static void test_integers(void **state)
{
    (void)state;
    EXPECT_TEXT("tinyint", "-128", "0000000180");
    EXPECT_TEXT("tinyint", "127", "000000017f");
    EXPECT_TEXT("smallint", "-32768", "000000028000");
    EXPECT_TEXT("int", "2147483647", "000000047fffffff");
    EXPECT_TEXT("int", " -1 ", "00000004ffffffff");
    EXPECT_TEXT("int", "+5", "0000000400000005");
    EXPECT_TEXT("bigint", "-9223372036854775808", "000000088000000000000000");
    EXPECT_TEXT("bigint", "9223372036854775807", "000000087fffffffffffffff");
    EXPECT_TEXT("counter", "1", "000000080000000000000001");
    EXPECT_TEXT_FAIL("tinyint", "300", "expected an integer in -128..127 for tinyint, got '300'");
    EXPECT_TEXT_FAIL("bigint", "9223372036854775808", "-9223372036854775808..9223372036854775807");
    EXPECT_TEXT_FAIL("int", "1.5", "for int");
    EXPECT_TEXT_FAIL("int", "", "an empty string");
    EXPECT_TEXT_FAIL("int", "12a", "got '12a'");
    EXPECT_JSON("int", "-2147483648", "0000000480000000");
    EXPECT_JSON("smallint", "\"7\"", "000000020007");
    EXPECT_JSON_FAIL("int", "2147483648", "-2147483648..2147483647");
    EXPECT_JSON_FAIL("int", "true", "expected an integer for int, got a boolean");
    EXPECT_DEC("tinyint", "80", "-128");
    EXPECT_DEC("bigint", "8000000000000000", "-9223372036854775808");
    EXPECT_DEC("int", "", "null"); /* legacy empty value */
    EXPECT_DEC_FAIL("int", "000001");
    EXPECT_DEC_FAIL("bigint", "00");
}

static void test_varint(void **state)
{
    (void)state;
    /* spec: 0 = 00, 1 = 01, 127 = 7F, 128 = 00 80, 129 = 00 81, -1 = FF, -128 = 80, -129 = FF 7F */
    EXPECT_TEXT("varint", "0", "0000000100");
    EXPECT_TEXT("varint", "1", "0000000101");
    EXPECT_TEXT("varint", "127", "000000017f");
    EXPECT_TEXT("varint", "128", "000000020080");
    EXPECT_TEXT("varint", "129", "000000020081");
    EXPECT_TEXT("varint", "-1", "00000001ff");
    EXPECT_TEXT("varint", "-128", "0000000180");
    EXPECT_TEXT("varint", "-129", "00000002ff7f");
    EXPECT_TEXT("varint", "-0", "0000000100");
    EXPECT_TEXT("varint", "000255", "0000000200ff");
    EXPECT_TEXT("varint", "18446744073709551616", "00000009010000000000000000");
    EXPECT_TEXT("varint", "-18446744073709551616", "00000009ff0000000000000000");
    EXPECT_TEXT("varint", "-9223372036854775808", "000000088000000000000000");
    EXPECT_JSON("varint", "-129", "00000002ff7f");
    EXPECT_TEXT_FAIL("varint", "1e3", "expected an integer");
    EXPECT_TEXT_FAIL("varint", "-", "for varint");
    EXPECT_DEC("varint", "0080", "\"128\"");
    EXPECT_DEC("varint", "ff7f", "\"-129\"");
    EXPECT_DEC("varint", "ff0000000000000000", "\"-18446744073709551616\"");
    EXPECT_DEC("varint", "ffff", "\"-1\""); /* non-minimal but valid */
    roundtrip("varint", "\"123456789012345678901234567890123456789012345678901234567890\"",
              "\"123456789012345678901234567890123456789012345678901234567890\"");
    roundtrip("varint", "\"-340282366920938463463374607431768211456\"", "\"-340282366920938463463374607431768211456\"");

    /* A 3000-digit number survives both directions (heap path). */
    char *big = malloc(3002);
    big[0] = '"';
    big[1] = '-';
    for (int i = 0; i < 2998; i++)
        big[2 + i] = (char)('1' + i % 9);
    big[3000] = '"';
    big[3001] = '\0';
    roundtrip("varint", big, big);
    free(big);
}

static void test_decimal(void **state)
{
    (void)state;
    /* scale int32, then varint unscaled */
    EXPECT_TEXT("decimal", "-12.50", "0000000600000002fb1e");
    EXPECT_TEXT("decimal", "0", "000000050000000000");
    EXPECT_TEXT("decimal", "12E+3", "00000005fffffffd0c");
    EXPECT_TEXT("decimal", "1.5e-3", "00000005000000040f");
    EXPECT_TEXT("decimal", "0.001", "000000050000000301");
    EXPECT_JSON("decimal", "12", "00000005000000000c");
    EXPECT_TEXT_FAIL("decimal", "1.2.3", "expected a decimal number");
    EXPECT_TEXT_FAIL("decimal", "1e99999999999", "for decimal");
    EXPECT_DEC("decimal", "00000002fb1e", "\"-12.50\"");
    EXPECT_DEC("decimal", "fffffffd0c", "\"12E+3\"");
    EXPECT_DEC("decimal", "0000000301", "\"0.001\"");
    EXPECT_DEC("decimal", "00000003ff", "\"-0.001\"");
    EXPECT_DEC_FAIL("decimal", "000000");
    roundtrip("decimal", "\"-0.000000000000000000000000000000000001\"", "\"-0.000000000000000000000000000000000001\"");
    roundtrip("decimal", "\"3.14159265358979323846264338327950288419716939937510\"",
              "\"3.14159265358979323846264338327950288419716939937510\"");
    roundtrip("decimal", "\"1.000\"", "\"1.000\"");
    roundtrip("decimal", "\"1E+2147483647\"", "\"1E+2147483647\"");
}

static void test_floats(void **state)
{
    (void)state;
    EXPECT_TEXT("float", "1.5", "000000043fc00000");
    EXPECT_TEXT("float", "-0.0", "0000000480000000");
    EXPECT_TEXT("float", "NaN", "000000047fc00000");
    EXPECT_TEXT("float", "-Infinity", "00000004ff800000");
    EXPECT_TEXT("double", "Infinity", "000000087ff0000000000000");
    EXPECT_TEXT("double", "-0", "000000088000000000000000");
    EXPECT_TEXT("double", "1e-320", "0000000800000000000007e8"); /* subnormal */
    EXPECT_TEXT("float", "3.4028235e38", "000000047f7fffff");
    EXPECT_TEXT_FAIL("float", "1e39", "float range");
    EXPECT_TEXT_FAIL("double", "1e400", "double range");
    EXPECT_TEXT_FAIL("double", "abc", "expected a number");
    EXPECT_JSON("double", "0.1", "000000083fb999999999999a");
    EXPECT_JSON("float", "0.1", "000000043dcccccd");
    EXPECT_JSON("double", "\"NaN\"", "000000087ff8000000000000");
    EXPECT_DEC("double", "8000000000000000", "-0.0");
    EXPECT_DEC("double", "7ff8000000000000", "\"NaN\"");
    EXPECT_DEC("float", "ff800000", "\"-Infinity\"");
    roundtrip("double", "0.1", "0.10000000000000001");
    roundtrip("double", "1.7976931348623157e308", "1.7976931348623157e308");
    roundtrip("double", "4.9e-324", "4.9406564584124654e-324");
    roundtrip("double", "-0.0", "-0.0");
    roundtrip("float", "3.4028234663852886e+38", "3.4028234663852886e38");
    roundtrip("float", "1.401298464324817e-45", "1.4012984643248171e-45");
}

static void test_text_types(void **state)
{
    (void)state;
    EXPECT_TEXT("text", "", "00000000");
    EXPECT_TEXT("text", " a ", "00000003206120"); /* text keeps its blanks */
    EXPECT_TEXT("text", "h\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "0000000a68c3a9e282acf09f9880");
    EXPECT_TEXT("ascii", "abc", "00000003616263");
    EXPECT_TEXT_FAIL("ascii", "\xc3\xa9", "expected only ASCII characters for ascii, got byte 0xc3 at offset 0");
    EXPECT_TEXT_FAIL("text", "ab\xff", "expected valid UTF-8 for text, got invalid byte 0xff at offset 2");
    EXPECT_TEXT_FAIL("text", "\xc0\xaf", "invalid byte 0xc0");         /* overlong '/' */
    EXPECT_TEXT_FAIL("text", "\xed\xa0\x80", "invalid byte 0xed");     /* surrogate */
    EXPECT_TEXT_FAIL("text", "\xf4\x90\x80\x80", "invalid byte 0xf4"); /* > U+10FFFF */
    EXPECT_TEXT_FAIL("text", "abcdefgh\xe2\x82", "offset 8");          /* truncated after an ASCII run */
    EXPECT_JSON("varchar", "\"\"", "00000000");
    EXPECT_JSON("text", "null", "ffffffff");
    EXPECT_JSON_FAIL("text", "5", "expected a string for text, got an integer");
    EXPECT_DEC("text", "", "\"\"");
    EXPECT_DEC("text", NULL, "null");
    EXPECT_DEC("text", "00", "\"\\u0000\"");
    EXPECT_DEC_FAIL("text", "ff");
    EXPECT_DEC_FAIL("ascii", "80");
    roundtrip("text", "\"\\u00e9\\u4e2d\\ud83d\\ude00 \\\"q\\\"\"", "\"\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80 \\\"q\\\"\"");
}

static void test_blob_bool_uuid_inet(void **state)
{
    (void)state;
    EXPECT_TEXT("blob", "0x", "00000000");
    EXPECT_TEXT("blob", "0xCAfe00", "00000003cafe00");
    EXPECT_TEXT_FAIL("blob", "cafe", "expected 0x followed by an even number of hex digits for blob");
    EXPECT_TEXT_FAIL("blob", "0xabc", "hex digits");
    EXPECT_TEXT_FAIL("blob", "0xzz", "hex digits");
    EXPECT_DEC("blob", "", "\"0x\"");
    EXPECT_DEC("blob", "00ff80", "\"0x00ff80\"");
    EXPECT_TEXT("boolean", "TRUE", "0000000101");
    EXPECT_TEXT("boolean", "no", "0000000100");
    EXPECT_TEXT("boolean", "1", "0000000101");
    EXPECT_TEXT_FAIL("boolean", "maybe", "expected true/false");
    EXPECT_JSON("boolean", "false", "0000000100");
    EXPECT_DEC("boolean", "01", "true");
    EXPECT_TEXT("uuid", "123E4567-E89B-12D3-A456-426614174000", "00000010123e4567e89b12d3a456426614174000");
    EXPECT_TEXT_FAIL("uuid", "123e4567e89b12d3a456426614174000", "expected a UUID");
    EXPECT_TEXT("timeuuid", "5e9a1b20-9f0a-11ee-8c90-0242ac120002", "000000105e9a1b209f0a11ee8c900242ac120002");
    EXPECT_TEXT_FAIL("timeuuid", "123e4567-e89b-42d3-a456-426614174000", "version 1");
    EXPECT_DEC("uuid", "123e4567e89b12d3a456426614174000", "\"123e4567-e89b-12d3-a456-426614174000\"");
    EXPECT_DEC_FAIL("uuid", "123e4567");
    EXPECT_TEXT("inet", "10.0.0.1", "000000040a000001");
    EXPECT_TEXT("inet", "::1", "0000001000000000000000000000000000000001");
    EXPECT_TEXT_FAIL("inet", "10.0.0.256", "expected an IPv4 or IPv6 address");
    EXPECT_DEC("inet", "7f000001", "\"127.0.0.1\"");
    EXPECT_DEC("inet", "20010db8000000000000000000000001", "\"2001:db8::1\"");
    EXPECT_DEC("inet", "00000000000000000000ffff01020304", "\"::ffff:1.2.3.4\"");
    EXPECT_DEC_FAIL("inet", "0102");
}

static void test_dates_times(void **state)
{
    (void)state;
    /* date: uint32 days, epoch at 2^31 */
    EXPECT_TEXT("date", "1970-01-01", "0000000480000000");
    EXPECT_TEXT("date", "1969-12-31", "000000047fffffff");
    EXPECT_TEXT("date", "0", "0000000480000000");
    EXPECT_TEXT("date", "-2147483648", "0000000400000000");
    EXPECT_TEXT("date", "2147483647", "00000004ffffffff");
    EXPECT_TEXT("date", "-5877641-06-23", "0000000400000000");
    EXPECT_TEXT_FAIL("date", "-5877641-06-22", "expected a date within -5877641-06-23..5881580-07-11");
    EXPECT_TEXT("date", "5881580-07-11", "00000004ffffffff");
    EXPECT_TEXT("date", "2000-02-29", "0000000480002b08");
    EXPECT_TEXT_FAIL("date", "2001-02-29", "expected a date YYYY-MM-DD");
    EXPECT_TEXT_FAIL("date", "2147483648", "expected a date within");
    EXPECT_JSON("date", "-1", "000000047fffffff");
    EXPECT_DEC("date", "80000000", "\"1970-01-01\"");
    EXPECT_DEC("date", "00000000", "-2147483648");
    EXPECT_DEC("date", "ffffffff", "2147483647");
    roundtrip("date", "\"0001-01-01\"", "\"0001-01-01\"");
    roundtrip("date", "\"9999-12-31\"", "\"9999-12-31\"");
    roundtrip("date", "\"10000-01-01\"", "2932897");
    roundtrip("date", "-719163", "-719163"); /* 0000-12-31 */

    EXPECT_TEXT("time", "00:00:00", "000000080000000000000000");
    EXPECT_TEXT("time", "23:59:59.999999999", "0000000800004e94914effff");
    EXPECT_TEXT("time", "12:34:56.789", "00000008000029327b048f40");
    EXPECT_TEXT_FAIL("time", "24:00:00", "expected a time");
    EXPECT_TEXT_FAIL("time", "86400000000000", "expected a time");
    EXPECT_TEXT("time", "12:34:56.7890000000", "00000008000029327b048f40");
    EXPECT_TEXT_FAIL("time", "12:34:56.7890000001", "below the nanosecond, which Cassandra's time");
    EXPECT_DEC("time", "00004e94914effff", "\"23:59:59.999999999\"");
    EXPECT_DEC_FAIL("time", "ffffffffffffffff");
    roundtrip("time", "\"01:02:03.000000004\"", "\"01:02:03.000000004\"");
    roundtrip("time", "3723000000004", "\"01:02:03.000000004\"");

    /* timestamp: int64 ms since the epoch */
    EXPECT_TEXT("timestamp", "1970-01-01T00:00:00Z", "000000080000000000000000");
    EXPECT_TEXT("timestamp", "1970-01-01 00:00:01.5+01:00", "00000008ffffffffffc9175c");
    EXPECT_TEXT("timestamp", "1970-01-01T00:00:00.001", "000000080000000000000001");
    EXPECT_TEXT("timestamp", "1970-01-01", "000000080000000000000000");
    EXPECT_TEXT("timestamp", "-1", "00000008ffffffffffffffff");
    EXPECT_TEXT("timestamp", "2024-01-31T12:00:00.000-0530", "000000080000018d609209c0");
    EXPECT_TEXT("timestamp", "1970-01-01T00:00:00.0010000Z", "000000080000000000000001");
    /* digits below the millisecond: zeros are exact, others would be lost */
    EXPECT_TEXT("timestamp", "2024-01-31T12:00:00.123000Z", "000000080000018d5f63ea7b");
    EXPECT_TEXT("timestamp", "2024-01-31 12:00:00.123000000", "000000080000018d5f63ea7b");
    EXPECT_TEXT_FAIL("timestamp", "1970-01-01T00:00:00.0001Z",
                     "'1970-01-01T00:00:00.0001Z' has digits below the millisecond, which "
                     "Cassandra's timestamp does not keep: they would be lost");
    EXPECT_TEXT_FAIL("timestamp", "2024-01-31T12:00:00.123456+01:00", "below the millisecond");
    EXPECT_TEXT_FAIL("timestamp", "2024-01-31T12:00:00.123456 junk", "expected an ISO 8601 timestamp");
    EXPECT_TEXT_FAIL("timestamp", "2024-13-01", "ISO 8601");
    EXPECT_TEXT_FAIL("timestamp", "292278994-08-17T07:12:55.808Z", "ISO 8601"); /* past int64 ms */
    EXPECT_DEC("timestamp", "0000000000000000", "\"1970-01-01T00:00:00.000Z\"");
    EXPECT_DEC("timestamp", "ffffffffffffffff", "\"1969-12-31T23:59:59.999Z\"");
    EXPECT_DEC("timestamp", "8000000000000000", "-9223372036854775808");
    roundtrip("timestamp", "\"0001-01-01T00:00:00.000Z\"", "\"0001-01-01T00:00:00.000Z\"");
    roundtrip("timestamp", "\"9999-12-31T23:59:59.999Z\"", "\"9999-12-31T23:59:59.999Z\"");
    roundtrip("timestamp", "9223372036854775807", "9223372036854775807");
    roundtrip("timestamp", "-62135596800001", "-62135596800001"); /* just before year 1 */
}

static void test_duration(void **state)
{
    (void)state;
    /* three zig-zag vints: 1mo = 02, 2d = 04, 3ns = 06 */
    EXPECT_TEXT("duration", "1mo2d3ns", "00000003020406");
    EXPECT_TEXT("duration", "-1mo2d3ns", "00000003010305");
    EXPECT_TEXT("duration", "0mo0d0ns", "00000003000000");
    /* 1h = 3600e9 ns: zig-zag 7200e9 = 0x68c61714000, a 7-byte vint (6 leading 1 bits) */
    EXPECT_TEXT("duration", "1h", "000000090000fc068c61714000");
    EXPECT_TEXT("duration", "1y2w", "00000003181c00");
    EXPECT_TEXT("duration", "P1Y2M3DT4H", "000000091c06fc1a3185c50000");
    EXPECT_TEXT("duration", "-P2W", "00000003001b00");
    EXPECT_TEXT_FAIL("duration", "1x", "expected a duration");
    EXPECT_TEXT_FAIL("duration", "", "expected a duration");
    EXPECT_DEC("duration", "020406", "\"1mo2d3ns\"");
    EXPECT_DEC("duration", "010305", "\"-1mo2d3ns\"");
    EXPECT_DEC_FAIL("duration", "0204");
    EXPECT_DEC_FAIL("duration", "010406"); /* mixed signs */
    EXPECT_TEXT_FAIL("duration", "-2147483648mo-2147483648d", "expected a duration like");
    EXPECT_TEXT("duration", "-2147483648mo2147483648d", "0000000bf0fffffffff0ffffffff00");
    EXPECT_TEXT_FAIL("duration", "2147483648mo", "expected a duration like");
    roundtrip("duration", "\"2147483647mo2147483647d9223372036854775807ns\"",
              "\"2147483647mo2147483647d9223372036854775807ns\"");
    roundtrip("duration", "\"-2147483648mo2147483648d9223372036854775807ns\"",
              "\"-2147483648mo2147483648d9223372036854775807ns\"");
    roundtrip("duration", "\"-2147483648mo2147483648d9223372036854775808ns\"",
              "\"-2147483648mo2147483648d9223372036854775808ns\"");
    EXPECT_TEXT_FAIL("duration", "9223372036854775808ns", "expected a duration");
    EXPECT_TEXT_FAIL("duration", "-9223372036854775809ns", "expected a duration");
    roundtrip("duration", "\"1h30m15s20ms10us5ns\"", "\"0mo0d5415020010005ns\"");
}

/* ---------- collections, tuples, UDTs, vectors ---------- */

static void test_collections_text(void **state)
{
    (void)state;
    /* list<text>: [int32 len][int32 count] then each [int32 len][bytes] */
    EXPECT_TEXT("list<text>", "['x','y']", "0000000e" "00000002" "0000000178" "0000000179");
    EXPECT_TEXT("list<text>", "[\"x\", \"y\"]", "0000000e" "00000002" "0000000178" "0000000179");
    EXPECT_TEXT("list<text>", "[]", "0000000400000000");
    EXPECT_TEXT("list<text>", "['it''s', \"a\\\"b\\u00e9\", '']",
                "00000019" "00000003" "0000000469742773" "00000005612262c3a9" "00000000");
    EXPECT_TEXT("set<int>", "{1, 2}", "00000014" "00000002" "0000000400000001" "0000000400000002");
    EXPECT_TEXT("set<int>", " [ 1 ,2 ] ", "00000014" "00000002" "0000000400000001" "0000000400000002");
    EXPECT_TEXT("map<text, int>", "{'k': 1}", "00000011" "00000001" "000000016b" "0000000400000001");
    EXPECT_TEXT("map<int, boolean>", "[[1, true]]", "00000011" "00000001" "0000000400000001" "0000000101");
    EXPECT_TEXT("map<time, int>", "{'12:00:00': 1}", "00000018" "00000001" "000000080000274a48a78000" "0000000400000001");
    EXPECT_TEXT("list<frozen<list<int>>>", "[[1], []]",
                "0000001c" "00000002" "0000000c" "00000001" "0000000400000001" "00000004" "00000000");
    EXPECT_TEXT("tuple<int, text>", "(1, 'a')", "0000000d" "0000000400000001" "0000000161");
    EXPECT_TEXT("tuple<int, text>", "[null, \"a\"]", "00000009" "ffffffff" "0000000161");
    EXPECT_TEXT("vector<float, 3>", "[1.5, -0.0, 3]", "0000000c" "3fc00000" "80000000" "40400000");
    EXPECT_TEXT("vector<text, 2>", "['a', '']", "00000003" "0161" "00");
    EXPECT_TEXT("vector<smallint, 2>", "[1, -1]", "00000006" "020001" "02ffff");
    EXPECT_TEXT("map<text, frozen<map<int, list<text>>>>", "{'a': {1: ['x']}}",
                "00000026" "00000001" "0000000161" "00000019" "00000001" "0000000400000001"
                "00000009" "00000001" "0000000178");
    EXPECT_TEXT_FAIL("list<int>", "[1, null]", "no null elements");
    EXPECT_TEXT_FAIL("list<int>", "[1, 'x']", "expected an integer in -2147483648..2147483647 for int, got 'x'");
    EXPECT_TEXT_FAIL("list<int>", "[1, 2", "']'");
    EXPECT_TEXT_FAIL("list<text>", "['abc", "closing quote");
    EXPECT_TEXT_FAIL("list<text>", "['a\xff']", "valid UTF-8");
    EXPECT_TEXT_FAIL("list<int>", "1, 2", "expected '['");
    EXPECT_TEXT_FAIL("list<int>", "[1,,2]", "expected a value");
    EXPECT_TEXT_FAIL("vector<float, 3>", "[1, 2]", "expected 3 elements for vector<float, 3>, got 2");
    EXPECT_TEXT_FAIL("vector<float, 2>", "[1, 2, 3]", "got more");
    EXPECT_TEXT_FAIL("tuple<int, int>", "(1)", "expected 2 elements");
    EXPECT_TEXT_FAIL("map<text, int>", "{'a' 1}", "':' after a map key");
    EXPECT_TEXT_FAIL("list<int>", "[1] x", "the end of the literal");
}

/* A UDT type as bind metadata would give it. */
static cql_type *udt_type(void)
{
    /* [option] 0x0030, keyspace "ks", name "addr", 2 fields: street text, zip int */
    static const uint8_t opt[] = {0x00, 0x30, 0x00, 0x02, 'k', 's', 0x00, 0x04, 'a', 'd', 'd', 'r', 0x00, 0x02,
                                  0x00, 0x06, 's', 't', 'r', 'e', 'e', 't', 0x00, 0x0d,
                                  0x00, 0x03, 'z', 'i', 'p', 0x00, 0x09};
    cs_rd r;
    cs_rd_init(&r, opt, sizeof opt);
    cql_error err;
    cql_type *t = cql_type_read_option(&r, &err);
    if (!t)
        fail_msg("udt option: %s", err.msg);
    assert_int_equal(r.n, 0);
    return t;
}

static void test_udt(void **state)
{
    (void)state;
    cql_type *t = udt_type();
    cs_buf b;
    cs_buf_init(&b, 1 << 20);
    cql_error err;
    const char *lit = "{zip: 12345, street: 'Main St'}";
    assert_int_equal(cql_value_encode_text(t, lit, strlen(lit), &b, &err), 0);
    char *h = to_hex(b.data, b.len);
    assert_string_equal(h, "00000013" "000000074d61696e205374" "0000000400003039");
    free(h);
    json_t *j = cql_value_decode_json(t, b.data + 4, (int32_t)b.len - 4, &err);
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(s, "{\"street\":\"Main St\",\"zip\":12345}");
    free(s);
    json_decref(j);
    /* missing fields are null; a value with fewer fields (ALTER TYPE ADD) too */
    cs_buf_reset(&b);
    json_t *in = json_loads("{\"street\": \"x\"}", 0, NULL);
    assert_int_equal(cql_value_encode_json(t, in, &b, &err), 0);
    json_decref(in);
    h = to_hex(b.data, b.len);
    assert_string_equal(h, "00000009" "0000000178" "ffffffff");
    free(h);
    j = cql_value_decode_json(t, b.data + 4, 5, &err);
    s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(s, "{\"street\":\"x\",\"zip\":null}");
    free(s);
    json_decref(j);
    /* unknown fields are errors */
    cs_buf_reset(&b);
    in = json_loads("{\"street\": \"x\", \"city\": 1}", 0, NULL);
    assert_int_equal(cql_value_encode_json(t, in, &b, &err), -1);
    assert_non_null(strstr(err.msg, "expected a field of ks.addr, got 'city'"));
    assert_int_equal(b.len, 0);
    json_decref(in);
    assert_int_equal(cql_value_encode_text(t, "{town: 1}", 9, &b, &err), -1);
    assert_non_null(strstr(err.msg, "got 'town'"));
    cs_buf_release(&b);
    cql_type_free(t);

    /* A UDT named in CQL text has no field list: encoding says so. */
    EXPECT_TEXT_FAIL("ks.addr", "{a: 1}", "not known");
}

static void test_collections_json(void **state)
{
    (void)state;
    roundtrip("list<int>", "[1, -2, 2147483647]", "[1,-2,2147483647]");
    roundtrip("set<text>", "[\"a\", \"\\u00e9\"]", "[\"a\",\"\xc3\xa9\"]");
    roundtrip("map<text, double>", "{\"a\": 1.5, \"b\": \"NaN\"}", "{\"a\":1.5,\"b\":\"NaN\"}");
    roundtrip("map<int, text>", "[[1, \"x\"], [2, \"y\"]]", "[[1,\"x\"],[2,\"y\"]]");
    roundtrip("map<uuid, int>", "{\"123e4567-e89b-12d3-a456-426614174000\": 1}",
              "[[\"123e4567-e89b-12d3-a456-426614174000\",1]]");
    roundtrip("tuple<int, text, boolean>", "[1, null, false]", "[1,null,false]");
    roundtrip("frozen<list<frozen<map<text, frozen<set<bigint>>>>>>", "[{\"a\": [1, 2]}, {}]",
              "[{\"a\":[1,2]},{}]");
    roundtrip("vector<float, 3>", "[0.5, -0.0, \"Infinity\"]", "[0.5,-0.0,\"Infinity\"]");
    roundtrip("vector<text, 2>", "[\"\", \"h\\u00e9\"]", "[\"\",\"h\xc3\xa9\"]");
    roundtrip("vector<vector<int, 2>, 2>", "[[1, 2], [3, 4]]", "[[1,2],[3,4]]");
    roundtrip("vector<list<int>, 2>", "[[1], []]", "[[1],[]]");
    roundtrip("list<int>", "[]", "[]");
    /* an empty text element (its bytes pointer is NULL) */
    roundtrip("list<text>", "[\"\", \"a\"]", "[\"\",\"a\"]");
    roundtrip("map<ascii, text>", "{\"\": \"\"}", "{\"\":\"\"}");
    roundtrip("list<blob>", "[\"0x\", \"0xff\"]", "[\"0x\",\"0xff\"]");
    EXPECT_JSON("list<int>", "[]", "0000000400000000");
    EXPECT_JSON("vector<smallint, 2>", "[1, -1]", "00000006" "020001" "02ffff");
    EXPECT_JSON_FAIL("list<int>", "[1, null]", "no null elements in list<int>");
    EXPECT_JSON_FAIL("list<int>", "{\"a\": 1}", "expected an array for list<int>, got an object");
    EXPECT_JSON_FAIL("vector<int, 2>", "[1]", "expected 2 elements for vector<int, 2>, got 1");
    EXPECT_JSON_FAIL("map<int, int>", "{\"x\": 1}", "for int, got 'x'");
    EXPECT_JSON_FAIL("map<int, int>", "[[1]]", "[key, value] pairs");
    EXPECT_JSON_FAIL("tuple<int, int>", "[1]", "expected 2 elements for tuple<int, int>, got 1");
    /* malformed bytes */
    EXPECT_DEC_FAIL("list<int>", "00000001");                 /* count 1, no element */
    EXPECT_DEC_FAIL("list<int>", "0000000100000004000000");   /* short element */
    EXPECT_DEC_FAIL("list<int>", "000000010000000400000001ff"); /* trailing byte */
    EXPECT_DEC_FAIL("list<int>", "ffffffff");                 /* negative count */
    EXPECT_DEC_FAIL("map<int, int>", "000000010000000400000001"); /* key without value */
    EXPECT_DEC_FAIL("vector<float, 2>", "3fc00000");          /* one element short */
    EXPECT_DEC_FAIL("vector<text, 2>", "0161ff");             /* vint longer than the rest */
    EXPECT_DEC_FAIL("vector<text, 1>", "016100");             /* trailing */
    EXPECT_DEC("list<int>", "", "null");
}

static void test_depth_limits(void **state)
{
    (void)state;
    /* 40 nested list types is past the limit of 32. */
    char ty_text[512] = "";
    for (int i = 0; i < 40; i++)
        strcat(ty_text, "list<");
    strcat(ty_text, "int");
    for (int i = 0; i < 40; i++)
        strcat(ty_text, ">");
    cql_error err;
    assert_null(cql_type_parse(ty_text, &err));
    assert_non_null(strstr(err.msg, "bad CQL type"));

    /* The same through wire metadata: 40 x list header, then int. */
    uint8_t opt[82];
    for (int i = 0; i < 40; i++)
        opt[2 * i] = 0x00, opt[2 * i + 1] = 0x20;
    opt[80] = 0x00, opt[81] = 0x09;
    cs_rd r;
    cs_rd_init(&r, opt, sizeof opt);
    assert_null(cql_type_read_option(&r, &err));
    assert_int_equal(err.code, CQL_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "nested"));

    /* 15 frozen<list<>> levels (frozen<> counts as one too) are fine and round-trip a value. */
    char t15[512] = "", v15[64] = "", c15[64] = "";
    for (int i = 0; i < 15; i++)
        strcat(t15, "frozen<list<");
    strcat(t15, "int");
    for (int i = 0; i < 15; i++)
        strcat(t15, ">>");
    for (int i = 0; i < 15; i++)
        strcat(v15, "["), strcat(c15, "[");
    strcat(v15, "7"), strcat(c15, "7");
    for (int i = 0; i < 15; i++)
        strcat(v15, "]"), strcat(c15, "]");
    roundtrip(t15, v15, c15);
}

/* ---------- type trees ---------- */

static char *fmt(const cql_type *t)
{
    cs_buf b;
    cs_buf_init(&b, 4096);
    assert_int_equal(cql_type_format(t, &b), 0);
    cs_buf_put_u8(&b, 0);
    char *s = (char *)cs_buf_detach(&b, NULL);
    return s;
}

static void expect_parse_format(const char *in, const char *out)
{
    cql_type *t = ty(in);
    char *s = fmt(t);
    if (strcmp(s, out) != 0)
        fail_msg("parse/format %s: expected %s, got %s", in, out, s);
    cql_type *c = cql_type_clone(t);
    char *s2 = fmt(c);
    assert_string_equal(s, s2);
    free(s2);
    free(s);
    cql_type_free(c);
    cql_type_free(t);
}

static void test_type_text(void **state)
{
    (void)state;
    expect_parse_format("int", "int");
    expect_parse_format("VARCHAR", "text");
    expect_parse_format(" map < text , frozen < list < int > > > ", "map<text, frozen<list<int>>>");
    expect_parse_format("tuple<int, text, tuple<float>>", "tuple<int, text, tuple<float>>");
    expect_parse_format("vector<float, 3>", "vector<float, 3>");
    expect_parse_format("frozen<vector<frozen<list<int>>, 2>>", "vector<frozen<list<int>>, 2>");
    expect_parse_format("set<frozen<ks.\"My Type\">>", "set<frozen<ks.\"My Type\">>");
    expect_parse_format("Addr", "addr");
    expect_parse_format("'org.apache.cassandra.db.marshal.DurationType'", "duration");
    expect_parse_format("'com.example.Custom'", "'com.example.Custom'");
    const char *bad[] = {"list<int", "map<int>", "vector<float>", "vector<float, 0>", "list<>", "int>", "",
                         "tuple<int,>", "map<int, int, int>"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cql_error err;
        cql_type *t = cql_type_parse(bad[i], &err);
        if (t)
            fail_msg("cql_type_parse(%s) should fail", bad[i]);
        assert_non_null(strstr(err.msg, "bad CQL type"));
    }
    assert_string_equal(cql_type_name(CQL_T_BIGINT), "bigint");
    assert_null(cql_type_name(CQL_T_LIST));
}

static cql_type *opt_custom(const char *cls, cql_error *err)
{
    uint8_t buf[1024];
    size_t n = strlen(cls);
    buf[0] = 0, buf[1] = 0, buf[2] = (uint8_t)(n >> 8), buf[3] = (uint8_t)n;
    memcpy(buf + 4, cls, n);
    cs_rd r;
    cs_rd_init(&r, buf, n + 4);
    return cql_type_read_option(&r, err);
}

static void expect_custom(const char *cls, const char *cql)
{
    cql_error err;
    cql_type *t = opt_custom(cls, &err);
    if (!t)
        fail_msg("custom %s: %s", cls, err.msg);
    char *s = fmt(t);
    if (strcmp(s, cql) != 0)
        fail_msg("custom %s: expected %s, got %s", cls, cql, s);
    free(s);
    cql_type_free(t);
}

static void test_option_parsing(void **state)
{
    (void)state;
    /* map<text, list<int>>: 0x21 0x0d 0x20 0x09 */
    static const uint8_t m[] = {0x00, 0x21, 0x00, 0x0d, 0x00, 0x20, 0x00, 0x09};
    cs_rd r;
    cql_error err;
    cs_rd_init(&r, m, sizeof m);
    cql_type *t = cql_type_read_option(&r, &err);
    assert_non_null(t);
    char *s = fmt(t);
    assert_string_equal(s, "map<text, list<int>>");
    free(s);
    cql_type_free(t);
    /* every truncation of it fails cleanly */
    for (size_t n = 0; n < sizeof m; n++) {
        cs_rd_init(&r, m, n);
        assert_null(cql_type_read_option(&r, &err));
        assert_int_equal(err.code, CQL_E_PROTOCOL);
    }
    /* tuple<int, text> */
    static const uint8_t tp[] = {0x00, 0x31, 0x00, 0x02, 0x00, 0x09, 0x00, 0x0d};
    cs_rd_init(&r, tp, sizeof tp);
    t = cql_type_read_option(&r, &err);
    s = fmt(t);
    assert_string_equal(s, "tuple<int, text>");
    free(s);
    cql_type_free(t);
    for (size_t n = 0; n < sizeof tp; n++) {
        cs_rd_init(&r, tp, n);
        assert_null(cql_type_read_option(&r, &err));
    }
    /* truncated UDT, at every length */
    static const uint8_t u[] = {0x00, 0x30, 0x00, 0x02, 'k', 's', 0x00, 0x01, 'u', 0x00, 0x01,
                                0x00, 0x01, 'f', 0x00, 0x09};
    for (size_t n = 0; n < sizeof u; n++) {
        cs_rd_init(&r, u, n);
        assert_null(cql_type_read_option(&r, &err));
    }
    cs_rd_init(&r, u, sizeof u);
    t = cql_type_read_option(&r, &err);
    assert_non_null(t);
    assert_string_equal(t->field_names[0], "f");
    cql_type_free(t);
    /* unknown id */
    static const uint8_t bad[] = {0x00, 0x0a};
    cs_rd_init(&r, bad, sizeof bad);
    assert_null(cql_type_read_option(&r, &err));
    assert_non_null(strstr(err.msg, "unknown type id 0x000a"));

    /* custom types: Cassandra's marshal class names */
    expect_custom("org.apache.cassandra.db.marshal.VectorType(org.apache.cassandra.db.marshal.FloatType, 3)",
                  "vector<float, 3>");
    expect_custom("org.apache.cassandra.db.marshal.VectorType(org.apache.cassandra.db.marshal.ListType("
                  "org.apache.cassandra.db.marshal.Int32Type),2)",
                  "vector<list<int>, 2>");
    expect_custom("org.apache.cassandra.db.marshal.MapType(org.apache.cassandra.db.marshal.UTF8Type,"
                  "org.apache.cassandra.db.marshal.FrozenType(org.apache.cassandra.db.marshal.SetType("
                  "org.apache.cassandra.db.marshal.TimeUUIDType)))",
                  "map<text, frozen<set<timeuuid>>>");
    expect_custom("org.apache.cassandra.db.marshal.ReversedType(org.apache.cassandra.db.marshal.LongType)", "bigint");
    expect_custom("org.apache.cassandra.db.marshal.TupleType(org.apache.cassandra.db.marshal.ByteType,"
                  "org.apache.cassandra.db.marshal.ShortType,org.apache.cassandra.db.marshal.SimpleDateType)",
                  "tuple<tinyint, smallint, date>");
    expect_custom("org.apache.cassandra.db.marshal.UserType(ks,61646472,737472656574:org.apache.cassandra.db."
                  "marshal.UTF8Type,7a6970:org.apache.cassandra.db.marshal.Int32Type)",
                  "ks.addr");
    expect_custom("org.apache.cassandra.db.marshal.DurationType", "duration");
    expect_custom("org.apache.cassandra.db.marshal.DynamicCompositeType(a=>org.apache.cassandra.db.marshal.BytesType)",
                  "'org.apache.cassandra.db.marshal.DynamicCompositeType(a=>org.apache.cassandra.db.marshal.BytesType)'");
    t = opt_custom("org.apache.cassandra.db.marshal.UserType(ks,61646472,737472656574:org.apache.cassandra.db."
                   "marshal.UTF8Type,7a6970:org.apache.cassandra.db.marshal.Int32Type)", &err);
    assert_int_equal(t->id, CQL_T_UDT);
    assert_int_equal(t->nsub, 2);
    assert_string_equal(t->field_names[1], "zip");
    assert_int_equal(t->sub[1]->id, CQL_T_INT);
    cql_type_free(t);
    const char *bad_cls[] = {"org.apache.cassandra.db.marshal.VectorType(org.apache.cassandra.db.marshal.FloatType)",
                             "org.apache.cassandra.db.marshal.VectorType(org.apache.cassandra.db.marshal.FloatType, 0)",
                             "org.apache.cassandra.db.marshal.ListType(org.apache.cassandra.db.marshal.Int32Type",
                             "org.apache.cassandra.db.marshal.MapType(org.apache.cassandra.db.marshal.Int32Type)",
                             "org.apache.cassandra.db.marshal.UserType(ks,zz)"};
    for (size_t i = 0; i < sizeof bad_cls / sizeof bad_cls[0]; i++) {
        t = opt_custom(bad_cls[i], &err);
        if (t)
            fail_msg("custom %s should fail", bad_cls[i]);
        assert_non_null(strstr(err.msg, "custom type"));
    }
    t = ty("vector<float, 3>");
    assert_int_equal(cql_type_fixed_size(t), 12);
    cql_type_free(t);
    t = ty("vector<tinyint, 3>"); /* variable-length in Cassandra 5.0, as the server confirmed */
    assert_int_equal(cql_type_fixed_size(t), 0);
    cql_type_free(t);
}

static void test_null_unset(void **state)
{
    (void)state;
    cs_buf b;
    cs_buf_init(&b, 16);
    assert_int_equal(cql_value_put_null(&b), 0);
    assert_int_equal(cql_value_put_unset(&b), 0);
    const uint8_t want[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe};
    assert_memory_equal(b.data, want, 8);
    cs_buf_release(&b);
    /* the buffer cap is honoured and reported */
    cql_type *t = ty("text");
    cs_buf_init(&b, 6);
    cql_error err;
    assert_int_equal(cql_value_encode_text(t, "abc", 3, &b, &err), -1);
    assert_int_equal(err.code, CQL_E_NOMEM);
    assert_int_equal(b.len, 0);
    cs_buf_release(&b);
    cql_type_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integers),   cmocka_unit_test(test_varint),    cmocka_unit_test(test_decimal),
        cmocka_unit_test(test_floats),     cmocka_unit_test(test_text_types), cmocka_unit_test(test_blob_bool_uuid_inet),
        cmocka_unit_test(test_dates_times), cmocka_unit_test(test_duration),
        cmocka_unit_test(test_collections_text), cmocka_unit_test(test_udt), cmocka_unit_test(test_collections_json),
        cmocka_unit_test(test_depth_limits), cmocka_unit_test(test_type_text), cmocka_unit_test(test_option_parsing),
        cmocka_unit_test(test_null_unset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
