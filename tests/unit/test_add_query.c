/* source_query_text (which texts are one read-only SELECT) and SQLite's
 * add_query: a query becomes a table whose columns have types, read as one
 * range from its start, counted; mistakes refused with a sentence and the
 * byte they are at. No server. */
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

#include "source/source.h"

static char dir[] = "/tmp/cqlshift-test-add-query-XXXXXX";
static char dbpath[256];

static int setup(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(dbpath, sizeof dbpath, "%s/t.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db,
                          "CREATE TABLE a(id INTEGER PRIMARY KEY, name TEXT);"
                          "CREATE TABLE b(id INTEGER PRIMARY KEY, a_id INTEGER, price "
                          "NUMERIC(10,2), at DATETIME);"
                          "INSERT INTO a VALUES (1, 'one'), (2, 'two');"
                          "INSERT INTO b VALUES (10, 1, 1.5, '2024-01-02 03:04:05'),"
                          " (11, 1, 2.5, NULL), (12, 2, NULL, NULL), (13, 3, 0, NULL);",
                          NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fail_msg("%s", msg);
    sqlite3_close(db);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(dbpath);
    rmdir(dir);
    return 0;
}

/* source_query_text: the text kept, or the refusal's words and place */
static void query_text(void **state)
{
    (void)state;
    source_error err;
    int at;
    char *t = source_query_text("  SELECT 1 ;  -- done\n", 0, &at, &err);
    assert_non_null(t);
    assert_string_equal(t, "  SELECT 1");
    free(t);
    t = source_query_text("/* c */ (WITH x AS (SELECT 1) SELECT * FROM x);", 0, &at, &err);
    assert_non_null(t);
    free(t);
    /* a semicolon inside quotes or a comment is not the end */
    t = source_query_text("SELECT ';', \"a;b\" /* ; */ FROM t -- ;\n", 0, &at, &err);
    assert_non_null(t);
    assert_string_equal(t, "SELECT ';', \"a;b\" /* ; */ FROM t");
    free(t);
    t = source_query_text("SELECT `x;y` FROM t", 1, &at, &err);
    assert_non_null(t);
    free(t);
    t = source_query_text("SELECT 'it\\'s;' FROM t", 1, &at, &err);
    assert_non_null(t);
    free(t);

    assert_null(source_query_text("DELETE FROM t", 0, &at, &err));
    assert_int_equal(err.code, SRC_E_USAGE);
    assert_int_equal(at, 0);
    assert_non_null(strstr(err.msg, "'DELETE...'"));
    assert_null(source_query_text("  \n", 0, &at, &err));
    assert_non_null(strstr(err.msg, "an empty text"));
    assert_null(source_query_text("SELECT 1; DROP TABLE t", 0, &at, &err));
    assert_int_equal(at, 10);
    assert_non_null(strstr(err.msg, "one statement"));
    assert_null(source_query_text("SELECT 'open", 0, &at, &err));
    assert_int_equal(at, 7);
    assert_null(source_query_text("SELECT 1 /* open", 0, &at, &err));
    assert_non_null(strstr(err.msg, "comment"));
    assert_null(source_query_text("selection", 0, &at, &err));
}

static int add(source *s, const char *sql, int *at, source_error *err)
{
    return s->ops->add_query(s, sql, "q", at, err);
}

static void sqlite_add(void **state)
{
    (void)state;
    source_error err;
    source *s = source_sqlite_open(dbpath, &err);
    assert_non_null(s);
    const source_schema *sch = s->ops->describe(s, &err);
    assert_non_null(sch);
    int ntables = sch->ntables, at;
    int t = add(s,
                "SELECT b.id, a.name, b.price, b.at, a.name || '/' || b.id AS label, "
                "b.price * 2 AS twice FROM b LEFT JOIN a ON a.id = b.a_id ORDER BY b.id;",
                &at, &err);
    assert_int_equal(t, ntables);
    sch = s->ops->describe(s, &err);
    assert_int_equal(sch->ntables, ntables + 1);
    const source_table *tb = &sch->tables[t];
    assert_string_equal(tb->name, "q");
    assert_non_null(tb->query);
    assert_int_equal(tb->npk, 0);
    assert_int_equal(tb->ncols, 6);
    assert_string_equal(tb->cols[0].name, "id");
    assert_string_equal(tb->cols[0].decl_type, "INTEGER");
    assert_string_equal(tb->cols[2].decl_type, "NUMERIC(10,2)");
    assert_string_equal(tb->cols[3].decl_type, "DATETIME");
    /* expressions: the class of their first values */
    assert_string_equal(tb->cols[4].name, "label");
    assert_string_equal(tb->cols[4].decl_type, "TEXT");
    assert_string_equal(tb->cols[5].decl_type, "REAL");
    assert_non_null(tb->cols[5].note);

    /* one range, every row, numbered 1.., counted */
    source_range *r = NULL;
    int nr = 0;
    assert_int_equal(s->ops->split(s, t, 8, &r, &nr, &err), 0);
    assert_int_equal(nr, 1);
    assert_int_equal(s->ops->count_range(s, &r[0], &err), 4);
    assert_int_equal(s->ops->count_beyond(s, &r[0], &err), 0);
    source_reader *rd = s->ops->open_range(s, &r[0], &(src_pos){0}, &err);
    assert_non_null(rd);
    row_batch b;
    row_batch_init(&b, 16);
    assert_int_equal(s->ops->read(rd, &b, 16, &err), 4);
    assert_int_equal(b.rows[0].pos, 1);
    assert_int_equal(b.rows[3].pos, 4);
    assert_int_equal(b.rows[0].vals[0].u.i, 10);
    assert_int_equal(b.rows[0].vals[4].kind, SV_TEXT);
    assert_memory_equal(b.rows[0].vals[4].u.s.p, "one/10", 6);
    assert_int_equal(b.rows[3].vals[1].kind, SV_NULL);  /* no a for a_id 3 */
    assert_int_equal(s->ops->read(rd, &b, 16, &err), 0);
    s->ops->close_range(rd);
    row_batch_release(&b);
    source_ranges_free(r, nr);

    /* mistakes: a sentence, and where when SQLite says */
    assert_int_equal(add(s, "SELECT id FROM nope", &at, &err), -1);
    assert_int_equal(err.code, SRC_E_SCHEMA);
    assert_non_null(strstr(err.msg, "no such table: nope"));
    assert_int_equal(add(s, "SELECT id,, name FROM a", &at, &err), -1);
    assert_int_equal(at, 10);
    assert_non_null(strstr(err.msg, "syntax error"));
    assert_int_equal(add(s, "SELECT id, id FROM a", &at, &err), -1);
    assert_int_equal(err.code, SRC_E_USAGE);
    assert_non_null(strstr(err.msg, "two columns named id"));
    assert_int_equal(add(s, "SELECT id FROM a WHERE id = ?", &at, &err), -1);
    assert_non_null(strstr(err.msg, "parameter"));
    assert_int_equal(add(s, "UPDATE a SET name = 'x'", &at, &err), -1);
    assert_int_equal(err.code, SRC_E_USAGE);
    /* nothing was added by the refusals */
    sch = s->ops->describe(s, &err);
    assert_int_equal(sch->ntables, ntables + 1);
    s->ops->close(s);

    /* a file source runs no SQL */
    char csv[300];
    snprintf(csv, sizeof csv, "%s/x.csv", dir);
    FILE *f = fopen(csv, "w");
    assert_non_null(f);
    fputs("a,b\n1,2\n", f);
    fclose(f);
    s = source_open(csv, "x", NULL, &err);
    assert_non_null(s);
    assert_null(s->ops->add_query);
    s->ops->close(s);
    unlink(csv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(query_text),
        cmocka_unit_test(sqlite_add),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
