/* Mapping expressions (src/map/expr.h): compile errors with their offsets,
 * every function, null handling, run-time errors, static types,
 * map_type_fits, and a 100k-row evaluation loop over one arena. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "load/loader.h"
#include "map/expr.h"

enum { C_ALBUMID, C_TITLE, C_ODD, C_PRICE, C_RATIO, C_CREATED, C_DATA, C_DOC, C_FLAG, C_BIG,
       C_DAY, C_ID, C_NAME1, C_NAME2, C_BAD, C_NUL, C_JTEXT, C_SHORT, C_DT, NC };

static const char *const names[NC] = {
    "AlbumId", "Title", "Odd Name", "Price", "Ratio", "Created", "Data", "Doc", "Flag", "Big",
    "Day", "Id", "Name", "NAME", "Geom", "Nothing", "JText", "Short", "InvoiceDate"};
static const map_type types[NC] = {
    MT_INT, MT_TEXT, MT_TEXT, MT_DECIMAL, MT_DOUBLE, MT_TIMESTAMP, MT_BLOB, MT_JSON, MT_BOOL,
    MT_UINT, MT_DATE, MT_UUID, MT_TEXT, MT_TEXT, MT_UNSUPPORTED, MT_TEXT, MT_TEXT, MT_BLOB,
    MT_TIMESTAMP};
static const map_env env = {NC, names, types};

static src_value row[NC];
static json_t *doc;
static const uint8_t bytes16[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                    0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
static arena mem;

static src_value text(const char *s)
{
    src_value v = {.kind = SV_TEXT};
    v.u.s.p = s;
    v.u.s.n = strlen(s);
    return v;
}

static int setup(void **ts)
{
    (void)ts;
    arena_init(&mem, 4096);
    doc = json_loads("{\"a\": {\"b\": [1, \"x\", {\"c\": null}]}, \"odd key\": true}", 0, NULL);
    assert_non_null(doc);
    memset(row, 0, sizeof row);
    row[C_ALBUMID] = (src_value){.kind = SV_INT, .u.i = 7};
    row[C_TITLE] = text("Hello World");
    row[C_ODD] = text("odd");
    row[C_PRICE] = (src_value){.kind = SV_DECIMAL, .u.s = {"12.50", 5}};
    row[C_RATIO] = (src_value){.kind = SV_DOUBLE, .u.d = 0.25};
    row[C_CREATED] = (src_value){.kind = SV_TIMESTAMP, .u.i = 1700000000000000LL};
    row[C_DATA] = (src_value){.kind = SV_BLOB, .u.s = {(const char *)bytes16, 16}};
    row[C_DOC] = (src_value){.kind = SV_JSON, .u.j = doc};
    row[C_FLAG] = (src_value){.kind = SV_BOOL, .u.i = 1};
    row[C_BIG] = (src_value){.kind = SV_UINT, .u.u = UINT64_C(9223372036854775813)};
    row[C_DAY] = (src_value){.kind = SV_DATE, .u.i = 19000};
    row[C_ID] = (src_value){.kind = SV_UUID, .u.s = {(const char *)bytes16, 16}};
    row[C_NAME1] = text("n1");
    row[C_NAME2] = text("n2");
    row[C_NUL] = (src_value){.kind = SV_NULL};
    row[C_JTEXT] = text("{\"k\": [10, 20], \"s\": \"v\\u00e9\"}");
    row[C_SHORT] = (src_value){.kind = SV_BLOB, .u.s = {(const char *)bytes16, 15}};
    row[C_DT] = text("2009-01-02 00:00:00");   /* SQLite DATETIME: text */
    return 0;
}

