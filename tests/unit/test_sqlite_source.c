/* The SQLite source connector on databases made here (every storage class,
 * NULLs, big blobs, non-ASCII text, WITHOUT ROWID, no primary key, sparse
 * rowids, resume) and on the bundled Chinook sample. */
#include <inttypes.h>
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
#include "pos_harness.h"

static char tmpdir[256];

static int setup_dir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cqlshift-test-sqlite-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

/* Make a database at tmpdir/name from SQL; returns its path (static). */
static const char *make_db(const char *name, const char *sql)
{
    static char path[400];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    unlink(path);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("setup SQL failed: %s", msg);
    sqlite3_close(db);
    return path;
}

static source *open_ok(const char *path)
{
    source_error e;
    source *s = source_sqlite_open(path, &e);
    if (!s)
        fail_msg("open %s: %s", path, e.msg);
    return s;
}

static const source_schema *describe_ok(source *s)
{
    source_error e;
    const source_schema *sch = s->ops->describe(s, &e);
    if (!sch)
        fail_msg("describe: %s", e.msg);
    return sch;
}

static int table_index(const source_schema *sch, const char *name)
{
    for (int i = 0; i < sch->ntables; i++)
        if (!strcmp(sch->tables[i].name, name))
            return i;
    fail_msg("no table %s", name);
    return -1;
}

/* Read every row of table t through `nranges` ranges; call fn per row.
 * Returns the row count. */
typedef void (*row_fn)(const src_row *r, void *ud);

static int64_t read_all(source *s, int t, int nranges, row_fn fn, void *ud)
{
    source_error e;
    source_range *rs;
    int n;
    assert_int_equal(s->ops->split(s, t, nranges, &rs, &n, &e), 0);
    assert_true(n >= 1 && n <= (nranges < 1 ? 1 : nranges));
    row_batch b;
    row_batch_init(&b, 97);
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        assert_int_equal(rs[i].id, i);
        assert_int_equal(rs[i].table, t);
        if (i)
            assert_true(pos_i64(&rs[i].lo) == pos_i64(&rs[i - 1].hi));
        source_reader *rd = s->ops->open_range(s, &rs[i], AT(INT64_MIN), &e);
        if (!rd)
            fail_msg("open_range %s: %s", rs[i].label, e.msg);
        int got;
        while ((got = s->ops->read(rd, &b, 97, &e)) > 0) {
            for (int k = 0; k < got; k++) {
                if (fn)
                    fn(&b.rows[k], ud);
                assert_int_equal(b.rows[k].nvals, s->ops->describe(s, &e)->tables[t].ncols);
            }
            assert_int_equal(pos_i64(&b.resume), b.rows[got - 1].pos);
            total += got;
        }
        assert_int_equal(got, 0);
        s->ops->close_range(rd);
    }
    row_batch_release(&b);
    source_ranges_free(rs, n);
    return total;
}

static void test_open_errors(void **state)
{
    (void)state;
    source_error e;
    char path[400];
    snprintf(path, sizeof path, "%s/missing.db", tmpdir);
    assert_null(source_sqlite_open(path, &e));
    assert_int_equal(e.code, SRC_E_OPEN);
    char want[512];
    snprintf(want, sizeof want, "cannot open SQLite database %s: no such file", path);
    assert_string_equal(e.msg, want);

    snprintf(path, sizeof path, "%s/not-a-db.db", tmpdir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 200; i++)
        fputs("this is not a database, just some text\n", f);
    fclose(f);
    assert_null(source_sqlite_open(path, &e));
    assert_int_equal(e.code, SRC_E_OPEN);
    assert_non_null(strstr(e.msg, "not an SQLite database"));
    assert_non_null(strstr(e.msg, path));

    assert_null(source_sqlite_open(tmpdir, &e));
    assert_non_null(strstr(e.msg, "directory"));

    /* through source_open and the URI form */
    snprintf(path, sizeof path, "sqlite:%s/missing.db", tmpdir);
    assert_null(source_open(path, NULL, NULL, &e));
    assert_non_null(strstr(e.msg, "no such file"));
}

