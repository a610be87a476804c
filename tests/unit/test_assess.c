/* assess_run on SQLite databases and a CSV file made here, and
 * source_quote_ident. No server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "assess/assess.h"

static char dir[] = "/tmp/cqlshift-test-assess-XXXXXX";
static char dbpath[256];

static void exec_sql(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
}

static int setup(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(dbpath, sizeof dbpath, "%s/t.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
    exec_sql(db,
             "CREATE TABLE nokey(a TEXT);"
             "INSERT INTO nokey VALUES ('x'), ('y'), ('z');"
             "CREATE TABLE events(ts DATETIME PRIMARY KEY, v TEXT);"
             "INSERT INTO events VALUES ('2024-05-01 10:00:00.000100', 'a'),"
             " ('2024-05-01 10:00:00.000900', 'b'), ('2024-05-01 10:00:01', 'c');"
             "CREATE TABLE \"we\"\"ird\"(\"a b\" INTEGER PRIMARY KEY, \"c\"\"d\" TEXT);"
             "INSERT INTO \"we\"\"ird\" VALUES (1, 'p'), (2, 'q');"
             "CREATE TABLE big(g INTEGER, i INTEGER, PRIMARY KEY (g, i));"
             "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 1999)"
             " INSERT INTO big SELECT CASE WHEN i < 1500 THEN 1 ELSE 2 + i % 100 END, i FROM n;"
             "CREATE TABLE empty(k INTEGER PRIMARY KEY, v TEXT);");
    sqlite3_close(db);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char p[300];
    snprintf(p, sizeof p, "%s/t.db", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/f.csv", dir);
    unlink(p);
    rmdir(dir);
    return 0;
}

static json_t *run(const char *uri, const char *tables, int64_t sample, assess_error *err)
{
    source_error se;
    source *s = source_open(uri, NULL, NULL, &se);
    assert_non_null(s);
    assess_options o = {.tables = tables, .sample = sample, .source_label = uri};
    json_t *doc = assess_run(s, &o, err);
    s->ops->close(s);
    return doc;
}

static json_t *table(json_t *doc, const char *name)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(doc, "tables"), i, t)
        if (!strcmp(json_string_value(json_object_get(t, "name")), name))
            return t;
    fail_msg("no table %s", name);
    return NULL;
}

/* The one risk of this kind in table t (NULL if none; two fail). */
static json_t *risk(json_t *t, const char *kind)
{
    json_t *found = NULL;
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(t, "risks"), i, r)
        if (!strcmp(json_string_value(json_object_get(r, "kind")), kind)) {
            assert_null(found);
            found = r;
        }
    return found;
}

static json_int_t iget(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static void sqlite_document(void **state)
{
    (void)state;
    char uri[300];
    snprintf(uri, sizeof uri, "sqlite:%s", dbpath);
    assess_error err;
    json_t *doc = run(uri, NULL, 0, &err);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "kind")), "sqlite");
    assert_int_equal(iget(doc, "sample"), ASSESS_SAMPLE_DEFAULT);
    assert_int_equal(json_array_size(json_object_get(doc, "tables")), 5);

    json_t *t = table(doc, "nokey");
    assert_int_equal(iget(t, "rows"), 3);
    assert_int_equal(json_array_size(json_object_get(t, "primary_key")), 0);
    json_t *r = risk(t, "no_primary_key");
    assert_non_null(r);
    assert_int_equal(iget(r, "count"), 3);

    t = table(doc, "events");
    r = risk(t, "key_collision");
    assert_non_null(r);
    assert_int_equal(iget(r, "count"), 2);
    assert_non_null(strstr(json_string_value(json_object_get(r, "example")), ".000100"));
    r = risk(t, "lossy_values");
    assert_non_null(r);
    assert_int_equal(iget(r, "count"), 2);

    /* quoted names: the queries work, the names come back as they are */
    t = table(doc, "we\"ird");
    assert_int_equal(iget(t, "rows"), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(t, "primary_key"), 0)),
                        "a b");
    assert_int_equal(json_array_size(json_object_get(t, "risks")), 0);

    t = table(doc, "big");
    json_t *p = json_array_get(json_object_get(t, "partitions"), 0);
    assert_string_equal(json_string_value(json_object_get(p, "for")), "big");
    assert_int_equal(iget(p, "rows_max"), 1500);
    assert_int_equal(iget(p, "partitions"), 101);
    assert_int_equal(iget(p, "rows_p99"), 5);   /* rank 2 from the top: 100 partitions of 5 */
    assert_true(json_is_false(json_object_get(p, "sampled")));
    r = risk(t, "hot_partition");
    assert_non_null(r);
    assert_int_equal(iget(r, "count"), 1500);
    assert_string_equal(json_string_value(json_object_get(r, "example")), "1");
    assert_null(risk(t, "large_partition"));

    t = table(doc, "empty");
    assert_int_equal(iget(t, "rows"), 0);
    p = json_array_get(json_object_get(t, "partitions"), 0);
    assert_int_equal(iget(p, "rows_max"), 0);
    assert_int_equal(iget(p, "partitions"), 0);
    json_decref(doc);
}

