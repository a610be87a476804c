/* Unit tests of the JSONL file source (source_files_open "jsonl"): real
 * files read through the connector's ops. Scalars keep their exact text,
 * escapes and surrogate pairs decode, nested values become JSON, and every
 * kind of bad line becomes a row with a problem naming the line while the
 * lines around it are read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "files_harness.h"
#include "pos_harness.h"

static void read_jsonl(const char *path, const file_options *o, int batch, rows *out)
{
    read_all_kind("jsonl", path, o, batch, out);
}

static file_options with_columns(const char *const *cols, int n)
{
    file_options o;
    file_options_init(&o);
    o.columns = cols;
    o.ncolumns = n;
    return o;
}

static void test_scalars_keep_their_text(void **state)
{
    (void)state;
    const char *path = puts_("scalars.jsonl",
                             "\xEF\xBB\xBF{\"id\": 1, \"amount\": 12.50, \"big\": "
                             "123456789012345678901234567890, \"exp\": -1.5e-3, \"b\": true, "
                             "\"f\": false, \"s\": \"text\", \"n\": null}\r\n"
                             "{\"id\":2}\n");
    rows rs;
    read_jsonl(path, NULL, 100, &rs);
    assert_int_equal(rs.n, 2);
    /* columns: the keys of the sample, in order of first appearance */
    assert_val(rs.r[0], 0, "1");
    assert_val(rs.r[0], 1, "12.50");
    assert_val(rs.r[0], 2, "123456789012345678901234567890");
    assert_val(rs.r[0], 3, "-1.5e-3");
    assert_val(rs.r[0], 4, "true");
    assert_val(rs.r[0], 5, "false");
    assert_val(rs.r[0], 6, "text");
    assert_nullv(rs.r[0], 7);
    assert_int_equal(rs.r[1].pos, 2);
    assert_val(rs.r[1], 0, "2");
    for (int c = 1; c < 8; c++)
        assert_nullv(rs.r[1], c); /* absent keys are null */
    rows_free(&rs);
}

static void test_strings_escapes_and_utf8(void **state)
{
    (void)state;
    static const char *const cols[] = {"id", "s"};
    file_options o = with_columns(cols, 2);
    const char *path = puts_("strings.jsonl",
                             "{\"id\": 1, \"s\": \"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"}\n"
                             "{\"id\": 2, \"s\": \"\\u00e9\\u4e2d\\ud83d\\ude00\"}\n"
                             "{\"id\": 3, \"s\": \"\xF0\x9D\x84\x9E raw 4-byte\"}\n"
                             "{\"id\": 4, \"s\": \"nul:\\u0000:end\"}\n"
                             "{\"id\": 5, \"s\": \"\"}\n"
                             "{\"\\u0069d\": 6}\n");
    rows rs;
    read_jsonl(path, &o, 100, &rs);
    assert_int_equal(rs.n, 6);
    assert_val(rs.r[0], 1, "a\"b\\c/d\b\f\n\r\t");
    assert_val(rs.r[1], 1, "\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80");
    assert_val(rs.r[2], 1, "\xF0\x9D\x84\x9E raw 4-byte");
    assert_int_equal(rs.r[3].lens[1], 9);
    assert_memory_equal(rs.r[3].vals[1], "nul:\0:end", 9);
    assert_val(rs.r[4], 1, ""); /* empty string, not null */
    assert_val(rs.r[5], 0, "6"); /* an escaped key names its column */
    rows_free(&rs);
}

static void test_nested_values_are_json(void **state)
{
    (void)state;
    static const char *const cols[] = {"id", "l", "m"};
    file_options o = with_columns(cols, 3);
    const char *path = puts_("nested.jsonl",
                             "{\"id\": 1, \"l\": [1, \"two\", [3]], \"m\": {\"k\": {\"x\": null}}}\n"
                             "{\"id\": 2, \"l\": [], \"m\": {}}\n"
                             "{\"id\": 3, \"l\": [\"]\", \"}\", \"[{\"]}\n");
    rows rs;
    read_jsonl(path, &o, 100, &rs);
    assert_int_equal(rs.n, 3);
    assert_val(rs.r[0], 1, "json:[1,\"two\",[3]]");
    assert_val(rs.r[0], 2, "json:{\"k\":{\"x\":null}}");
    assert_val(rs.r[1], 1, "json:[]");
    assert_val(rs.r[1], 2, "json:{}");
    assert_val(rs.r[2], 1, "json:[\"]\",\"}\",\"[{\"]"); /* brackets inside strings */
    rows_free(&rs);
}