/* Every storage class, NULLs, a big blob and non-ASCII text. */
#define BIG_BLOB (3 * 1024 * 1024 + 7)

static void check_values(const src_row *r, void *ud)
{
    int *seen = ud;
    const src_value *v = r->vals;
    assert_int_equal(v[0].kind, SV_INT);
    assert_int_equal(v[0].u.i, r->pos);
    seen[r->pos]++;
    switch (r->pos) {
    case 1:
        assert_int_equal(v[1].kind, SV_INT);
        assert_int_equal(v[1].u.i, INT64_MIN);
        assert_int_equal(v[2].kind, SV_DOUBLE);
        assert_true(v[2].u.d == 0.1);
        assert_int_equal(v[3].kind, SV_TEXT);
        assert_int_equal(v[3].u.s.n, strlen("Grüße, 世界 🙂"));
        assert_memory_equal(v[3].u.s.p, "Grüße, 世界 🙂", v[3].u.s.n);
        assert_int_equal(v[4].kind, SV_BLOB);
        assert_int_equal(v[4].u.s.n, 3);
        assert_memory_equal(v[4].u.s.p, "\x00\xff\x10", 3);
        assert_int_equal(v[5].kind, SV_INT);    /* untyped column keeps the class */
        break;
    case 2:
        for (int c = 1; c < 6; c++)
            assert_int_equal(v[c].kind, SV_NULL);
        break;
    case 3:
        /* declared types do not bind values in SQLite: text in an INT column */
        assert_int_equal(v[1].kind, SV_TEXT);
        assert_int_equal(v[2].kind, SV_TEXT);
        assert_int_equal(v[3].kind, SV_TEXT);
        assert_int_equal(v[3].u.s.n, 0);
        assert_int_equal(v[4].kind, SV_BLOB);
        assert_int_equal(v[4].u.s.n, BIG_BLOB);
        for (size_t i = 0; i < BIG_BLOB; i += 4099)
            assert_int_equal((uint8_t)v[4].u.s.p[i], (uint8_t)(i * 7));
        assert_int_equal(v[5].kind, SV_DOUBLE);
        break;
    case 4:
        assert_int_equal(v[1].u.i, INT64_MAX);
        assert_int_equal(v[3].kind, SV_TEXT);
        assert_int_equal(v[3].u.s.n, 5);
        assert_memory_equal(v[3].u.s.p, "a\0b\0c", 5);  /* embedded NULs kept */
        break;
    default:
        fail_msg("unexpected rowid %" PRId64, r->pos);
    }
}

