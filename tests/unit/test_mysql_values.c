/* The MySQL/MariaDB connector's value decoders and key tuples, without a
 * server: text-protocol fields of every kind (edges, zero dates, TIME out
 * of Cassandra's range, sets), key tuple encoding, and the SQL literals and
 * row-comparison predicates built from them (escaping included). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "source/my_int.h"

static arena A;

static src_value dec(my_vk vk, const char *text)
{
    src_value v;
    memset(&v, 0, sizeof v);
    assert_int_equal(my_decode(vk, text, text ? strlen(text) : 0, &v, &A), 0);
    return v;
}

static void assert_bad(my_vk vk, const char *text, const char *reason_part)
{
    src_value v = dec(vk, text);
    assert_int_equal(v.kind, SV_BAD);
    char buf[400];
    snprintf(buf, sizeof buf, "%.*s", (int)v.u.s.n, v.u.s.p);
    if (!strstr(buf, reason_part))
        fail_msg("reason '%s' lacks '%s'", buf, reason_part);
}

static void test_integers(void **state)
{
    (void)state;
    assert_int_equal(dec(MYV_INT, NULL).kind, SV_NULL);
    src_value v = dec(MYV_INT, "-9223372036854775808");
    assert_int_equal(v.kind, SV_INT);
    assert_true(v.u.i == INT64_MIN);
    assert_true(dec(MYV_INT, "9223372036854775807").u.i == INT64_MAX);
    assert_int_equal(dec(MYV_INT, "9223372036854775808").kind, SV_BAD);
    v = dec(MYV_UINT64, "18446744073709551615");
    assert_int_equal(v.kind, SV_UINT);
    assert_true(v.u.u == UINT64_MAX);
    assert_int_equal(dec(MYV_UINT64, "18446744073709551616").kind, SV_BAD);
    v = dec(MYV_BOOL, "1");
    assert_int_equal(v.kind, SV_BOOL);
    assert_int_equal(v.u.i, 1);
    assert_int_equal(dec(MYV_BOOL, "0").u.i, 0);
    assert_bad(MYV_BOOL, "-1", "tinyint(1) value -1 is not a boolean");
    v = dec(MYV_BIT_BOOL, "\x01");
    assert_int_equal(v.kind, SV_BOOL);
    assert_int_equal(v.u.i, 1);
}

static void test_numbers(void **state)
{
    (void)state;
    src_value v = dec(MYV_DECIMAL, "-12345678901234567890123456789012345.123456789012345678901234567890");
    assert_int_equal(v.kind, SV_DECIMAL);
    assert_int_equal(v.u.s.n, 67);
    v = dec(MYV_DOUBLE, "5e-324");
    assert_int_equal(v.kind, SV_DOUBLE);
    assert_true(v.u.d == 5e-324);
    assert_true(dec(MYV_DOUBLE, "0.30000000000000004").u.d == 0.1 + 0.2);
    /* a FLOAT arrives as its exact double (selected as f * 1e0) */
    assert_true(dec(MYV_FLOAT, "3.140000104904175").u.d == (double)3.14f);
    assert_int_equal(dec(MYV_DOUBLE, "1.5x").kind, SV_BAD);
}

static void test_temporal(void **state)
{
    (void)state;
    src_value v = dec(MYV_DATE, "1970-01-01");
    assert_int_equal(v.kind, SV_DATE);
    assert_int_equal(v.u.i, 0);
    assert_int_equal(dec(MYV_DATE, "2024-02-29").u.i, 19782);
    assert_int_equal(dec(MYV_DATE, "1969-12-31").u.i, -1);
    assert_int_equal(dec(MYV_DATE, "0000-01-01").u.i, -719528);
    assert_bad(MYV_DATE, "0000-00-00", "zero date '0000-00-00'");
    assert_bad(MYV_DATE, "2024-00-10", "zero date '2024-00-10'");
    assert_bad(MYV_DATE, "2024-05-00", "zero date");
    assert_bad(MYV_DATE, "2023-02-29", "invalid date");
    v = dec(MYV_DATETIME, "2024-01-02 03:04:05.123456");
    assert_int_equal(v.kind, SV_TIMESTAMP);
    assert_true(v.u.i == 1704164645123456LL);
    assert_true(dec(MYV_DATETIME, "1969-12-31 23:59:59.5").u.i == -500000);
    assert_true(dec(MYV_DATETIME, "9999-12-31 23:59:59").u.i == 253402300799000000LL);
    assert_bad(MYV_DATETIME, "0000-00-00 00:00:00", "zero date");
    v = dec(MYV_TIME, "23:59:59.999999");
    assert_int_equal(v.kind, SV_TIME);
    assert_true(v.u.i == 86399999999000LL);
    assert_int_equal(dec(MYV_TIME, "00:00:00").u.i, 0);
    assert_int_equal(dec(MYV_TIME, "-00:00:00").kind, SV_TIME);
    assert_bad(MYV_TIME, "-00:00:01", "is negative");
    assert_bad(MYV_TIME, "24:00:00", "24 hours or more");
    assert_bad(MYV_TIME, "838:59:59.000000", "24 hours or more");
}