static void test_bad_lines_are_rows_with_problems(void **state)
{
    (void)state;
    static const char *const cols[] = {"id", "v"};
    file_options o = with_columns(cols, 2);
    const char *path = puts_("bad.jsonl",
                             "{\"id\": 1}\n"
                             "{\"id\": 2\n"                          /* 2 unclosed */
                             "[1, 2]\n"                              /* 3 not an object */
                             "{\"id\": 3, \"nope\": 1}\n"            /* 4 unknown key */
                             "{\"id\": 4, \"id\": 5}\n"              /* 5 repeated key */
                             "{\"id\": 01}\n"                        /* 6 leading zero */
                             "{\"id\": \"a\\x\"}\n"                  /* 7 bad escape */
                             "{\"id\": \"\\ud83d\"}\n"               /* 8 lone surrogate */
                             "{\"id\": \"\xff\"}\n"                  /* 9 invalid UTF-8 */
                             "{\"id\": \"tab\there\"}\n"             /* 10 raw control char */
                             "{\"id\": 6} trailing\n"                /* 11 text after */
                             "{\"id\": 7, \"v\": [1, }\n"            /* 12 bad nested */
                             "{id: 8}\n"                             /* 13 unquoted key */
                             "{\"id\": tru}\n"                       /* 14 bad literal */
                             "\n   \n"                               /* 15-16 blank: skipped */
                             "{\"id\": 9, \"v\": [1,]}\n"                /* 17 jansson: bad nested */
                             "{\"id\": 9}");                         /* 18, no final newline */
    rows rs;
    read_jsonl(path, &o, 4, &rs);
    assert_int_equal(rs.n, 16);
    assert_int_equal(rs.r[0].pos, 1);
    assert_null(rs.r[0].problem);
    expect_problem(&rs.r[1], 2,
                   "line 2: invalid JSON at byte 9: the object is not closed (missing '}')");
    expect_problem(&rs.r[2], 3,
                   "line 3: invalid JSON at byte 1: each line must be one JSON object ({...}), "
                   "this one starts with '['");
    expect_problem(&rs.r[3], 4, "line 4: key \"nope\" is not one of the columns given (--columns)");
    expect_problem(&rs.r[4], 5, "line 5: key \"id\" appears twice in the object");
    expect_problem(&rs.r[5], 6, "line 6: invalid JSON at byte 9: expected ',' or '}' after a value");
    expect_problem(&rs.r[6], 7, "line 7: invalid JSON at byte 10: unknown escape \\x");
    expect_problem(&rs.r[7], 8,
                   "line 8: invalid JSON at byte 9: high surrogate \\ud83d without a low "
                   "surrogate after it");
    expect_problem(&rs.r[8], 9,
                   "line 9: invalid JSON at byte 9: invalid UTF-8 in a string (byte 0xff)");
    expect_problem(&rs.r[9], 10,
                   "line 10: invalid JSON at byte 12: control character 0x09 inside a string "
                   "(escape it)");
    expect_problem(&rs.r[10], 11, "line 11: invalid JSON at byte 11: text after the object");
    expect_problem(&rs.r[11], 12,
                   "line 12: invalid JSON at byte 20: '}' does not close the '[' before it");
    expect_problem(&rs.r[12], 13, "line 13: invalid JSON at byte 2: expected a key in double quotes");
    expect_problem(&rs.r[13], 14,
                   "line 14: invalid JSON at byte 8: expected a value (string, number, true, "
                   "false, null, array or object)");
    assert_int_equal(rs.r[14].pos, 17);
    assert_non_null(strstr(rs.r[14].problem, "line 17: invalid JSON in the value of \"v\": "));
    assert_int_equal(rs.r[15].pos, 18);
    assert_val(rs.r[15], 0, "9");
    /* the raw text of a bad line goes to the reject file */
    assert_string_equal(rs.r[3].raw, "{\"id\": 3, \"nope\": 1}");
    rows_free(&rs);
}