static void test_storage_classes(void **state)
{
    (void)state;
    const char *path = make_db(
        "classes.db",
        "CREATE TABLE v(id INTEGER PRIMARY KEY, i INT, d REAL, s TEXT, b BLOB, n);"
        "INSERT INTO v VALUES (1, -9223372036854775808, 0.1, 'Grüße, 世界 🙂', x'00ff10', 42);"
        "INSERT INTO v VALUES (2, NULL, NULL, NULL, NULL, NULL);"
        "INSERT INTO v VALUES (3, 'abc', 'xyz', '', randomblob(1), 2.5);"
        "INSERT INTO v VALUES (4, 9223372036854775807, 1e308, CAST(x'6100620063' AS TEXT), "
        "x'', NULL);");
    /* a big blob with a known pattern (bound, not SQL text) */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    uint8_t *big = malloc(BIG_BLOB);
    assert_non_null(big);
    for (size_t i = 0; i < BIG_BLOB; i++)
        big[i] = (uint8_t)(i * 7);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "UPDATE v SET b = ? WHERE id = 3", -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_blob(st, 1, big, BIG_BLOB, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
    free(big);

    source *s = open_ok(path);
    assert_string_equal(s->ops->name, "sqlite");
    const source_schema *sch = describe_ok(s);
    assert_int_equal(sch->ntables, 1);
    const source_table *t = &sch->tables[0];
    assert_string_equal(t->name, "v");
    assert_int_equal(t->ncols, 6);
    assert_int_equal(t->npk, 1);
    assert_int_equal(t->uses_rowid, 0);
    assert_int_equal(t->row_estimate, 4);
    assert_string_equal(t->cols[0].name, "id");
    assert_string_equal(t->cols[0].decl_type, "INTEGER");
    assert_int_equal(t->cols[0].pk_pos, 1);
    assert_string_equal(t->cols[5].name, "n");
    assert_string_equal(t->cols[5].decl_type, "");
    assert_int_equal(t->cols[5].pk_pos, 0);
    int seen[5] = {0};
    for (int nr = 1; nr <= 5; nr++) {
        memset(seen, 0, sizeof seen);
        assert_int_equal(read_all(s, 0, nr, check_values, seen), 4);
        for (int i = 1; i <= 4; i++)
            assert_int_equal(seen[i], 1);
    }
    /* a value of the batch before must not survive the next read */
    s->ops->close(s);
}

static void collect_pos(const src_row *r, void *ud)
{
    int64_t *out = ud;
    out[++out[0]] = r->pos;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void test_sparse_rowids_and_ranges(void **state)
{
    (void)state;
    /* rowids from the extremes of the int64 range and clustered in between */
    const char *path = make_db(
        "sparse.db",
        "CREATE TABLE s(id INTEGER PRIMARY KEY, v TEXT);"
        "INSERT INTO s VALUES (-9223372036854775808, 'min'), (-5, 'a'), (0, 'z'), (1, 'b'),"
        " (2, 'c'), (1000, 'd'), (1000000000000, 'e'), (9223372036854775807, 'max');"
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000)"
        " INSERT INTO s SELECT 5000000 + x * x, 'n' FROM c;"
        "CREATE TABLE e(id INTEGER PRIMARY KEY);"
        "CREATE TABLE one(id INTEGER PRIMARY KEY); INSERT INTO one VALUES (7);");
    source *s = open_ok(path);
    const source_schema *sch = describe_ok(s);
    int ts = table_index(sch, "s");
    int64_t *pos = malloc(sizeof *pos * 6000);
    assert_non_null(pos);
    for (int nr = 1; nr <= 64; nr = nr * 3 + 1) {
        pos[0] = 0;
        assert_int_equal(read_all(s, ts, nr, collect_pos, pos), 5008);
        qsort(pos + 1, (size_t)pos[0], sizeof *pos, cmp64);
        for (int i = 2; i <= pos[0]; i++)
            assert_true(pos[i] > pos[i - 1]);   /* each rowid once */
        assert_int_equal(pos[1], INT64_MIN);
        assert_int_equal(pos[pos[0]], INT64_MAX);
    }
    /* the empty table is one range; a one-row table cannot be split */
    source_range *rs;
    int n;
    source_error e;
    assert_int_equal(s->ops->split(s, table_index(sch, "e"), 8, &rs, &n, &e), 0);
    assert_int_equal(n, 1);
    source_ranges_free(rs, n);
    assert_int_equal(read_all(s, table_index(sch, "e"), 8, NULL, NULL), 0);
    assert_int_equal(s->ops->split(s, table_index(sch, "one"), 8, &rs, &n, &e), 0);
    assert_int_equal(n, 1);
    source_ranges_free(rs, n);
    free(pos);
    s->ops->close(s);
}

/* Split, read and count agree at the edges: fewer rowids than ranges,
 * rowids at both ends of int64 (no bound overflows, no row read twice),
 * and every range is neither empty of span nor inverted. */
static void test_split_edges(void **state)
{
    (void)state;
    const char *path = make_db(
        "edges.db",
        "CREATE TABLE small(id INTEGER PRIMARY KEY, v INT);"
        "INSERT INTO small VALUES (1,1),(2,2),(3,3),(4,4),(5,5),(6,6),(7,7),(8,8),(9,9),(10,10);"
        "CREATE TABLE top(id INTEGER PRIMARY KEY, v INT);"
        "INSERT INTO top VALUES (9223372036854775798,0),(9223372036854775800,1),"
        "(9223372036854775802,2),(9223372036854775804,3),(9223372036854775807,4);"
        "CREATE TABLE ends(id INTEGER PRIMARY KEY, v INT);"
        "INSERT INTO ends VALUES (-9223372036854775808,0),(-9223372036854775807,1),(0,2),"
        "(9223372036854775807,3);");
    source *s = open_ok(path);
    describe_ok(s);
    const char *names[] = {"small", "top", "ends"};
    const int64_t rows[] = {10, 5, 4};
    for (int k = 0; k < 3; k++) {
        int t = table_index(s->ops->describe(s, NULL), names[k]);
        for (int nranges = 1; nranges <= 16; nranges++) {
            source_error e;
            source_range *rs;
            int n;
            assert_int_equal(s->ops->split(s, t, nranges, &rs, &n, &e), 0);
            int64_t counted = 0;
            for (int i = 0; i < n; i++) {
                if (i)
                    assert_true(pos_i64(&rs[i].lo) < pos_i64(&rs[i].hi));
                counted += s->ops->count_range(s, &rs[i], &e);
            }
            source_ranges_free(rs, n);
            assert_int_equal(counted, rows[k]);
            assert_int_equal(read_all(s, t, nranges, NULL, NULL), rows[k]);
        }
    }
    s->ops->close(s);
}

static void test_resume_from_rowid(void **state)
{
    (void)state;
    const char *path = make_db(
        "resume.db",
        "CREATE TABLE r(id INTEGER PRIMARY KEY, v INT);"
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000)"
        " INSERT INTO r SELECT x * 3, x FROM c;");
    source *s = open_ok(path);
    describe_ok(s);
    source_error e;
    source_range *rs;
    int n;
    assert_int_equal(s->ops->split(s, 0, 4, &rs, &n, &e), 0);
    assert_int_equal(n, 4);
    row_batch b;
    row_batch_init(&b, 100);
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        /* read one batch, "crash", resume from the batch's resume point */
        source_reader *rd = s->ops->open_range(s, &rs[i], AT(INT64_MIN), &e);
        assert_non_null(rd);
        int got = s->ops->read(rd, &b, 50, &e);
        assert_int_equal(got, 50);
        int64_t after = pos_i64(&b.resume), last = b.rows[49].pos;
        assert_int_equal(after, last);
        total += got;
        s->ops->close_range(rd);
        rd = s->ops->open_range(s, &rs[i], AT(after), &e);
        assert_non_null(rd);
        int64_t prev = after;
        while ((got = s->ops->read(rd, &b, 100, &e)) > 0) {
            for (int k = 0; k < got; k++) {
                assert_true(b.rows[k].pos > prev);
                assert_true(b.rows[k].pos <= pos_i64(&rs[i].hi));
                prev = b.rows[k].pos;
            }
            total += got;
        }
        assert_int_equal(got, 0);
        /* reading after the end stays at the end */
        assert_int_equal(s->ops->read(rd, &b, 100, &e), 0);
        s->ops->close_range(rd);
        /* resuming at the range's end reads nothing */
        rd = s->ops->open_range(s, &rs[i], AT(prev), &e);
        assert_non_null(rd);
        assert_int_equal(s->ops->read(rd, &b, 100, &e), 0);
        s->ops->close_range(rd);
    }
    assert_int_equal(total, 1000);
    row_batch_release(&b);
    source_ranges_free(rs, n);
    s->ops->close(s);
}