static int teardown(void **ts)
{
    (void)ts;
    json_decref(doc);
    arena_release(&mem);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------ */

static map_expr *compile_ok(const char *text, map_type *t)
{
    map_error err;
    map_expr *e = map_expr_compile(text, &env, t, &err);
    if (!e)
        fail_msg("%s: did not compile: at %d: %s", text, err.offset, err.msg);
    return e;
}

static void check_type(const char *text, map_type want)
{
    map_type t;
    map_expr *e = compile_ok(text, &t);
    if (t != want)
        fail_msg("%s: type %s, want %s", text, map_type_name(t), map_type_name(want));
    map_expr_free(e);
}

/* A compile error at offset `off` whose sentence contains `part`. */
static void check_err(const char *text, int off, const char *part)
{
    map_error err;
    map_type t;
    map_expr *e = map_expr_compile(text, &env, &t, &err);
    if (e) {
        map_expr_free(e);
        fail_msg("%s: compiled, want an error at %d (%s)", text, off, part);
    }
    if (err.offset != off || !strstr(err.msg, part))
        fail_msg("%s: error at %d: %s\nwant at %d: ...%s...", text, err.offset, err.msg, off, part);
}

/* Evaluate against the row: "NULL", "ERR: sentence" or the value's text
 * form, with the kind checked when want_kind >= 0. */
static const char *eval_kind(const char *text, int want_kind)
{
    static char out[1024];
    map_expr *e = compile_ok(text, NULL);
    src_value v;
    map_error err;
    if (map_expr_eval(e, row, &mem, &v, &err)) {
        snprintf(out, sizeof out, "ERR: %s", err.msg);
    } else if (v.kind == SV_NULL) {
        snprintf(out, sizeof out, "NULL");
    } else {
        cs_buf b;
        cs_buf_init(&b, 1 << 20);
        assert_int_equal(load_value_text(&v, &b), 0);
        snprintf(out, sizeof out, "%.*s", (int)b.len, b.len ? (const char *)b.data : "");
        cs_buf_release(&b);
        if (want_kind >= 0 && (int)v.kind != want_kind)
            fail_msg("%s: kind %d, want %d (%s)", text, (int)v.kind, want_kind, out);
    }
    map_expr_free(e);
    return out;
}

static void check_eval(const char *text, const char *want)
{
    const char *got = eval_kind(text, -1);
    if (strcmp(got, want))
        fail_msg("%s: got [%s], want [%s]", text, got, want);
}

static void check_evalk(const char *text, int kind, const char *want)
{
    const char *got = eval_kind(text, kind);
    if (strcmp(got, want))
        fail_msg("%s: got [%s], want [%s]", text, got, want);
}

/* A run-time error whose sentence contains part. */
static void check_rt(const char *text, const char *part)
{
    const char *got = eval_kind(text, -1);
    if (strncmp(got, "ERR: ", 5) || !strstr(got, part))
        fail_msg("%s: got [%s], want an error with ...%s...", text, got, part);
}

/* ---- columns and literals --------------------------------------------------------- */

static void test_column_exact(void **ts)
{
    (void)ts;
    map_type t;
    map_expr *e = compile_ok("AlbumId", &t);
    assert_int_equal(map_expr_column(e), C_ALBUMID);
    assert_int_equal(t, MT_INT);
    assert_int_equal(map_expr_is_constant(e), 0);
    map_expr_free(e);
    e = compile_ok("  Title  ", &t);
    assert_int_equal(map_expr_column(e), C_TITLE);
    assert_int_equal(t, MT_TEXT);
    map_expr_free(e);
    /* a column's value comes back as the row has it */
    check_evalk("AlbumId", SV_INT, "7");
    check_evalk("Price", SV_DECIMAL, "12.50");
}

static void test_column_case_insensitive(void **ts)
{
    (void)ts;
    map_expr *e = compile_ok("albumid", NULL);
    assert_int_equal(map_expr_column(e), C_ALBUMID);
    map_expr_free(e);
    e = compile_ok("TITLE", NULL);
    assert_int_equal(map_expr_column(e), C_TITLE);
    map_expr_free(e);
    /* exact wins over a case-insensitive match */
    e = compile_ok("NAME", NULL);
    assert_int_equal(map_expr_column(e), C_NAME2);
    map_expr_free(e);
}

static void test_column_ambiguous(void **ts)
{
    (void)ts;
    check_err("name", 0, "matches more than one column when case is ignored (Name, NAME");
    check_err("lower(nAmE)", 6, "more than one column");
}

static void test_quoted_identifier(void **ts)
{
    (void)ts;
    map_expr *e = compile_ok("\"Odd Name\"", NULL);
    assert_int_equal(map_expr_column(e), C_ODD);
    map_expr_free(e);
    check_eval("upper(\"Odd Name\")", "ODD");
    check_err("\"odd name\"", 0,
              "a double-quoted name matches exactly); did you mean \"Odd Name\"");
    check_err("Title || \"Odd", 9, "no closing double quote");
    check_err("\"\"", 0, "empty name");
}

static void test_unknown_column_suggests(void **ts)
{
    (void)ts;
    check_err("Titel", 0, "unknown column \"Titel\"; did you mean Title?");
    check_err("'a' || AlbumIds", 7, "did you mean AlbumId?");
}

static void test_unknown_column_lists(void **ts)
{
    (void)ts;
    check_err("zzzzzz", 0, "the source table's columns are: AlbumId, Title, Odd Name");
}

static void test_unsupported_column(void **ts)
{
    (void)ts;
    check_err("coalesce(Geom, 'x')", 9, "column Geom has a source type cqlshift cannot copy");
}

static void test_text_literal(void **ts)
{
    (void)ts;
    check_evalk("'it''s'", SV_TEXT, "it's");
    check_evalk("''", SV_TEXT, "");
    check_type("'x'", MT_TEXT);
    map_expr *e = compile_ok("'abc'", NULL);
    assert_int_equal(map_expr_is_constant(e), 1);
    assert_int_equal(map_expr_column(e), -1);
    src_value v;
    map_error err;
    assert_int_equal(map_expr_eval(e, NULL, &mem, &v, &err), 0);  /* constants need no row */
    assert_int_equal(v.u.s.n, 3);
    map_expr_free(e);
}

static void test_unterminated_string(void **ts)
{
    (void)ts;
    check_err("lower('abc)", 6, "has no closing quote");
}

static void test_integer_literals(void **ts)
{
    (void)ts;
    check_evalk("42", SV_INT, "42");
    check_evalk("-1", SV_INT, "-1");
    check_evalk("-9223372036854775808", SV_INT, "-9223372036854775808");
    check_evalk("9223372036854775808", SV_DECIMAL, "9223372036854775808");
    check_type("42", MT_INT);
    check_type("99999999999999999999999", MT_DECIMAL);
}

static void test_decimal_literals(void **ts)
{
    (void)ts;
    check_evalk("-1.5", SV_DECIMAL, "-1.5");
    check_evalk("2.5e3", SV_DECIMAL, "2500");
    check_evalk("1.250", SV_DECIMAL, "1.25");
    check_evalk("0.000", SV_DECIMAL, "0");
    check_evalk("1e-3", SV_DECIMAL, "0.001");
    check_type("1.5", MT_DECIMAL);
}

static void test_bool_null_literals(void **ts)
{
    (void)ts;
    check_evalk("true", SV_BOOL, "true");
    check_evalk("FALSE", SV_BOOL, "false");
    check_eval("null", "NULL");
    check_type("null", MT_NULL);
}

static void test_bad_number(void **ts)
{
    (void)ts;
    check_err("AlbumId + 12abc", 10, "'12abc' is not a number");
    check_err("1.2.3", 0, "is not a number");
}

static void test_trailing_garbage(void **ts)
{
    (void)ts;
    check_err("Title Title", 6, "unexpected 'Title' after the end of the expression (a missing "
                                "operator or comma?)");
    check_err("lower(Title))", 12, "a ')' without its '('");
    check_err("1 2", 2, "after the end");
}

static void test_unbalanced_parens(void **ts)
{
    (void)ts;
    check_err("lower(Title", 11, "expected ',' or ')' in the arguments of lower, found the end");
    check_err("(1 + 2", 6, "expected ')' to close the '(' at offset 0");
    check_err("lower(", 6, "ends where a value was expected");
}

static void test_empty_and_bad_characters(void **ts)
{
    (void)ts;
    check_err("", 0, "the expression is empty");
    check_err("   ", 3 - 3, "empty");
    check_err("Title | 'x'", 6, "concatenation is written ||");
    check_err("Title # 1", 6, "unexpected character '#'");
    check_err("`Title`", 0, "quote a column name with double quotes");
}

static void test_keyword_as_value(void **ts)
{
    (void)ts;
    check_err("and", 0, "found the keyword 'and'");
    check_err("1 + or", 4, "keyword 'or'");
}

static void test_deep_nesting(void **ts)
{
    (void)ts;
    char buf[1200];
    size_t o = 0;
    for (int i = 0; i < 300; i++)
        buf[o++] = '(';
    buf[o++] = '1';
    for (int i = 0; i < 300; i++)
        buf[o++] = ')';
    buf[o] = 0;
    map_error err;
    assert_null(map_expr_compile(buf, &env, NULL, &err));
    assert_non_null(strstr(err.msg, "nests too deeply"));
}

/* ---- operators ------------------------------------------------------------------- */

static void test_concat(void **ts)
{
    (void)ts;
    check_evalk("'album-' || AlbumId", SV_TEXT, "album-7");
    check_eval("Title || ' (' || Price || ')'", "Hello World (12.50)");
    check_eval("'r=' || Ratio || ', f=' || Flag", "r=0.25, f=true");
    check_eval("Created || ''", "2023-11-14T22:13:20Z");
    check_eval("Data || ''", "0x00112233445566778899aabbccddeeff");
    check_eval("Id || ''", "00112233-4455-6677-8899-aabbccddeeff");
    check_eval("Day || ''", "2022-01-08");
    check_type("AlbumId || Title", MT_TEXT);
}

static void test_concat_null(void **ts)
{
    (void)ts;
    check_eval("'a' || Nothing || 'b'", "NULL");
    check_eval("'a' || null", "NULL");
    check_eval("'a' || coalesce(Nothing, '') || 'b'", "ab");
}

static void test_comparisons(void **ts)
{
    (void)ts;
    check_evalk("AlbumId = 7", SV_BOOL, "true");
    check_eval("AlbumId <> 7", "false");
    check_eval("AlbumId != 8", "true");
    check_eval("AlbumId < 8 and AlbumId <= 7 and AlbumId > 6 and AlbumId >= 7", "true");
    check_eval("Price > 12.4", "true");
    check_eval("Price = 12.5", "true");        /* decimals compare by value */
    check_eval("Price < 13", "true");
    check_eval("Ratio < 0.3", "true");
    check_eval("Big > AlbumId", "true");
    check_eval("Title = 'Hello World'", "true");
    check_eval("Title < 'Hello Xorld'", "true");
    check_eval("Flag = true", "true");
    check_type("AlbumId = 1", MT_BOOL);
}

static void test_comparison_null(void **ts)
{
    (void)ts;
    check_eval("Nothing = 'x'", "NULL");
    check_eval("AlbumId = null", "NULL");
    check_eval("not (Nothing = 'x')", "NULL");
}

static void test_comparison_types(void **ts)
{
    (void)ts;
    check_err("Title = 1", 6, "cannot compare text with int; cast one side");
    check_err("Doc = 'x'", 4, "json values cannot be compared");
    check_err("1 < 2 < 3", 6, "comparisons do not chain");
    /* a text literal next to a typed value is read as that type, once */
    check_eval("Created > '2023-01-01T00:00:00Z'", "true");
    check_eval("Day = '2022-01-08'", "true");
    check_eval("Id = '00112233-4455-6677-8899-aabbccddeeff'", "true");
    check_err("Created > 'yesterday'", 10, "cannot cast 'yesterday' to timestamp");
}

static void test_comparison_runtime_kinds(void **ts)
{
    (void)ts;
    /* SQLite keeps DATETIME as text: it is read as a timestamp to compare */
    check_eval("InvoiceDate < to_timestamp('2010-01-01', 'yyyy-MM-dd', 'UTC')", "true");
    check_eval("InvoiceDate > Created", "false");
    row[C_DT] = text("soon");
    check_rt("InvoiceDate > Created", "cannot compare");
    row[C_DT] = text("2009-01-02 00:00:00");
    /* an INTEGER column holding text, compared with a number */
    row[C_ALBUMID] = text("12");
    check_eval("AlbumId > 9", "true");
    row[C_ALBUMID] = text("x");
    check_rt("AlbumId > 9", "'x' is not a number");
    row[C_ALBUMID] = (src_value){.kind = SV_INT, .u.i = 7};
}

static void test_logic_three_valued(void **ts)
{
    (void)ts;
    check_eval("true and null", "NULL");
    check_eval("false and null", "false");
    check_eval("true or null", "true");
    check_eval("false or null", "NULL");
    check_eval("not false", "true");
    check_eval("not null", "NULL");
    check_eval("AlbumId = 7 or Title = 'x' and false", "true");   /* and binds tighter */
    check_eval("(AlbumId = 7 or Title = 'x') and false", "false");
    /* SQLite has no booleans: 0/1 in a BOOLEAN column */
    row[C_FLAG] = (src_value){.kind = SV_INT, .u.i = 0};
    check_eval("not Flag", "true");
    check_eval("Flag = false", "true");
    row[C_FLAG] = (src_value){.kind = SV_BOOL, .u.i = 1};
}

static void test_logic_types(void **ts)
{
    (void)ts;
    check_err("not Title", 4, "not takes true/false values, and Title is text; compare it");
    check_err("AlbumId = 1 and Title", 16, "and takes true/false values, and Title is text");
    check_err("1 or true", 0, "or takes true/false values, and this is int");
}

static void test_is_null(void **ts)
{
    (void)ts;
    check_eval("Nothing is null", "true");
    check_eval("Nothing is not null", "false");
    check_eval("Title IS NOT NULL", "true");
    check_eval("null is null", "true");
    check_eval("lower(Nothing) is null", "true");
    check_err("Title is 'x'", 9, "expected null after 'is'");
    check_err("Title is not 3", 13, "expected null after 'is not'");
}

static void test_arithmetic(void **ts)
{
    (void)ts;
    check_evalk("AlbumId + 1", SV_INT, "8");
    check_eval("1 + 2 * 3", "7");
    check_eval("(1 + 2) * 3", "9");
    check_eval("7 / 2", "3");                  /* integer division truncates */
    check_eval("-7 / 2", "-3");
    check_eval("AlbumId - 10", "-3");
    check_eval("-AlbumId", "-7");
    check_evalk("AlbumId * 1.5", SV_DOUBLE, "10.5");
    check_evalk("Ratio * 2", SV_DOUBLE, "0.5");
}

static void test_arithmetic_fixed(void **ts)
{
    (void)ts;
    check_eval("AlbumId + null", "NULL");
    check_type("AlbumId + 1", MT_INT);
    check_type("AlbumId + Ratio", MT_DOUBLE);
    check_type("AlbumId * 1.5", MT_DOUBLE);
}

static void test_arithmetic_errors(void **ts)
{
    (void)ts;
    check_err("Price * 2", 0, "arithmetic on decimal values is not supported");
    check_err("Title + 1", 0, "+ takes numbers, and Title is text; write cast(... as bigint)");
    check_err("-Title", 0, "unary - takes a number");
    check_rt("AlbumId / 0", "division by zero");
    check_rt("9223372036854775807 + AlbumId", "beyond the 64-bit integer range");
    check_rt("Ratio / 0", "division by zero");
}

/* ---- functions ------------------------------------------------------------------- */

static void test_unknown_function(void **ts)
{
    (void)ts;
    check_err("'a' || lowercase(Title)", 7, "unknown function 'lowercase'; the functions are: "
                                            "lower, upper, trim, coalesce, cast, to_timestamp, "
                                            "from_epoch, uuid_from_bytes, name_uuid, json_path, unix_time");
}

static void test_arity(void **ts)
{
    (void)ts;
    check_err("lower(Title, 'x')", 0, "lower takes 1 argument (lower(text)), and 2 are given");
    check_err("lower()", 0, "and 0 are given");
    check_err("coalesce(Title)", 0, "coalesce takes at least 2 arguments");
    check_err("to_timestamp(Title, 'yyyy')", 0, "to_timestamp takes 3 arguments");
    check_err("name_uuid()", 0, "name_uuid takes at least 1 argument");
}

static void test_lower_upper_ascii(void **ts)
{
    (void)ts;
    check_evalk("lower(Title)", SV_TEXT, "hello world");
    check_eval("upper(Title)", "HELLO WORLD");
    check_eval("UPPER('abc-123_x')", "ABC-123_X");
    check_eval("lower(Nothing)", "NULL");
}

static void test_lower_upper_utf8(void **ts)
{
    (void)ts;
    check_eval("lower('ÉCOLE Ärger ΣΟΦΊΑ Москва')", "école ärger σοφία москва");
    check_eval("upper('éàü straße σοφία')", "ÉÀÜ STRAßE ΣΟΦΊΑ");
    check_eval("lower('日本語')", "日本語");
}

static void test_text_function_types(void **ts)
{
    (void)ts;
    check_err("lower(AlbumId)", 6, "lower takes text, and AlbumId is int; write "
                                   "lower(cast(... as text))");
    check_err("trim(Created)", 5, "trim takes text, and Created is timestamp");
    check_eval("lower(cast(AlbumId as text))", "7");
}

static void test_trim(void **ts)
{
    (void)ts;
    check_eval("trim('  a b \t\n')", "a b");
    check_eval("trim('')", "");
    check_eval("'[' || trim('x') || ']'", "[x]");
}

static void test_coalesce(void **ts)
{
    (void)ts;
    check_eval("coalesce(Nothing, Title)", "Hello World");
    check_eval("coalesce(Nothing, null, 'z')", "z");
    check_eval("coalesce(Nothing, null)", "NULL");
    check_eval("coalesce(AlbumId, 0)", "7");
    check_type("coalesce(Price, 0)", MT_DECIMAL);
    check_type("coalesce(AlbumId, 0.5)", MT_DECIMAL);
    check_type("coalesce(null, Title)", MT_TEXT);
    check_err("coalesce(Title, 0)", 16, "coalesce's arguments must have one type: argument 1 is "
                                        "text and argument 2 is int");
}

static void test_cast_numbers(void **ts)
{
    (void)ts;
    row[C_NUL] = text(" 42 ");
    check_evalk("cast(Nothing as int)", SV_INT, "42");
    row[C_NUL] = (src_value){.kind = SV_NULL};
    check_evalk("cast('42' as bigint)", SV_INT, "42");
    check_evalk("cast('-3' as tinyint)", SV_INT, "-3");
    check_evalk("cast(AlbumId as double)", SV_DOUBLE, "7");
    check_evalk("cast(Price as double)", SV_DOUBLE, "12.5");
    check_evalk("cast(AlbumId as decimal)", SV_DECIMAL, "7");
    check_evalk("cast(Ratio as decimal)", SV_DECIMAL, "0.25");
    check_evalk("cast('1e3' as varint)", SV_DECIMAL, "1000");
    check_evalk("cast(Flag as int)", SV_INT, "1");
    check_evalk("cast(AlbumId as text)", SV_TEXT, "7");
    check_evalk("cast(Nothing as int)", SV_NULL, "NULL");
    check_type("cast(Title as smallint)", MT_INT);
    check_type("cast(Title as float)", MT_DOUBLE);
}

static void test_cast_other_types(void **ts)
{
    (void)ts;
    check_evalk("cast('2024-01-02T03:04:05Z' as timestamp)", SV_TIMESTAMP, "2024-01-02T03:04:05Z");
    check_evalk("cast('2024-01-02' as date)", SV_DATE, "2024-01-02");
    check_evalk("cast('12:30:00' as time)", SV_TIME, "12:30:00");
    check_evalk("cast('yes' as boolean)", SV_BOOL, "true");
    check_evalk("cast('0xcafe' as blob)", SV_BLOB, "0xcafe");
    check_evalk("cast('00112233-4455-6677-8899-aabbccddeeff' as uuid)", SV_UUID,
                "00112233-4455-6677-8899-aabbccddeeff");
    check_evalk("cast('10.0.0.1' as inet)", SV_INET, "10.0.0.1");
    check_evalk("cast(Day as timestamp)", SV_TIMESTAMP, "2022-01-08T00:00:00Z");
    check_evalk("cast(cast(Day as timestamp) as date)", SV_DATE, "2022-01-08");
    check_rt("cast(Created as date)", "cannot cast '2023-11-14T22:13:20Z' to date");
}

static void test_cast_runtime_errors(void **ts)
{
    (void)ts;
    row[C_NUL] = text("abc");
    check_rt("cast(Nothing as int)", "cast: cannot cast 'abc' to int");
    check_rt("cast(Nothing as decimal)", "cannot cast 'abc' to decimal: it is not a number");
    check_rt("cast(Nothing as timestamp)", "cannot cast 'abc' to timestamp");
    row[C_NUL] = text("300");
    check_rt("cast(Nothing as tinyint)", "to tinyint");
    row[C_NUL] = text("été");
    check_rt("cast(Nothing as ascii)", "non-ASCII");
    row[C_NUL] = (src_value){.kind = SV_NULL};
    check_rt("cast(Ratio as int)", "cannot cast '0.25' to int");
}

static void test_cast_compile_errors(void **ts)
{
    (void)ts;
    check_err("cast(Title as integer)", 14, "unknown type 'integer' in cast; the types are: "
                                            "ascii, bigint");
    check_err("cast(Title as list<int>)", 14, "cast to a collection is not supported");
    check_err("cast(Title, int)", 10, "expected 'as' and a type in cast(x as TYPE), found ','");
    check_err("cast('abc' as int)", 5, "cannot cast 'abc' to int");   /* literals: now */
    check_err("cast('1.5' as varint)", 5, "has a fraction");
}

static void test_to_timestamp(void **ts)
{
    (void)ts;
    check_evalk("to_timestamp('2024-01-02 03:04:05', 'yyyy-MM-dd HH:mm:ss', 'UTC')", SV_TIMESTAMP,
                "2024-01-02T03:04:05Z");
    check_eval("to_timestamp('2024-01-02T03:04:05.123', 'yyyy-MM-dd''T''HH:mm:ss.SSS', 'Z')",
               "2024-01-02T03:04:05.123Z");
    check_eval("to_timestamp('2024-01-02T03:04:05', 'yyyy-MM-ddTHH:mm:ss', 'UTC')",
               "2024-01-02T03:04:05Z");
    check_eval("to_timestamp('2024-01-02 03:04', 'yyyy-MM-dd HH:mm', '+02:00')",
               "2024-01-02T01:04:00Z");
    check_eval("to_timestamp('2024-01-02 03:04', 'yyyy-MM-dd HH:mm', '-0530')",
               "2024-01-02T08:34:00Z");
    check_eval("to_timestamp('02/Jan/2024:03:04:05 +0100', 'dd/MMM/yyyy:HH:mm:ss X', 'UTC')",
               "2024-01-02T02:04:05Z");
    check_eval("to_timestamp('March 5, 2024 7:08 PM', 'MMMM d, yyyy h:mm a', 'UTC')",
               "2024-03-05T19:08:00Z");
    check_eval("to_timestamp('2024-01-02 03:04:05.123456', 'yyyy-MM-dd HH:mm:ss.SSSSSS', 'UTC')",
               "2024-01-02T03:04:05.123456Z");
    check_eval("to_timestamp('1969-12-31', 'yyyy-MM-dd', 'UTC')", "1969-12-31T00:00:00Z");
    check_eval("to_timestamp(Nothing, 'yyyy', 'UTC')", "NULL");
    check_eval("to_timestamp(InvoiceDate, 'yyyy-MM-dd HH:mm:ss', 'UTC')", "2009-01-02T00:00:00Z");
    /* a zone name: the offset of that wall-clock time; the text's own offset wins */
    check_eval("to_timestamp('2024-07-01 12:00', 'yyyy-MM-dd HH:mm', 'Europe/Paris')",
               "2024-07-01T10:00:00Z");
    check_eval("to_timestamp('2024-01-01 12:00', 'yyyy-MM-dd HH:mm', 'Europe/Paris')",
               "2024-01-01T11:00:00Z");
    check_eval("to_timestamp('2024-03-31 02:30', 'yyyy-MM-dd HH:mm', 'Europe/Paris')",
               "2024-03-31T01:30:00Z");
    check_eval("to_timestamp('2024-07-01 12:00 +0000', 'yyyy-MM-dd HH:mm X', 'Europe/Paris')",
               "2024-07-01T12:00:00Z");
    check_eval("to_timestamp('2070-07-04 09:00:00.5', 'yyyy-MM-dd HH:mm:ss.S', 'America/New_York')",
               "2070-07-04T13:00:00.5Z");
}

static void test_to_timestamp_runtime_errors(void **ts)
{
    (void)ts;
    check_rt("to_timestamp(Title, 'yyyy-MM-dd', 'UTC')", "to_timestamp: 'Hello World' does not "
                                                         "match the format 'yyyy-MM-dd': expected "
                                                         "a 4-digit year (yyyy) at character 1");
    check_rt("to_timestamp('2024-02-30', 'yyyy-MM-dd', 'UTC')", "the day is not in the month");
    check_rt("to_timestamp('2024-13-01', 'yyyy-MM-dd', 'UTC')", "the month is not 1..12");
    check_rt("to_timestamp('2024-01-01 x', 'yyyy-MM-dd', 'UTC')",
             "unexpected text at character 11");
    check_rt("to_timestamp('2024-01-01 00:00:00.1234567', 'yyyy-MM-dd HH:mm:ss.SSSSSSS', 'UTC')",
             "below the microsecond");
    check_eval("to_timestamp('2024-02-29', 'yyyy-MM-dd', 'UTC')", "2024-02-29T00:00:00Z");
    check_rt("to_timestamp('999999999', 'y', 'UTC')", "beyond the range of a timestamp");
    check_eval("to_timestamp('12345', 'y', 'UTC')", "+012345-01-01T00:00:00Z");
}

static void test_to_timestamp_compile_errors(void **ts)
{
    (void)ts;
    /* the offset points at the letter inside the format literal */
    check_err("to_timestamp(Title, 'yyyy-MM-dd Q', 'UTC')", 32, "'Q' is not a format letter");
    check_err("to_timestamp(Title, 'yy-MM-dd', 'UTC')", 21, "two-digit years (yy) are ambiguous");
    check_err("to_timestamp(Title, 'MM-dd', 'UTC')", 21, "the format has no year");
    check_err("to_timestamp(Title, 'yyyy', 'Mars/Olympus')", 28, "time zone 'Mars/Olympus' is "
                                                                 "not known here");
    check_err("to_timestamp(Title, 'yyyy', '../x')", 28, "'../x' is not a time zone name");
    check_err("to_timestamp(Title, Title, 'UTC')", 20, "to_timestamp's format must be a text "
                                                       "literal");
    check_err("to_timestamp(AlbumId, 'yyyy', 'UTC')", 13, "for a number of seconds or "
                                                          "milliseconds since 1970 use from_epoch");
    check_err("to_timestamp(Title, 'yyyy hh', 'UTC')", 21, "no AM/PM (a)");
    check_err("to_timestamp(Title, 'yyyy ''T', 'UTC')", 26, "no closing quote");
}

static void test_from_epoch(void **ts)
{
    (void)ts;
    check_evalk("from_epoch(1700000000, 's')", SV_TIMESTAMP, "2023-11-14T22:13:20Z");
    check_eval("from_epoch(1700000000123, 'ms')", "2023-11-14T22:13:20.123Z");
    check_eval("from_epoch(1700000000123456, 'us')", "2023-11-14T22:13:20.123456Z");
    check_eval("from_epoch(1.5, 's')", "1970-01-01T00:00:01.5Z");
    check_eval("from_epoch(-1, 's')", "1969-12-31T23:59:59Z");
    check_eval("from_epoch('86400', 's')", "1970-01-02T00:00:00Z");
    check_eval("from_epoch(Nothing, 's')", "NULL");
    check_type("from_epoch(AlbumId, 'ms')", MT_TIMESTAMP);
}

static void test_from_epoch_errors(void **ts)
{
    (void)ts;
    check_err("from_epoch(AlbumId, 'minutes')", 20, "from_epoch's unit is 's' (seconds), 'ms'");
    check_err("from_epoch(Created, 's')", 11, "from_epoch takes a number");
    check_rt("from_epoch(9223372036854775807, 's')", "beyond the range of a timestamp");
    check_rt("from_epoch(1.0000001, 's')", "below the microsecond");
    check_rt("from_epoch(Title, 's')", "'Hello World' is not a number of seconds");
}

static void test_uuid_from_bytes(void **ts)
{
    (void)ts;
    check_evalk("uuid_from_bytes(Data)", SV_UUID, "00112233-4455-6677-8899-aabbccddeeff");
    check_eval("uuid_from_bytes('0x00112233445566778899AABBCCDDEEFF')",
               "00112233-4455-6677-8899-aabbccddeeff");
    check_eval("uuid_from_bytes('00112233-4455-6677-8899-aabbccddeeff')",
               "00112233-4455-6677-8899-aabbccddeeff");
    check_rt("uuid_from_bytes(Short)", "uuid_from_bytes: the value is 15 bytes long, and a uuid "
                                       "is 16 bytes");
    check_rt("uuid_from_bytes('abc')", "is not 16 bytes in hex");
    check_err("uuid_from_bytes(AlbumId)", 16, "use name_uuid");
    check_eval("uuid_from_bytes(Nothing)", "NULL");
}

static void test_name_uuid(void **ts)
{
    (void)ts;
    /* Python: uuid.uuid5(uuid.UUID('757d5447-c980-5928-b016-cea9756550f8'), '\x1f'.join(parts)) */
    check_evalk("name_uuid('a', 'b')", SV_UUID, "a1f3b438-c5f9-5ebb-aa46-999e92d7a10a");
    check_eval("name_uuid(42)", "f4c00e6a-4ecb-5ac8-8e1a-c961db7db926");
    check_eval("name_uuid('Größe', 1)", "f588a81c-5e61-5a47-bf6d-36ab8bd0ff87");
    check_eval("name_uuid('a', Nothing)", "NULL");
    check_eval("name_uuid(AlbumId) = name_uuid('7')", "true");
}

static void test_json_path(void **ts)
{
    (void)ts;
    check_evalk("json_path(Doc, '$.a.b[1]')", SV_TEXT, "x");
    check_eval("json_path(Doc, '$.a.b[0]')", "1");
    check_eval("json_path(Doc, '$.a.b[2]')", "{\"c\":null}");
    check_eval("json_path(Doc, '$.a.b[2].c')", "NULL");
    check_eval("json_path(Doc, '$.a.b[9]')", "NULL");
    check_eval("json_path(Doc, '$.nope.x')", "NULL");
    check_eval("json_path(Doc, '$[\"odd key\"]')", "true");
    check_eval("json_path(JText, '$.k')", "[10,20]");
    check_eval("json_path(JText, '$.s')", "vé");
    check_eval("json_path(Nothing, '$.s')", "NULL");
    check_type("json_path(Doc, '$')", MT_TEXT);
}

static void test_json_path_text_scanner(void **ts)
{
    (void)ts;
    row[C_NUL] = text(" { \"a\" : [ 1.5e3 , { \"b\" : \"x\\\"y\" } , [ ] ] ,\n"
                      "  \"a\\u00e9\" : \"\\ud83d\\ude00\" , \"n\": null, \"a\": [7] } ");
    check_eval("json_path(Nothing, '$')", "{\"a\":[1.5e3,{\"b\":\"x\\\"y\"},[]],"
               "\"a\\u00e9\":\"\\ud83d\\ude00\",\"n\":null,\"a\":[7]}");
    check_eval("json_path(Nothing, '$.a[0]')", "7");           /* the last repeated key wins */
    check_eval("json_path(Nothing, '$.aé')", "😀");              /* escapes in keys and values */
    check_eval("json_path(Nothing, '$.n')", "NULL");
    check_eval("json_path(Nothing, '$.n.x')", "NULL");
    check_eval("json_path(Nothing, '$.a[1]')", "NULL");
    row[C_NUL] = text("[1, [2, {\"k\": \"tab\\there\"}], 3]");
    check_eval("json_path(Nothing, '$[1][1].k')", "tab\there");
    check_eval("json_path(Nothing, '$[2]')", "3");
    check_eval("json_path(Nothing, '$[3]')", "NULL");
    row[C_NUL] = text("\"just text\"");
    check_eval("json_path(Nothing, '$')", "just text");
    static const char *const bad[] = {"{", "{\"a\" 1}", "[1,]", "[1 2]", "01", "1.", "-",
                                      "\"\\x\"", "tru", "{} x", "\"\x01\"", "{a: 1}",
                                      "\"\xff\""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        row[C_NUL] = text(bad[i]);
        check_rt("json_path(Nothing, '$')", "is not valid JSON");
    }
    row[C_NUL] = (src_value){.kind = SV_NULL};
}

static void test_json_path_errors(void **ts)
{
    (void)ts;
    check_rt("json_path(Title, '$.a')", "json_path: 'Hello World' is not valid JSON");
    check_err("json_path(Doc, 'a.b')", 16, "a JSON path starts with $");
    check_err("json_path(Doc, '$.a[x]')", 19, "expected an array index [0]");
    check_err("json_path(Doc, '$..a')", 18, "expected a key after '.'");
    check_err("json_path(AlbumId, '$.a')", 10, "json_path takes JSON");
}

static void test_bad_source_value(void **ts)
{
    (void)ts;
    src_value saved = row[C_TITLE];
    row[C_TITLE] = (src_value){.kind = SV_BAD, .u.s = {"zero date 0000-00-00", 20}};
    check_rt("lower(Title)", "zero date 0000-00-00");
    /* a bare column passes it on: the loader rejects the row with the reason */
    map_expr *e = compile_ok("Title", NULL);
    src_value v;
    map_error err;
    assert_int_equal(map_expr_eval(e, row, &mem, &v, &err), 0);
    assert_int_equal(v.kind, SV_BAD);
    map_expr_free(e);
    check_eval("Title is null", "false");
    row[C_TITLE] = saved;
}

static void test_runtime_error_offset(void **ts)
{
    (void)ts;
    map_expr *e = compile_ok("'x' || cast(Title as int)", NULL);
    src_value v;
    map_error err;
    assert_int_equal(map_expr_eval(e, row, &mem, &v, &err), -1);
    assert_int_equal(err.offset, 7);
    map_expr_free(e);
}

/* ---- static types and fits ---------------------------------------------------------- */

static void test_type_of_column(void **ts)
{
    (void)ts;
    source_column c = {.name = "x", .decl_type = ""};
    assert_int_equal(map_type_of_column(&c), MT_TEXT);          /* CSV, JSONL */
    c.decl_type = "INTEGER";
    assert_int_equal(map_type_of_column(&c), MT_INT);
    c.decl_type = "NVARCHAR(160)";
    assert_int_equal(map_type_of_column(&c), MT_TEXT);
    c.decl_type = "NUMERIC(10,2)";
    assert_int_equal(map_type_of_column(&c), MT_DECIMAL);
    c.decl_type = "DATETIME";
    assert_int_equal(map_type_of_column(&c), MT_TIMESTAMP);
    c.decl_type = "BLOB";
    assert_int_equal(map_type_of_column(&c), MT_BLOB);
    c.decl_type = "";
    c.ltype = SL_INT32;
    assert_int_equal(map_type_of_column(&c), MT_INT);
    c.ltype = SL_UINT64;
    assert_int_equal(map_type_of_column(&c), MT_UINT);
    c.ltype = SL_JSON;
    assert_int_equal(map_type_of_column(&c), MT_JSON);
    c.ltype = SL_ARRAY;
    assert_int_equal(map_type_of_column(&c), MT_LIST);
    c.ltype = SL_INTERVAL;
    assert_int_equal(map_type_of_column(&c), MT_DURATION);
    c.ltype = SL_UNSUPPORTED;
    assert_int_equal(map_type_of_column(&c), MT_UNSUPPORTED);
    assert_string_equal(map_type_name(MT_TIMESTAMP), "timestamp");
}

static int fits(map_type t, const char *cql, char *why, size_t n)
{
    cql_error ce;
    cql_type *ct = cql_type_parse(cql, &ce);
    assert_non_null(ct);
    int r = map_type_fits(t, ct, why, n);
    cql_type_free(ct);
    return r;
}

static void test_type_fits(void **ts)
{
    (void)ts;
    char why[300];
    assert_int_equal(fits(MT_INT, "int", why, sizeof why), 1);
    assert_int_equal(fits(MT_TEXT, "int", why, sizeof why), 1);        /* parsed per row */
    assert_int_equal(fits(MT_NULL, "uuid", why, sizeof why), 1);
    assert_int_equal(fits(MT_INT, "text", why, sizeof why), 1);
    assert_int_equal(fits(MT_DOUBLE, "float", why, sizeof why), 1);
    assert_int_equal(fits(MT_INT, "timestamp", why, sizeof why), 1);
    assert_int_equal(fits(MT_LIST, "list<int>", why, sizeof why), 1);
    assert_int_equal(fits(MT_DOUBLE, "bigint", why, sizeof why), 0);
    assert_non_null(strstr(why, "a double value may have a fraction, which a bigint column cannot "
                                "hold; write cast(... as bigint)"));
    assert_int_equal(fits(MT_INT, "uuid", why, sizeof why), 0);
    assert_non_null(strstr(why, "uuid_from_bytes"));
    assert_int_equal(fits(MT_BLOB, "text", why, sizeof why), 0);
    assert_non_null(strstr(why, "0x-hex"));
    assert_int_equal(fits(MT_TIMESTAMP, "date", why, sizeof why), 0);
    assert_non_null(strstr(why, "a timestamp value does not go into a date column"));
    assert_int_equal(fits(MT_UNSUPPORTED, "text", why, sizeof why), 0);
    assert_int_equal(fits(MT_BOOL, "int", NULL, 0), 1);
}

static void test_value_timestamp_and_int(void **ts)
{
    (void)ts;
    char why[300];
    int64_t x;
    src_value v = {.kind = SV_TIMESTAMP, .u.i = 1700000000000000LL};
    assert_int_equal(map_value_timestamp_us(&v, &x, why, sizeof why), 0);
    assert_int_equal(x, 1700000000000000LL);
    v = (src_value){.kind = SV_DATE, .u.i = 1};
    assert_int_equal(map_value_timestamp_us(&v, &x, why, sizeof why), 0);
    assert_int_equal(x, 86400000000LL);
    v = text("2009-01-02 00:00:00");     /* a SQLite DATETIME */
    assert_int_equal(map_value_timestamp_us(&v, &x, why, sizeof why), 0);
    assert_int_equal(x, 1230854400000000LL);
    v = text("soon");
    assert_int_equal(map_value_timestamp_us(&v, &x, why, sizeof why), -1);
    assert_non_null(strstr(why, "cannot cast 'soon' to timestamp"));
    v = (src_value){.kind = SV_NULL};
    assert_int_equal(map_value_timestamp_us(&v, &x, why, sizeof why), -1);
    v = (src_value){.kind = SV_DOUBLE, .u.d = 1.5};
    assert_int_equal(map_value_timestamp_us(&v, &x, why, sizeof why), -1);

    v = (src_value){.kind = SV_INT, .u.i = 86400};
    assert_int_equal(map_value_int64(&v, &x, why, sizeof why), 0);
    assert_int_equal(x, 86400);
    v = (src_value){.kind = SV_DOUBLE, .u.d = 3600.0};
    assert_int_equal(map_value_int64(&v, &x, why, sizeof why), 0);
    assert_int_equal(x, 3600);
    v = text(" -42.00 ");
    assert_int_equal(map_value_int64(&v, &x, why, sizeof why), 0);
    assert_int_equal(x, -42);
    v = text("4.5");
    assert_int_equal(map_value_int64(&v, &x, why, sizeof why), -1);
    assert_non_null(strstr(why, "'4.5' is not a whole number"));
    v = text("99999999999999999999");
    assert_int_equal(map_value_int64(&v, &x, why, sizeof why), -1);
    assert_non_null(strstr(why, "beyond the 64-bit integer range"));
    v = (src_value){.kind = SV_UINT, .u.u = UINT64_MAX};
    assert_int_equal(map_value_int64(&v, &x, why, sizeof why), -1);
    v = (src_value){.kind = SV_NULL};
    assert_int_equal(map_value_int64(&v, &x, why, sizeof why), -1);
}

/* Results are values the loader converts like source values. */
static void convert_hex(const char *expr, const char *cql, const char *want_hex)
{
    map_expr *e = compile_ok(expr, NULL);
    src_value v;
    map_error err;
    if (map_expr_eval(e, row, &mem, &v, &err))
        fail_msg("%s: %s", expr, err.msg);
    cql_error ce;
    cql_type *t = cql_type_parse(cql, &ce);
    assert_non_null(t);
    cs_buf b;
    cs_buf_init(&b, 1 << 16);
    if (load_convert_value(t, &v, &b, &ce))
        fail_msg("%s into %s: %s", expr, cql, ce.msg);
    char hex[200] = "";
    for (size_t i = 4; i < b.len && i < 90; i++)
        snprintf(hex + strlen(hex), sizeof hex - strlen(hex), "%02x", b.data[i]);
    if (strcmp(hex, want_hex))
        fail_msg("%s into %s: %s, want %s", expr, cql, hex, want_hex);
    cs_buf_release(&b);
    cql_type_free(t);
    map_expr_free(e);
}

static void test_results_convert_to_cql(void **ts)
{
    (void)ts;
    convert_hex("cast('42' as int)", "int", "0000002a");
    convert_hex("AlbumId * 2", "smallint", "000e");
    convert_hex("to_timestamp('1970-01-01 00:00:01.5', 'yyyy-MM-dd HH:mm:ss.S', 'UTC')",
                "timestamp", "00000000000005dc");
    convert_hex("from_epoch(2, 's')", "timestamp", "00000000000007d0");
    convert_hex("name_uuid('a', 'b')", "uuid", "a1f3b438c5f95ebbaa46999e92d7a10a");
    convert_hex("uuid_from_bytes(Data)", "uuid", "00112233445566778899aabbccddeeff");
    convert_hex("json_path(JText, '$.k[1]')", "int", "00000014");   /* text parsed then */
    convert_hex("lower('AB')", "text", "6162");
    convert_hex("Price", "decimal", "0000000204e2");
    convert_hex("cast(Price as double)", "double", "4029000000000000");
}

/* ---- many rows in one arena --------------------------------------------------------- */

static void test_eval_loop_100k(void **ts)
{
    (void)ts;
    const char *texts[] = {
        "'album-' || AlbumId || '-' || lower(Title)",
        "name_uuid(AlbumId, Title)",
        "to_timestamp(InvoiceDate, 'yyyy-MM-dd HH:mm:ss', '+01:00')",
        "coalesce(Nothing, upper(Title))",
        "AlbumId % 2 = 0",
    };
    map_expr *e[5];
    for (int i = 0; i < 4; i++)
        e[i] = compile_ok(texts[i], NULL);
    check_err(texts[4], 8, "unexpected character '%'");
    e[4] = compile_ok("AlbumId / 2 * 2 = AlbumId and json_path(JText, '$.k[1]') = '20'", NULL);
    arena a;
    arena_init(&a, 64 * 1024);
    char title[32];
    src_value r[NC];
    memcpy(r, row, sizeof r);
    int64_t even = 0;
    for (int i = 0; i < 100000; i++) {
        if (i % 1000 == 0)
            arena_reset(&a);
        snprintf(title, sizeof title, "Title %d", i);
        r[C_ALBUMID].u.i = i;
        r[C_TITLE] = text(title);
        for (int k = 0; k < 5; k++) {
            src_value v;
            map_error err;
            if (map_expr_eval(e[k], r, &a, &v, &err))
                fail_msg("row %d, %s: %s", i, texts[k], err.msg);
            if (k == 4 && v.kind == SV_BOOL && v.u.i)
                even++;
            if (k == 0 && i == 99999)
                assert_memory_equal(v.u.s.p, "album-99999-title 99999", v.u.s.n);
        }
    }
    assert_int_equal(even, 50000);
    arena_release(&a);
    for (int i = 0; i < 5; i++)
        map_expr_free(e[i]);
}

static void test_to_timestamp_of_timestamp(void **ts)
{
    (void)ts;
    /* a timestamp column whose value is already a timestamp passes unchanged */
    check_evalk("to_timestamp(Created, 'yyyy-MM-dd', 'UTC')", SV_TIMESTAMP, "2023-11-14T22:13:20Z");
    check_evalk("to_timestamp(Day, 'yyyy-MM-dd', 'UTC')", SV_TIMESTAMP, "2022-01-08T00:00:00Z");
}

static void test_decimal_and_double_compare(void **ts)
{
    (void)ts;
    row[C_RATIO].u.d = 0.1;
    check_eval("Ratio = 0.1", "true");
    row[C_RATIO].u.d = 0.25;
    row[C_PRICE] = (src_value){.kind = SV_DECIMAL, .u.s = {"-0012.500", 9}};
    check_eval("Price = -12.5", "true");
    check_eval("Price < -12.49", "true");
    check_eval("Price > -100", "true");
    check_eval("Price < 0", "true");
    row[C_PRICE] = (src_value){.kind = SV_DECIMAL, .u.s = {"12.50", 5}};
    check_eval("Big > 9223372036854775807", "true");    /* unsigned beyond int64 */
    check_eval("Big = 9223372036854775813", "true");
    check_rt("Big + 1", "+ needs a number");
}

static void test_json_values_as_text(void **ts)
{
    (void)ts;
    check_eval("'doc=' || Doc",
               "doc={\"a\":{\"b\":[1,\"x\",{\"c\":null}]},\"odd key\":true}");
    check_evalk("cast(Doc as text)", SV_TEXT,
                "{\"a\":{\"b\":[1,\"x\",{\"c\":null}]},\"odd key\":true}");
    check_eval("json_path(Doc, '$')", "{\"a\":{\"b\":[1,\"x\",{\"c\":null}]},\"odd key\":true}");
}

static void test_compile_without_err_and_failure_after_cast(void **ts)
{
    (void)ts;
    map_type t = MT_NULL;
    assert_null(map_expr_compile("lower(", &env, &t, NULL));
    assert_null(map_expr_compile(NULL, &env, NULL, NULL));
    /* the cast's type is made before the error: freed with the failed compile (valgrind) */
    check_err("cast(Title as int) + cast(Title as bigint) + nope", 45, "unknown column");
    check_err("coalesce(cast(Title as int), Title)", 29, "coalesce's arguments must have one type");
}

#include <pthread.h>

static void *eval_thread(void *arg)
{
    map_expr *e = arg;
    arena a;
    arena_init(&a, 4096);
    src_value r[NC];
    memcpy(r, row, sizeof r);
    long bad = 0;
    for (int i = 0; i < 2000; i++) {
        src_value v;
        map_error err;
        r[C_ALBUMID].u.i = i;
        if (map_expr_eval(e, r, &a, &v, &err) || v.kind != SV_TEXT ||
            strncmp(v.u.s.p, "école-", 6))
            bad++;
        if (i % 100 == 0)
            arena_reset(&a);
    }
    arena_release(&a);
    return (void *)bad;
}

static void test_threads_share_one_expression(void **ts)
{
    (void)ts;
    map_expr *e = compile_ok("lower('ÉCOLE') || '-' || name_uuid(AlbumId) || cast(AlbumId as text)",
                             NULL);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, eval_thread, e), 0);
    for (int i = 0; i < 4; i++) {
        void *bad;
        pthread_join(th[i], &bad);
        assert_int_equal((long)bad, 0);
    }
    map_expr_free(e);
}