static void sqlite_sample_and_tables(void **state)
{
    (void)state;
    char uri[300];
    snprintf(uri, sizeof uri, "sqlite:%s", dbpath);
    assess_error err;
    json_t *doc = run(uri, "BIG", 1000, &err);
    assert_non_null(doc);
    assert_int_equal(json_array_size(json_object_get(doc, "tables")), 1);
    json_t *t = table(doc, "big");
    assert_true(json_is_true(json_object_get(t, "sampled")));
    json_t *p = json_array_get(json_object_get(t, "partitions"), 0);
    assert_true(json_is_true(json_object_get(p, "sampled")));
    /* half the rows sampled and scaled back: 1500 give or take a lot */
    assert_in_range(iget(p, "rows_max"), 1200, 1800);
    json_decref(doc);

    doc = run(uri, "big,nosuch", 0, &err);
    assert_null(doc);
    assert_int_equal(err.code, 2);
    assert_non_null(strstr(err.msg, "'nosuch'"));
    assert_non_null(strstr(err.msg, "events"));
}

static void csv_types(void **state)
{
    (void)state;
    char path[300], uri[320];
    snprintf(path, sizeof path, "%s/f.csv", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("n,x,t\n1,1.5,a\n2,2,b\n", f);
    fclose(f);
    snprintf(uri, sizeof uri, "csv:%s", path);
    assess_error err;
    json_t *doc = run(uri, NULL, 0, &err);
    assert_non_null(doc);
    json_t *t = json_array_get(json_object_get(doc, "tables"), 0);
    assert_int_equal(iget(t, "rows"), 2);
    assert_int_equal(iget(t, "bytes"), 20);
    json_t *cols = json_object_get(t, "columns");
    assert_string_equal(json_string_value(json_object_get(json_array_get(cols, 0), "cql_type")),
                        "bigint");
    assert_string_equal(json_string_value(json_object_get(json_array_get(cols, 1), "cql_type")),
                        "double");
    assert_string_equal(json_string_value(json_object_get(json_array_get(cols, 2), "cql_type")),
                        "text");
    assert_non_null(risk(t, "no_primary_key"));
    json_decref(doc);
}

typedef struct qrows {
    int n;
    char seen[8][32];
    int stop_at;
} qrows;

static int on_row(void *ctx, int n, const char *const *v, const size_t *l)
{
    qrows *q = ctx;
    assert_int_equal(n, 2);
    if (q->n < 8)
        snprintf(q->seen[q->n], sizeof q->seen[0], "%.*s|%s", (int)l[0], v[0] ? v[0] : "NULL",
                 v[1] ? v[1] : "NULL");
    q->n++;
    return q->stop_at && q->n == q->stop_at ? 42 : 0;
}

/* The SQLite query operation: text values, NULL, a stop, errors. */
static void sqlite_query(void **state)
{
    (void)state;
    char uri[300];
    snprintf(uri, sizeof uri, "sqlite:%s", dbpath);
    source_error se;
    source *s = source_open(uri, NULL, NULL, &se);
    assert_non_null(s);
    assert_non_null(s->ops->query);
    qrows q = {0};
    assert_int_equal(s->ops->query(s, "SELECT a, NULL FROM nokey ORDER BY a", on_row, &q, &se), 0);
    assert_int_equal(q.n, 3);
    assert_string_equal(q.seen[0], "x|NULL");
    assert_string_equal(q.seen[2], "z|NULL");
    qrows q2 = {.stop_at = 2};
    assert_int_equal(s->ops->query(s, "SELECT g, i FROM big", on_row, &q2, &se), 42);
    assert_int_equal(q2.n, 2);
    qrows q3 = {0};
    assert_int_equal(s->ops->query(s, "SELECT nosuch, 1 FROM big", on_row, &q3, &se), -1);
    assert_non_null(strstr(se.msg, "nosuch"));
    assert_int_equal(s->ops->query(s, "DELETE FROM big", on_row, &q3, &se), -1);
    assert_non_null(strstr(se.msg, "read-only"));
    assert_int_equal(q3.n, 0);
    s->ops->close(s);
}

static void quote_ident(void **state)
{
    (void)state;
    static const source_ops my = {.name = "mysql"}, pg = {.name = "postgresql"};
    source sm = {&my}, sp = {&pg};
    char out[16];
    assert_int_equal(source_quote_ident(&sm, "a`b", out, sizeof out), 0);
    assert_string_equal(out, "`a``b`");
    assert_int_equal(source_quote_ident(&sp, "a\"b", out, sizeof out), 0);
    assert_string_equal(out, "\"a\"\"b\"");
    assert_int_equal(source_quote_ident(&sp, "0123456789abcd", out, sizeof out), -1);
    assert_int_equal(source_quote_ident(&sp, "0123456789abc", out, sizeof out), 0);
    assert_string_equal(out, "\"0123456789abc\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sqlite_document),
        cmocka_unit_test(sqlite_sample_and_tables),
        cmocka_unit_test(csv_types),
        cmocka_unit_test(sqlite_query),
        cmocka_unit_test(quote_ident),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