static void check_without_rowid(const src_row *r, void *ud)
{
    int64_t *ord = ud;
    assert_int_equal(r->pos, ++*ord);   /* ordinal in key order */
    assert_int_equal(r->vals[0].kind, SV_TEXT);
    assert_int_equal(r->vals[1].kind, SV_INT);
}

static void check_no_pk(const src_row *r, void *ud)
{
    int *n = ud;
    assert_int_equal(r->vals[0].kind, SV_INT);
    assert_int_equal(r->vals[0].u.i, r->pos);   /* the rowid column */
    assert_int_equal(r->vals[1].kind, SV_TEXT);
    (*n)++;
}

static void test_without_rowid_and_no_pk(void **state)
{
    (void)state;
    const char *path = make_db(
        "kinds.db",
        "CREATE TABLE wr(k TEXT, n INT, v BLOB, PRIMARY KEY (k, n)) WITHOUT ROWID;"
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 250)"
        " INSERT INTO wr SELECT 'k' || (x % 7), x, randomblob(x % 5) FROM c;"
        "CREATE TABLE nopk(a TEXT, b REAL);"
        "INSERT INTO nopk VALUES ('x', 1), ('y', 2), ('z', NULL);"
        "DELETE FROM nopk WHERE a = 'y';"
        "CREATE TABLE hidden(rowid TEXT, b INT);"   /* a column hides the name rowid */
        "INSERT INTO hidden VALUES ('first', 1), ('second', 2);"
        "CREATE VIRTUAL TABLE IF NOT EXISTS rt USING rtree(id, minx, maxx);"
        "CREATE VIEW vw AS SELECT * FROM nopk;");
    source *s = open_ok(path);
    const source_schema *sch = describe_ok(s);
    /* views, virtual tables and their shadow tables are not migrated */
    assert_int_equal(sch->ntables, 3);
    int tw = table_index(sch, "wr");
    const source_table *t = &sch->tables[tw];
    assert_int_equal(t->npk, 2);
    assert_int_equal(t->uses_rowid, 0);
    assert_int_equal(t->cols[1].pk_pos, 2);
    assert_int_equal(t->row_estimate, 250);
    int64_t ord = 0;
    assert_int_equal(read_all(s, tw, 8, check_without_rowid, &ord), 250);

    /* resume by offset */
    source_error e;
    source_range *rs;
    int n;
    assert_int_equal(s->ops->split(s, tw, 8, &rs, &n, &e), 0);
    assert_int_equal(n, 1);
    row_batch b;
    row_batch_init(&b, 100);
    source_reader *rd = s->ops->open_range(s, &rs[0], AT(INT64_MIN), &e);
    assert_int_equal(s->ops->read(rd, &b, 100, &e), 100);
    assert_int_equal(pos_i64(&b.resume), 100);
    char key101[64];
    s->ops->read(rd, &b, 1, &e);
    assert_int_equal(b.rows[0].pos, 101);
    snprintf(key101, sizeof key101, "%.*s/%" PRId64, (int)b.rows[0].vals[0].u.s.n,
             b.rows[0].vals[0].u.s.p, b.rows[0].vals[1].u.i);
    s->ops->close_range(rd);
    rd = s->ops->open_range(s, &rs[0], AT(100), &e);
    assert_int_equal(s->ops->read(rd, &b, 100, &e), 100);
    char again[64];
    snprintf(again, sizeof again, "%.*s/%" PRId64, (int)b.rows[0].vals[0].u.s.n,
             b.rows[0].vals[0].u.s.p, b.rows[0].vals[1].u.i);
    assert_string_equal(again, key101);
    assert_int_equal(b.rows[0].pos, 101);
    assert_int_equal(s->ops->read(rd, &b, 100, &e), 50);
    assert_int_equal(pos_i64(&b.resume), 250);
    assert_int_equal(s->ops->read(rd, &b, 100, &e), 0);
    s->ops->close_range(rd);
    source_ranges_free(rs, n);
    row_batch_release(&b);

    int tn = table_index(sch, "nopk");
    t = &sch->tables[tn];
    assert_int_equal(t->uses_rowid, 1);
    assert_int_equal(t->npk, 1);
    assert_int_equal(t->ncols, 3);
    assert_string_equal(t->cols[0].name, "rowid");
    assert_string_equal(t->cols[0].decl_type, "INTEGER");
    assert_int_equal(t->cols[0].pk_pos, 1);
    assert_string_equal(t->cols[1].name, "a");
    int cnt = 0;
    assert_int_equal(read_all(s, tn, 3, check_no_pk, &cnt), 2);

    int th = table_index(sch, "hidden");
    t = &sch->tables[th];
    assert_int_equal(t->uses_rowid, 1);
    assert_string_equal(t->cols[0].name, "_rowid_");
    assert_string_equal(t->cols[1].name, "rowid");
    cnt = 0;
    assert_int_equal(read_all(s, th, 2, check_no_pk, &cnt), 2);
    s->ops->close(s);
}