static void test_strings_and_sets(void **state)
{
    (void)state;
    src_value v = dec(MYV_TEXT, "h\xc3\xa9llo");
    assert_int_equal(v.kind, SV_TEXT);
    assert_int_equal(v.u.s.n, 6);
    v = dec(MYV_TEXT, "");
    assert_int_equal(v.kind, SV_TEXT);
    assert_int_equal(v.u.s.n, 0);
    v = dec(MYV_SET, "x,yy,z");
    assert_int_equal(v.kind, SV_LIST);
    assert_int_equal(v.u.list.n, 3);
    assert_int_equal(v.u.list.v[1].u.s.n, 2);
    assert_memory_equal(v.u.list.v[1].u.s.p, "yy", 2);
    v = dec(MYV_SET, "");
    assert_int_equal(v.kind, SV_LIST);
    assert_int_equal(v.u.list.n, 0);
    v = dec(MYV_UUID_TEXT, "123e4567-e89b-12d3-a456-426614174000");
    assert_int_equal(v.kind, SV_UUID);
    assert_memory_equal(v.u.s.p, "\x12\x3e\x45\x67\xe8\x9b\x12\xd3\xa4\x56\x42\x66\x14\x17\x40\x00",
                        16);
    v = dec(MYV_INET_TEXT, "::1");
    assert_int_equal(v.kind, SV_INET);
    assert_int_equal(v.u.s.n, 16);
    assert_int_equal(dec(MYV_INET_TEXT, "10.1.2.3").u.s.n, 4);
    src_value b;
    assert_int_equal(my_decode(MYV_UUID_BIN, "0123456789abcdef", 16, &b, &A), 0);
    assert_int_equal(b.kind, SV_UUID);
    assert_int_equal(my_decode(MYV_UUID_BIN, "0123", 4, &b, &A), 0);
    assert_int_equal(b.kind, SV_BAD);
}

static void test_key_tuples(void **state)
{
    (void)state;
    src_pos p = {0};
    const char *in[3] = {"42", "a'b\\c", "\x00\xff"};
    unsigned long len[3] = {2, 5, 2};
    assert_int_equal(my_key_encode(&p, in, len, 3), 0);
    const char *out[4];
    unsigned long ol[4];
    int n = 0;
    assert_int_equal(my_key_decode(&p, out, ol, 4, &n), 0);
    assert_int_equal(n, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ol[i], len[i]);
        assert_memory_equal(out[i], in[i], len[i]);
    }
    /* too many values for the key, truncated or trailing bytes: refused */
    assert_int_equal(my_key_decode(&p, out, ol, 2, &n), -1);
    src_pos q = {0};
    assert_int_equal(src_pos_set(&q, p.p, p.n - 1), 0);
    assert_int_equal(my_key_decode(&q, out, ol, 4, &n), -1);
    assert_int_equal(src_pos_set_i64(&q, 7), 0);     /* a SQLite-style bound */
    assert_int_equal(my_key_decode(&q, out, ol, 4, &n), -1);
    src_pos_free(&q);
    assert_int_equal(my_key_decode(&p, out, ol, 4, &n), 0);   /* out pointed into q */

    /* literals and the row comparison, escaped */
    MYSQL *db = mysql_init(NULL);
    assert_non_null(db);
    source_column cols[3];
    memset(cols, 0, sizeof cols);
    cols[0].name = "id";
    cols[1].name = "na`me";
    cols[2].name = "bin";
    source_table tb = {.name = "t", .ncols = 3, .cols = cols, .npk = 3};
    my_vk vk[3] = {MYV_INT, MYV_TEXT, MYV_BYTES};
    int kc[3] = {0, 1, 2};
    my_table_info ti = {.vk = vk, .nkey = 3, .key_cols = kc, .keyset = 1};
    cs_buf sql;
    cs_buf_init(&sql, 1 << 20);
    assert_int_equal(my_key_predicate(db, &sql, &tb, &ti, 1, out, ol, 3), 0);
    assert_int_equal(cs_buf_append(&sql, "", 1), 0);
    assert_string_equal((const char *)sql.data,
                        "(`id` > 42 OR (`id` = 42 AND (`na``me` > 'a\\'b\\\\c' OR (`na``me` = "
                        "'a\\'b\\\\c' AND `bin` > X'00ff'))))");
    cs_buf_reset(&sql);
    assert_int_equal(my_key_predicate(db, &sql, &tb, &ti, 0, out, ol, 1), 0);
    assert_int_equal(cs_buf_append(&sql, "", 1), 0);
    assert_string_equal((const char *)sql.data, "`id` <= 42");
    /* a number literal that is not one (a tampered state file) */
    cs_buf_reset(&sql);
    assert_int_equal(my_key_literal(db, &sql, MYV_INT, "1 OR 1=1", 8), -1);
    assert_int_equal(my_key_literal(db, &sql, MYV_DECIMAL, "-1.50", 5), 0);
    assert_false(my_vk_keyset(MYV_FLOAT));
    assert_false(my_vk_keyset(MYV_SET));
    assert_true(my_vk_keyset(MYV_DATETIME));
    cs_buf_release(&sql);
    mysql_close(db);
    src_pos_free(&p);
}

static void test_days_from_civil(void **state)
{
    (void)state;
    assert_int_equal(my_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(my_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(my_days_from_civil(1, 1, 1), -719162);
    assert_int_equal(my_days_from_civil(9999, 12, 31), 2932896);
}

int main(void)
{
    arena_init(&A, 4096);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_temporal),
        cmocka_unit_test(test_strings_and_sets),
        cmocka_unit_test(test_key_tuples),
        cmocka_unit_test(test_days_from_civil),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    arena_release(&A);
    return rc;
}