static void test_where_filter_shape(void **ts)
{
    (void)ts;
    /* a row filter is a boolean expression: only true keeps the row */
    check_type("AlbumId is not null and Title <> ''", MT_BOOL);
    check_eval("Nothing <> ''", "NULL");
    check_type("Flag", MT_BOOL);
    check_type("from_epoch(AlbumId, 's')", MT_TIMESTAMP);    /* a writetime */
    check_type("86400", MT_INT);                            /* a ttl */
    map_expr *e = map_expr_compile("86400 * 2", NULL, NULL, NULL);  /* no env: constants */
    assert_non_null(e);
    src_value v;
    assert_int_equal(map_expr_eval(e, NULL, &mem, &v, NULL), 0);
    assert_int_equal(v.u.i, 172800);
    map_expr_free(e);
    map_error err;
    assert_null(map_expr_compile("Title", NULL, NULL, &err));
    assert_non_null(
        strstr(err.msg, "unknown column \"Title\"; the source table's columns are: (none)"));
    src_value t = {.kind = SV_BOOL, .u.i = 1}, f = {.kind = SV_INT, .u.i = 0};
    src_value n = {.kind = SV_NULL};
    assert_int_equal(map_value_truth(&t), 1);
    assert_int_equal(map_value_truth(&f), 0);
    assert_int_equal(map_value_truth(&n), 0);
    src_value y = text("Yes"), x = text("maybe");
    assert_int_equal(map_value_truth(&y), 1);
    assert_int_equal(map_value_truth(&x), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_column_exact),
        cmocka_unit_test(test_column_case_insensitive),
        cmocka_unit_test(test_column_ambiguous),
        cmocka_unit_test(test_quoted_identifier),
        cmocka_unit_test(test_unknown_column_suggests),
        cmocka_unit_test(test_unknown_column_lists),
        cmocka_unit_test(test_unsupported_column),
        cmocka_unit_test(test_text_literal),
        cmocka_unit_test(test_unterminated_string),
        cmocka_unit_test(test_integer_literals),
        cmocka_unit_test(test_decimal_literals),
        cmocka_unit_test(test_bool_null_literals),
        cmocka_unit_test(test_bad_number),
        cmocka_unit_test(test_trailing_garbage),
        cmocka_unit_test(test_unbalanced_parens),
        cmocka_unit_test(test_empty_and_bad_characters),
        cmocka_unit_test(test_keyword_as_value),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_concat),
        cmocka_unit_test(test_concat_null),
        cmocka_unit_test(test_comparisons),
        cmocka_unit_test(test_comparison_null),
        cmocka_unit_test(test_comparison_types),
        cmocka_unit_test(test_comparison_runtime_kinds),
        cmocka_unit_test(test_logic_three_valued),
        cmocka_unit_test(test_logic_types),
        cmocka_unit_test(test_is_null),
        cmocka_unit_test(test_arithmetic),
        cmocka_unit_test(test_arithmetic_fixed),
        cmocka_unit_test(test_arithmetic_errors),
        cmocka_unit_test(test_unknown_function),
        cmocka_unit_test(test_arity),
        cmocka_unit_test(test_lower_upper_ascii),
        cmocka_unit_test(test_lower_upper_utf8),
        cmocka_unit_test(test_text_function_types),
        cmocka_unit_test(test_trim),
        cmocka_unit_test(test_coalesce),
        cmocka_unit_test(test_cast_numbers),
        cmocka_unit_test(test_cast_other_types),
        cmocka_unit_test(test_cast_runtime_errors),
        cmocka_unit_test(test_cast_compile_errors),
        cmocka_unit_test(test_to_timestamp),
        cmocka_unit_test(test_to_timestamp_runtime_errors),
        cmocka_unit_test(test_to_timestamp_compile_errors),
        cmocka_unit_test(test_from_epoch),
        cmocka_unit_test(test_from_epoch_errors),
        cmocka_unit_test(test_uuid_from_bytes),
        cmocka_unit_test(test_name_uuid),
        cmocka_unit_test(test_json_path),
        cmocka_unit_test(test_json_path_text_scanner),
        cmocka_unit_test(test_json_path_errors),
        cmocka_unit_test(test_bad_source_value),
        cmocka_unit_test(test_runtime_error_offset),
        cmocka_unit_test(test_type_of_column),
        cmocka_unit_test(test_type_fits),
        cmocka_unit_test(test_to_timestamp_of_timestamp),
        cmocka_unit_test(test_decimal_and_double_compare),
        cmocka_unit_test(test_json_values_as_text),
        cmocka_unit_test(test_compile_without_err_and_failure_after_cast),
        cmocka_unit_test(test_threads_share_one_expression),
        cmocka_unit_test(test_where_filter_shape),
        cmocka_unit_test(test_results_convert_to_cql),
        cmocka_unit_test(test_value_timestamp_and_int),
        cmocka_unit_test(test_eval_loop_100k),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