/* Chinook: 11 tables, every row read once (counts equal COUNT(*)). */
static void test_chinook(void **state)
{
    (void)state;
    const char *dir = getenv("CQLSHIFT_SOURCE_DIR");
    char path[512];
    snprintf(path, sizeof path, "%s/datasets/chinook/Chinook_Sqlite.sqlite", dir ? dir : ".");
    if (access(path, R_OK) != 0)
        snprintf(path, sizeof path, "/work/shared/datasets/chinook/Chinook_Sqlite.sqlite");
    source *s = open_ok(path);
    const source_schema *sch = describe_ok(s);
    assert_int_equal(sch->ntables, 11);
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    int64_t all = 0;
    for (int t = 0; t < sch->ntables; t++) {
        char sql[300];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\"", sch->tables[t].name);
        sqlite3_stmt *st;
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        int64_t want = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        assert_int_equal(sch->tables[t].row_estimate, want);
        assert_int_equal(sch->tables[t].uses_rowid, 0);
        assert_true(sch->tables[t].npk >= 1);
        assert_int_equal(read_all(s, t, 1, NULL, NULL), want);
        assert_int_equal(read_all(s, t, 6, NULL, NULL), want);
        all += want;
    }
    sqlite3_close(db);
    assert_int_equal(all, 15607);
    const source_table *pt = &sch->tables[table_index(sch, "PlaylistTrack")];
    assert_int_equal(pt->npk, 2);
    const source_table *inv = &sch->tables[table_index(sch, "Invoice")];
    int found = 0;
    for (int c = 0; c < inv->ncols; c++)
        if (!strcmp(inv->cols[c].name, "Total")) {
            assert_string_equal(inv->cols[c].decl_type, "NUMERIC(10,2)");
            assert_int_equal(inv->cols[c].notnull, 1);
            found = 1;
        }
    assert_true(found);
    /* Chinook's foreign keys and their indexes */
    const source_table *tr = &sch->tables[table_index(sch, "Track")];
    assert_int_equal(tr->nfkeys, 3);
    assert_string_equal(tr->fkeys[0].ref_table, "Album");
    assert_int_equal(tr->fkeys[0].ref_index, table_index(sch, "Album"));
    assert_string_equal(tr->cols[tr->fkeys[0].cols[0]].name, "AlbumId");
    assert_string_equal(tr->fkeys[0].ref_cols[0], "AlbumId");
    assert_int_equal(tr->nindexes, 3);
    assert_string_equal(tr->sql_name, "\"Track\"");
    const source_table *em = &sch->tables[table_index(sch, "Employee")];
    assert_int_equal(em->nfkeys, 1);
    assert_int_equal(em->fkeys[0].ref_index, table_index(sch, "Employee"));
    assert_int_equal(pt->nfkeys, 2);
    assert_int_equal(pt->nindexes, 2);
    s->ops->close(s);
}