static void test_columns_from_the_sample(void **state)
{
    (void)state;
    /* keys beyond the first line still become columns; a bad line in the
     * sample is ignored there and rejected when read */
    const char *path = puts_("sample.jsonl",
                             "{\"a\": 1}\n"
                             "not json\n"
                             "{\"b\": 2, \"a\": 3}\n");
    source *s = open_files("jsonl", path, NULL);
    source_error err;
    const source_schema *sch = s->ops->describe(s, &err);
    assert_int_equal(sch->tables[0].ncols, 2);
    assert_string_equal(sch->tables[0].cols[0].name, "a");
    assert_string_equal(sch->tables[0].cols[1].name, "b");
    s->ops->close(s);
    rows rs;
    read_jsonl(path, NULL, 10, &rs);
    assert_int_equal(rs.n, 3);
    assert_non_null(rs.r[1].problem);
    assert_val(rs.r[2], 0, "3");
    assert_val(rs.r[2], 1, "2");
    rows_free(&rs);

    /* no object at all: the columns cannot be told */
    path = puts_("empty.jsonl", "\n\n");
    assert_null(source_files_open("jsonl", path, "t", NULL, &err));
    assert_non_null(strstr(err.msg, "--columns"));
}

static void test_long_lines_and_resume(void **state)
{
    (void)state;
    static const char *const cols[] = {"id", "s"};
    file_options o = with_columns(cols, 2);
    o.max_field = 64 * 1024;
    size_t big = 200 * 1024;
    size_t cap = big + 4096;
    char *data = malloc(cap);
    size_t n = (size_t)snprintf(data, cap, "{\"id\": 1, \"s\": \"short\"}\n{\"id\": 2, \"s\": \"");
    memset(data + n, 'x', big);
    n += big;
    n += (size_t)snprintf(data + n, cap - n, "\"}\n{\"id\": 3, \"s\": \"after\"}\n");
    const char *path = put("long.jsonl", data, n);
    free(data);
    rows rs;
    read_jsonl(path, &o, 1, &rs);
    assert_int_equal(rs.n, 3);
    assert_val(rs.r[0], 1, "short");
    assert_int_equal(rs.r[1].pos, 2);
    assert_non_null(strstr(rs.r[1].problem, "longer than 65536 bytes"));
    assert_true(strlen(rs.r[1].raw) <= 1024);
    assert_val(rs.r[2], 1, "after");
    assert_int_equal(rs.r[2].pos, 3);
    /* resuming after each batch's resume point reads exactly the rest */
    for (int b = 0; b < rs.nb; b++) {
        source *s = open_files("jsonl", path, &o);
        rows rest;
        source_error err;
        assert_int_equal(read_range(s, 0, rs.resume[b], 1, &rest, &err), 0);
        assert_int_equal(rest.n, rs.n - rs.batch_end[b]);
        if (rest.n)
            assert_int_equal(rest.r[0].pos, rs.r[rs.batch_end[b]].pos);
        rows_free(&rest);
        s->ops->close(s);
    }
    rows_free(&rs);
}

/* Found by fuzz_files: an empty key as the first key of a reader. */
static void test_empty_key(void **state)
{
    (void)state;
    static const char *const cols[] = {"id"};
    file_options o = with_columns(cols, 1);
    const char *path = puts_("emptykey.jsonl", "{\"\": 1}\n{\"id\": 2}\n");
    rows rs;
    read_jsonl(path, &o, 10, &rs);
    assert_int_equal(rs.n, 2);
    expect_problem(&rs.r[0], 1, "line 1: key \"\" is not one of the columns given (--columns)");
    assert_val(rs.r[1], 0, "2");
    rows_free(&rs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars_keep_their_text),
        cmocka_unit_test(test_strings_escapes_and_utf8),
        cmocka_unit_test(test_nested_values_are_json),
        cmocka_unit_test(test_bad_lines_are_rows_with_problems),
        cmocka_unit_test(test_columns_from_the_sample),
        cmocka_unit_test(test_long_lines_and_resume),
        cmocka_unit_test(test_empty_key),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
