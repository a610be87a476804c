/* Unit tests of CQL scripts (target/script.h): statements split where CQL
 * ends them (not at a ';' or blank line inside a string, a $$ body, a
 * quoted name or a comment), what each statement creates, and keyspace
 * renaming that leaves strings and look-alike names alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "target/script.h"

/* The statements of script joined by "|". */
static const char *split(const char *script)
{
    static char out[4096];
    out[0] = 0;
    cs_buf b;
    cs_buf_init(&b, 1 << 20);
    const char *p = script;
    int rc;
    while ((cs_buf_reset(&b), rc = target_script_next(&p, &b)) == 1) {
        if (out[0])
            strcat(out, "|");
        strcat(out, (const char *)b.data);
    }
    assert_int_equal(rc, 0);
    assert_string_equal((const char *)b.data, "");
    cs_buf_release(&b);
    return out;
}

static void test_split(void **st)
{
    (void)st;
    assert_string_equal(split("CREATE TABLE a (k int PRIMARY KEY);\n\nCREATE TABLE b (k int "
                              "PRIMARY KEY);\n"),
                        "CREATE TABLE a (k int PRIMARY KEY)|CREATE TABLE b (k int PRIMARY KEY)");
    /* ';' and blank lines inside strings, $$ bodies and quoted names */
    assert_string_equal(split("CREATE TABLE t (k int PRIMARY KEY) WITH comment = 'a;\n\nb ''c;''';"
                              "CREATE FUNCTION f() RETURNS NULL ON NULL INPUT RETURNS int "
                              "LANGUAGE java AS $$ return 1;\n\n $$;"
                              "CREATE TABLE \"x;\"\"y\" (k int PRIMARY KEY)"),
                        "CREATE TABLE t (k int PRIMARY KEY) WITH comment = 'a;\n\nb ''c;'''|"
                        "CREATE FUNCTION f() RETURNS NULL ON NULL INPUT RETURNS int "
                        "LANGUAGE java AS $$ return 1;\n\n $$|"
                        "CREATE TABLE \"x;\"\"y\" (k int PRIMARY KEY)");
    /* comments go, wherever they are; empty statements are skipped */
    assert_string_equal(split("-- head; comment\n/* Warning: t omitted;\n\n */\n;;"
                              "CREATE TYPE u (a int); // tail;\n// only a comment\n"),
                        "CREATE TYPE u (a int)");
    assert_string_equal(split("SELECT a/* x */FROM t"), "SELECT a FROM t");
    assert_string_equal(split("  \n-- nothing\n"), "");
    /* an unclosed string runs to the end */
    assert_string_equal(split("INSERT INTO t (k) VALUES ('a;\n\nb"), "INSERT INTO t (k) VALUES ('a;\n\nb");
}

static void info(const char *stmt, target_stmt_kind want, const char *name)
{
    char got[64];
    target_stmt_kind k = target_stmt_info(stmt, got, sizeof got);
    if (k != want || strcmp(got, name))
        fail_msg("'%s': kind %d name '%s', wanted %d '%s'", stmt, (int)k, got, (int)want, name);
}

static void test_info(void **st)
{
    (void)st;
    info("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy'}", TSTMT_KEYSPACE, "");
    info("create type ks.addr (a int)", TSTMT_TYPE, "");
    info("CREATE TABLE ks.Orders (k int PRIMARY KEY)", TSTMT_TABLE, "orders");
    info("CREATE TABLE IF NOT EXISTS \"Ks\".\"Empty\" (k int PRIMARY KEY)", TSTMT_TABLE, "Empty");
    info("CREATE TABLE t (k int PRIMARY KEY)", TSTMT_TABLE, "t");
    info("CREATE INDEX orders_total ON ks.orders (total) USING 'sai'", TSTMT_INDEX, "orders");
    info("CREATE CUSTOM INDEX IF NOT EXISTS i ON ks.\"T\" (v) USING 'StorageAttachedIndex'",
         TSTMT_INDEX, "T");
    info("CREATE INDEX ON t (v)", TSTMT_INDEX, "t");
    info("CREATE MATERIALIZED VIEW ks.by_who AS SELECT who, tok FROM ks.sessions WHERE who IS "
         "NOT NULL AND tok IS NOT NULL PRIMARY KEY (who, tok)", TSTMT_VIEW, "sessions");
    info("CREATE FUNCTION ks.f (a int) CALLED ON NULL INPUT RETURNS int LANGUAGE java AS "
         "$$ return a; $$", TSTMT_OTHER, "");
    info("INSERT INTO t (k) VALUES (1)", TSTMT_OTHER, "");
}

static const char *ren(const char *stmt, const char *from, const char *to)
{
    static char out[1024];
    cs_buf b;
    cs_buf_init(&b, 1 << 20);
    assert_int_equal(target_stmt_rename_keyspace(stmt, from, to, &b), 0);
    snprintf(out, sizeof out, "%s", (const char *)b.data);
    cs_buf_release(&b);
    return out;
}

static void test_rename(void **st)
{
    (void)st;
    assert_string_equal(ren("CREATE KEYSPACE IF NOT EXISTS shop WITH x", "shop", "shop2"),
                        "CREATE KEYSPACE IF NOT EXISTS \"shop2\" WITH x");
    assert_string_equal(ren("CREATE TABLE shop.t (shop int, k frozen<shop.addr>) WITH "
                               "comment = 'shop.t'", "shop", "b"),
                        "CREATE TABLE \"b\".t (shop int, k frozen<\"b\".addr>) WITH "
                        "comment = 'shop.t'");
    /* quoted and unquoted names compare as CQL compares them */
    assert_string_equal(ren("CREATE TABLE \"Shop\".t (k int); CREATE TABLE Shop.u", "Shop", "x"),
                        "CREATE TABLE \"x\".t (k int); CREATE TABLE Shop.u");
    assert_string_equal(ren("CREATE TABLE SHOP . t (k int)", "shop", "a\"b"),
                        "CREATE TABLE \"a\"\"b\" . t (k int)");
    /* a number is not a name, even one that looks like the keyspace's */
    assert_string_equal(ren("CREATE TABLE \"1\".t (k int) WITH x = 1.5 AND y = 1 . 5", "1", "z"),
                        "CREATE TABLE \"z\".t (k int) WITH x = 1.5 AND y = 1 . 5");
    assert_string_equal(ren("CREATE FUNCTION shop.f() AS $$ shop.x $$ -- shop.y\n", "shop", "z"),
                        "CREATE FUNCTION \"z\".f() AS $$ shop.x $$ -- shop.y\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_info),
        cmocka_unit_test(test_rename),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