static const source_fkey *fkey_to(const source_table *t, const char *ref, int nth)
{
    for (int k = 0; k < t->nfkeys; k++)
        if (!strcmp(t->fkeys[k].ref_table, ref) && nth-- == 0)
            return &t->fkeys[k];
    fail_msg("table %s has no foreign key to %s", t->name, ref);
    return NULL;
}

static const source_index *index_named(const source_table *t, const char *name)
{
    for (int k = 0; k < t->nindexes; k++)
        if (!strcmp(t->indexes[k].name, name))
            return &t->indexes[k];
    fail_msg("table %s has no index %s", t->name, name);
    return NULL;
}

/* Foreign keys (simple, composite in another order than the parent's key,
 * implicit parent key, self-reference, to a missing table, parent named in
 * another case), indexes (unique, UNIQUE constraint, expression, partial;
 * never the primary key's own), sizes and quoted names; column indexes
 * count the rowid column of a keyless table. */
static void test_catalog(void **state)
{
    (void)state;
    const char *path = make_db(
        "catalog.db",
        "CREATE TABLE \"Art ist\" (id INTEGER PRIMARY KEY, name TEXT UNIQUE);"
        "CREATE TABLE pair (a INT, b INT, note TEXT, PRIMARY KEY (a, b)) WITHOUT ROWID;"
        "CREATE TABLE code (c TEXT PRIMARY KEY, label TEXT);"
        "CREATE TABLE album (id INTEGER PRIMARY KEY, artist INT REFERENCES \"ART IST\"(ID), "
        "  title TEXT, year INT, code TEXT REFERENCES Code);"
        "CREATE TABLE keyless (x INT, y INT, up INT REFERENCES keyless(x), "
        "  FOREIGN KEY (y, x) REFERENCES pair(b, a), FOREIGN KEY (x) REFERENCES gone(id));"
        "CREATE INDEX keyless_y ON keyless(y, x);"
        "CREATE UNIQUE INDEX album_title ON album(title);"
        "CREATE INDEX album_lower ON album(lower(title), year) WHERE year > 2000;"
        "CREATE INDEX \"with \"\"quote\" ON pair(note) WHERE note IS NOT NULL;"
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) "
        "INSERT INTO album(id, title) SELECT i, printf('t%05d', i) FROM n;");
    source *s = open_ok(path);
    const source_schema *sch = describe_ok(s);
    int ia = table_index(sch, "Art ist"), ip = table_index(sch, "pair"),
        ic = table_index(sch, "code"), ial = table_index(sch, "album"),
        ik = table_index(sch, "keyless");

    const source_table *art = &sch->tables[ia];
    assert_string_equal(art->sql_name, "\"Art ist\"");
    assert_int_equal(art->nfkeys, 0);
    assert_int_equal(art->nindexes, 1);     /* the UNIQUE constraint's index */
    assert_int_equal(art->indexes[0].unique, 1);
    assert_int_equal(art->indexes[0].ncols, 1);
    assert_string_equal(art->cols[art->indexes[0].cols[0]].name, "name");

    const source_table *al = &sch->tables[ial];
    assert_int_equal(al->nfkeys, 2);
    /* declaration order; the parent as the schema spells it */
    assert_string_equal(al->fkeys[0].ref_table, "Art ist");
    assert_int_equal(al->fkeys[0].ref_index, ia);
    assert_string_equal(al->fkeys[0].ref_cols[0], "id");
    assert_string_equal(al->cols[al->fkeys[0].cols[0]].name, "artist");
    assert_string_equal(al->fkeys[0].name, "");
    /* REFERENCES Code: the parent's primary key */
    assert_string_equal(al->fkeys[1].ref_table, "code");
    assert_int_equal(al->fkeys[1].ref_index, ic);
    assert_string_equal(al->fkeys[1].ref_cols[0], "c");
    assert_string_equal(al->cols[al->fkeys[1].cols[0]].name, "code");
    assert_int_equal(al->nindexes, 2);
    const source_index *ix = index_named(al, "album_title");
    assert_int_equal(ix->unique, 1);
    assert_null(ix->note);
    ix = index_named(al, "album_lower");
    assert_int_equal(ix->unique, 0);
    assert_int_equal(ix->ncols, 2);
    assert_int_equal(ix->cols[0], -1);
    assert_string_equal(al->cols[ix->cols[1]].name, "year");
    assert_non_null(ix->note);
    assert_non_null(strstr(ix->note, "expression index"));
    assert_non_null(strstr(ix->note, "WHERE year > 2000"));
    /* 2000 rows of text do not fit in one page: the size is the table's
     * pages (dbstat), or unknown without it */
    assert_true(al->bytes_estimate == -1 || al->bytes_estimate > 4096);
    assert_true(al->bytes_estimate == -1 || al->bytes_estimate % 4096 == 0);

    const source_table *pr = &sch->tables[ip];
    assert_int_equal(pr->nindexes, 1);      /* not the WITHOUT ROWID key's own */
    ix = index_named(pr, "with \"quote");
    assert_string_equal(pr->cols[ix->cols[0]].name, "note");
    assert_non_null(strstr(ix->note, "partial index (WHERE note IS NOT NULL)"));

    const source_table *k = &sch->tables[ik];
    assert_int_equal(k->uses_rowid, 1);
    assert_string_equal(k->cols[0].name, "rowid");
    assert_string_equal(k->sql_name, "\"keyless\"");
    assert_int_equal(k->nfkeys, 3);
    const source_fkey *fk = fkey_to(k, "keyless", 0);    /* self-reference */
    assert_int_equal(fk->ref_index, ik);
    assert_int_equal(fk->ncols, 1);
    assert_int_equal(fk->cols[0], 3);                   /* rowid, x, y, up */
    assert_string_equal(fk->ref_cols[0], "x");
    fk = fkey_to(k, "pair", 0);                         /* composite, other order */
    assert_int_equal(fk->ref_index, ip);
    assert_int_equal(fk->ncols, 2);
    assert_int_equal(fk->cols[0], 2);
    assert_int_equal(fk->cols[1], 1);
    assert_string_equal(fk->ref_cols[0], "b");
    assert_string_equal(fk->ref_cols[1], "a");
    fk = fkey_to(k, "gone", 0);                         /* no such table */
    assert_int_equal(fk->ref_index, -1);
    assert_string_equal(fk->ref_cols[0], "id");
    ix = index_named(k, "keyless_y");
    assert_int_equal(ix->ncols, 2);
    assert_int_equal(ix->cols[0], 2);
    assert_int_equal(ix->cols[1], 1);
    s->ops->close(s);
}

/* profile: the kinds of values per column and the range of the integers,
 * in one query, for any column name. */
static void test_profile(void **state)
{
    (void)state;
    const char *path = make_db(
        "profile.db",
        "CREATE TABLE \"odd \"\"t\" (id INTEGER PRIMARY KEY, \"a b\", at DATETIME, e);"
        "INSERT INTO \"odd \"\"t\" VALUES (1, 5, 1706708700, NULL),"
        " (2, 2.5, '2024-01-31', NULL), (3, 'x', -86400, NULL), (4, x'00', NULL, NULL),"
        " (5, -9223372036854775808, 9223372036854775807, NULL);");
    source *s = open_ok(path);
    const source_schema *sch = describe_ok(s);
    assert_non_null(s->ops->profile);
    int cols[] = {1, 2, 3};
    source_column_profile p[3];
    source_error e;
    assert_int_equal(s->ops->profile(s, 0, cols, 3, p, &e), 0);
    assert_int_equal(sch->tables[0].ncols, 4);
    assert_true(p[0].nint == 2 && p[0].nreal == 1 && p[0].ntext == 1 && p[0].nblob == 1);
    assert_true(p[0].int_min == INT64_MIN && p[0].int_max == 5);
    assert_true(p[1].nint == 3 && p[1].nreal == 0 && p[1].ntext == 1 && p[1].nblob == 0);
    assert_true(p[1].int_min == -86400 && p[1].int_max == INT64_MAX);
    assert_true(p[2].nint + p[2].nreal + p[2].ntext + p[2].nblob == 0);
    int bad[] = {7};
    assert_int_equal(s->ops->profile(s, 0, bad, 1, p, &e), -1);
    assert_int_equal(e.code, SRC_E_USAGE);
    s->ops->close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_storage_classes),
        cmocka_unit_test(test_sparse_rowids_and_ranges),
        cmocka_unit_test(test_split_edges),
        cmocka_unit_test(test_resume_from_rowid),
        cmocka_unit_test(test_without_rowid_and_no_pk),
        cmocka_unit_test(test_chinook),
        cmocka_unit_test(test_profile),
        cmocka_unit_test(test_catalog),
    };
    return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
