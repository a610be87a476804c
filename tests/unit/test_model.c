/* The automatic target model: SQLite type mapping, names and keys from
 * hand-made schemas, and the exact DDL and INSERT text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "load/loader.h"
#include "model/model.h"

/* The CQL text of the type a declared SQLite type maps to, and whether a
 * note was attached. */
static void check_map(const char *decl, const char *want, int want_note)
{
    const char *note = (const char *)1;
    cql_type *t = model_map_sqlite_type(decl, &note);
    assert_non_null(t);
    cs_buf b;
    cs_buf_init(&b, 256);
    assert_int_equal(cql_type_format(t, &b), 0);
    assert_int_equal(cs_buf_put_u8(&b, 0), 0);
    if (strcmp((const char *)b.data, want))
        fail_msg("%s: mapped to %s, want %s", decl, (const char *)b.data, want);
    if ((note != NULL) != want_note)
        fail_msg("%s: note %s, want %s", decl, note ? note : "(none)", want_note ? "one" : "none");
    cs_buf_release(&b);
    cql_type_free(t);
}

static void test_type_mapping(void **ts)
{
    (void)ts;
    /* Chinook's types */
    check_map("INTEGER", "bigint", 0);
    check_map("NVARCHAR(160)", "text", 0);
    check_map("DATETIME", "timestamp", 1);
    check_map("NUMERIC(10,2)", "decimal", 1);
    /* affinity rule 1: INT anywhere */
    check_map("INT", "bigint", 0);
    check_map("int", "bigint", 0);
    check_map("TINYINT", "bigint", 0);
    check_map("SMALLINT", "bigint", 0);
    check_map("MEDIUMINT", "bigint", 0);
    check_map("BIGINT", "bigint", 0);
    check_map("UNSIGNED BIG INT", "bigint", 0);
    check_map("INT2", "bigint", 0);
    check_map("INT8", "bigint", 0);
    check_map("integer(11)", "bigint", 0);
    /* rule 2: CHAR, CLOB, TEXT */
    check_map("CHARACTER(20)", "text", 0);
    check_map("VARCHAR(255)", "text", 0);
    check_map("VARYING CHARACTER(255)", "text", 0);
    check_map("NCHAR(55)", "text", 0);
    check_map("NATIVE CHARACTER(70)", "text", 0);
    check_map("NVARCHAR(100)", "text", 0);
    check_map("TEXT", "text", 0);
    check_map("CLOB", "text", 0);
    /* rule 3: BLOB or no type */
    check_map("BLOB", "blob", 0);
    check_map("", "blob", 1);
    check_map(NULL, "blob", 1);
    /* rule 4 */
    check_map("REAL", "double", 0);
    check_map("DOUBLE", "double", 0);
    check_map("DOUBLE PRECISION", "double", 0);
    check_map("FLOAT", "double", 0);
    /* rule 5 names we know better */
    check_map("NUMERIC", "decimal", 1);
    check_map("DECIMAL(10,5)", "decimal", 1);
    check_map("MONEY", "decimal", 1);
    check_map("BOOLEAN", "boolean", 1);
    check_map("bool", "boolean", 1);
    check_map("DATE", "date", 1);
    check_map("TIME", "time", 1);
    check_map("TIMESTAMP", "timestamp", 1);
    check_map("timestamp with time zone", "timestamp", 1);
    check_map("DATETIME2(7)", "timestamp", 1);
    check_map("UUID", "uuid", 1);
    check_map("JSON", "text", 0);
    /* rule 5 names we do not know: text keeps any value */
    check_map("STRANGE", "text", 1);
    /* spacing and case */
    check_map("  varchar ( 10 )", "text", 0);
    check_map("Unsigned   Big  Int", "bigint", 0);
}

static source_column col(const char *name, const char *decl, int pk)
{
    source_column c = {.name = (char *)name, .decl_type = (char *)decl, .pk_pos = pk};
    return c;
}

static const char *ddl_of(const target_table *t, cs_buf *b)
{
    cs_buf_reset(b);
    assert_int_equal(model_table_ddl(t, b), 0);
    return (const char *)b->data;
}

static const char *insert_of(const target_table *t, cs_buf *b)
{
    cs_buf_reset(b);
    assert_int_equal(model_insert_cql(t, b), 0);
    return (const char *)b->data;
}

static void test_composite_key_and_names(void **ts)
{
    (void)ts;
    source_column c1[] = {col("PlaylistId", "INTEGER", 1), col("TrackId", "INTEGER", 2)};
    source_column c2[] = {col("Name", "NVARCHAR(40)", 0), col("Order", "INTEGER", 3),
                          col("B", "TEXT", 2), col("A", "INTEGER", 1),
                          col("my col", "REAL", 0), col("quo\"te", "BLOB", 0),
                          col("Zähler", "INT", 0), col("Price", "NUMERIC(10,2)", 0)};
    source_column c3[] = {col("rowid", "INTEGER", 1), col("x", "", 0), col("token", "TEXT", 0)};
    source_table tabs[] = {
        {.name = "PlaylistTrack", .ncols = 2, .cols = c1, .npk = 2, .uses_rowid = 0, .row_estimate = 10},
        {.name = "order", .ncols = 8, .cols = c2, .npk = 3, .uses_rowid = 0, .row_estimate = -1},
        {.name = "Log Entries", .ncols = 3, .cols = c3, .npk = 1, .uses_rowid = 1, .row_estimate = -1},
    };
    source_schema sch = {3, tabs};
    model m;
    model_error e;
    assert_int_equal(model_from_source(&m, &sch, "Shop", &e), 0);
    assert_string_equal(m.keyspace, "shop");
    assert_int_equal(m.ntables, 3);

    cs_buf b;
    cs_buf_init(&b, 1 << 16);
    target_table *t = &m.tables[0];
    assert_string_equal(t->name, "playlisttrack");
    assert_int_equal(t->cols[0].kind, 1);
    assert_int_equal(t->cols[1].kind, 2);
    assert_int_equal(t->cols[1].key_pos, 0);
    assert_null(t->note);
    assert_string_equal(ddl_of(t, &b),
                        "CREATE TABLE IF NOT EXISTS shop.playlisttrack (\n"
                        "    playlistid bigint,\n"
                        "    trackid bigint,\n"
                        "    PRIMARY KEY ((playlistid), trackid)\n"
                        ") WITH CLUSTERING ORDER BY (trackid ASC)");
    assert_string_equal(insert_of(t, &b),
                        "INSERT INTO shop.playlisttrack (playlistid, trackid) VALUES (?, ?) "
                        "USING TIMESTAMP ?");

    t = &m.tables[1];
    assert_string_equal(t->name, "order");
    /* key order: A (1), B (2), Order (3), then the rest in source order */
    assert_int_equal(t->cols[0].source_col, 3);
    assert_int_equal(t->cols[1].source_col, 2);
    assert_int_equal(t->cols[2].source_col, 1);
    assert_int_equal(t->cols[2].kind, 2);
    assert_int_equal(t->cols[2].key_pos, 1);
    assert_int_equal(t->cols[3].source_col, 0);
    assert_int_equal(t->cols[3].kind, 0);
    assert_non_null(t->cols[7].note);
    assert_non_null(strstr(t->cols[7].note, "NUMERIC(10,2) -> decimal"));
    /* column names are folded like table names, with a note */
    assert_string_equal(t->cols[4].note, "renamed from \"my col\"");
    assert_string_equal(t->cols[6].note, "renamed from \"Zähler\"");
    assert_null(t->cols[3].note);   /* Name -> name: only the case changed */
    assert_string_equal(ddl_of(t, &b),
                        "CREATE TABLE IF NOT EXISTS shop.\"order\" (\n"
                        "    a bigint,\n"
                        "    b text,\n"
                        "    \"order\" bigint,\n"
                        "    name text,\n"
                        "    my_col double,\n"
                        "    quo_te blob,\n"
                        "    z_hler bigint,\n"
                        "    price decimal,\n"
                        "    PRIMARY KEY ((a), b, \"order\")\n"
                        ") WITH CLUSTERING ORDER BY (b ASC, \"order\" ASC)");
    assert_string_equal(insert_of(t, &b),
                        "INSERT INTO shop.\"order\" (a, b, \"order\", name, my_col, "
                        "quo_te, z_hler, price) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                        "USING TIMESTAMP ?");

    t = &m.tables[2];
    assert_string_equal(t->name, "log_entries");
    assert_non_null(t->note);
    assert_non_null(strstr(t->note, "no primary key"));
    assert_non_null(strstr(t->note, "renamed from Log Entries"));
    assert_string_equal(ddl_of(t, &b),
                        "CREATE TABLE IF NOT EXISTS shop.log_entries (\n"
                        "    rowid bigint,\n"
                        "    x blob,\n"
                        "    \"token\" text,\n"
                        "    PRIMARY KEY ((rowid))\n"
                        ")");
    assert_non_null(t->cols[1].note);

    cs_buf_reset(&b);
    assert_int_equal(model_keyspace_ddl("shop", NULL, 1, &b), 0);
    assert_string_equal((const char *)b.data,
                        "CREATE KEYSPACE IF NOT EXISTS shop WITH replication = "
                        "{'class': 'SimpleStrategy', 'replication_factor': 1}");
    cs_buf_reset(&b);
    assert_int_equal(model_keyspace_ddl("shop",
                                        "{\"class\": \"NetworkTopologyStrategy\", \"dc1\": 3, "
                                        "\"dc'2\": \"2\"}",
                                        0, &b),
                     0);
    assert_string_equal((const char *)b.data,
                        "CREATE KEYSPACE IF NOT EXISTS shop WITH replication = "
                        "{'class': 'NetworkTopologyStrategy', 'dc1': 3, 'dc''2': '2'} AND "
                        "durable_writes = false");
    cs_buf_reset(&b);
    assert_int_equal(model_keyspace_ddl("shop", "[1]", 1, &b), -1);
    cs_buf_release(&b);
    model_release(&m);
}

static void test_refusals(void **ts)
{
    (void)ts;
    model m;
    model_error e;
    source_column c[] = {col("a", "INT", 1)};
    source_table t1[] = {{.name = "T", .ncols = 1, .cols = c, .npk = 1, .uses_rowid = 0, .row_estimate = -1}, {.name = "t!", .ncols = 1, .cols = c, .npk = 1, .uses_rowid = 0, .row_estimate = -1}, {.name = "t?", .ncols = 1, .cols = c, .npk = 1, .uses_rowid = 0, .row_estimate = -1}};
    source_schema s1 = {1, t1};
    assert_int_equal(model_from_source(&m, &s1, "bad-name", &e), -1);
    assert_int_equal(e.code, 1);
    assert_non_null(strstr(e.msg, "bad-name"));
    assert_int_equal(model_from_source(&m, &s1, "", &e), -1);
    assert_int_equal(model_from_source(&m, &s1, "k23456789012345678901234567890123456789012345678x",
                                       &e), -1);
    /* "t!" and "t?" both become t_ */
    source_schema s2 = {3, t1};
    assert_int_equal(model_from_source(&m, &s2, "ks", &e), -1);
    assert_int_equal(e.code, 1);
    assert_non_null(strstr(e.msg, "t!"));
    assert_non_null(strstr(e.msg, "t?"));
    /* every colliding group is named, not only the first pair */
    source_table tg[] = {{.name = "Users", .ncols = 1, .cols = c, .npk = 1, .row_estimate = -1},
                         {.name = "orders", .ncols = 1, .cols = c, .npk = 1, .row_estimate = -1},
                         {.name = "users", .ncols = 1, .cols = c, .npk = 1, .row_estimate = -1},
                         {.name = "ORDERS", .ncols = 1, .cols = c, .npk = 1, .row_estimate = -1},
                         {.name = "USERS", .ncols = 1, .cols = c, .npk = 1, .row_estimate = -1},
                         {.name = "x", .ncols = 1, .cols = c, .npk = 1, .row_estimate = -1}};
    source_schema sg = {6, tg};
    assert_int_equal(model_from_source(&m, &sg, "ks", &e), -1);
    assert_int_equal(e.code, 1);
    assert_non_null(strstr(e.msg, "2 groups"));
    assert_non_null(strstr(e.msg, "Users and users and USERS -> ks.users"));
    assert_non_null(strstr(e.msg, "orders and ORDERS -> ks.orders"));
    /* two columns that fold alike */
    source_column fc[] = {col("id", "INT", 1), col("unit price", "REAL", 0),
                          col("Unit_Price", "REAL", 0)};
    source_table tf[] = {{.name = "items", .ncols = 3, .cols = fc, .npk = 1, .uses_rowid = 0, .row_estimate = -1}};
    source_schema sf = {1, tf};
    assert_int_equal(model_from_source(&m, &sf, "ks", &e), -1);
    assert_int_equal(e.code, 1);
    assert_string_equal(e.msg, "table items: columns \"unit price\" and \"Unit_Price\" both "
                               "become unit_price (column names are folded to lower-case letters, "
                               "digits and '_'); rename one in the source, leave the table out "
                               "with --tables, or write a plan (cqlshift plan names them apart)");
    /* ... which a plan's model names apart, with a note */
    assert_int_equal(model_from_source_tables(&m, &sf, "ks", NULL, 1, &e), 0);
    assert_string_equal(m.tables[0].cols[2].name, "unit_price_2");
    assert_non_null(strstr(m.tables[0].cols[2].note, "renamed from \"Unit_Price\""));
    model_release(&m);
    /* no key at all */
    source_column nk[] = {col("a", "INT", 0)};
    source_table t3[] = {{.name = "nokey", .ncols = 1, .cols = nk, .npk = 0, .uses_rowid = 0, .row_estimate = -1}};
    source_schema s3 = {1, t3};
    assert_int_equal(model_from_source(&m, &s3, "ks", &e), -1);
    assert_non_null(strstr(e.msg, "nokey"));
    /* an empty schema is a valid (empty) model */
    source_schema s4 = {0, NULL};
    assert_int_equal(model_from_source(&m, &s4, "ks", &e), 0);
    assert_int_equal(m.ntables, 0);
    model_release(&m);
    /* long table names are cut to Cassandra's 48 characters */
    source_table t5[] = {{.name = "a_very_long_table_name_that_goes_on_and_on_and_on_forever",
                           .ncols = 1, .cols = c, .npk = 1, .row_estimate = -1}};
    source_schema s5 = {1, t5};
    assert_int_equal(model_from_source(&m, &s5, "ks", &e), 0);
    assert_int_equal(strlen(m.tables[0].name), 48);
    assert_non_null(m.tables[0].note);
    model_release(&m);
}

static void check_replication(const char *spec, const char *want_json, const char *want_msg)
{
    char *json = (char *)1;
    model_error e = {0};
    int rc = model_parse_replication(spec, &json, &e);
    if (want_json) {
        if (rc)
            fail_msg("%s: refused: %s", spec, e.msg);
        assert_string_equal(json, want_json);
        free(json);
    } else {
        if (!rc)
            fail_msg("%s: accepted as %s", spec, json);
        assert_null(json);
        assert_int_equal(e.code, 1);
        if (!strstr(e.msg, want_msg))
            fail_msg("%s: message '%s' lacks '%s'", spec, e.msg, want_msg);
    }
}

static void test_replication_option(void **ts)
{
    (void)ts;
    check_replication("SimpleStrategy:3", "{\"class\":\"SimpleStrategy\",\"replication_factor\":3}",
                      NULL);
    check_replication("simplestrategy:1", "{\"class\":\"SimpleStrategy\",\"replication_factor\":1}",
                      NULL);
    check_replication("dc1:3,dc-2.east:2",
                      "{\"class\":\"NetworkTopologyStrategy\",\"dc1\":3,\"dc-2.east\":2}", NULL);
    check_replication("datacenter1:99",
                      "{\"class\":\"NetworkTopologyStrategy\",\"datacenter1\":99}", NULL);
    const char *bad[] = {"", "3", "SimpleStrategy", "SimpleStrategy:", "SimpleStrategy:0",
                         "SimpleStrategy:100", "SimpleStrategy:3,dc1:2", "SimpleStrategy:+3",
                         "dc1", "dc1:", ":3", "dc1:3,", "dc1:3,,dc2:3", "dc 1:3", "dc1:-1",
                         "dc1:3x", "dc1:0", "class:3", "replication_factor:3",
                         "NetworkTopologyStrategy:3", "dc\"1:3", NULL};
    for (int i = 0; bad[i]; i++)
        check_replication(bad[i], NULL, "SimpleStrategy:N (one data center) or DC:N[,DC:N...]");
    check_replication(NULL, NULL, "--replication needs a value");
    check_replication("dc1:3,dc2:1,dc1:2", NULL, "names data center dc1 twice");

    /* the JSON makes the keyspace DDL */
    char *json;
    assert_int_equal(model_parse_replication("dc1:3,dc2:2", &json, NULL), 0);
    cs_buf b;
    cs_buf_init(&b, 1024);
    assert_int_equal(model_keyspace_ddl("ks", json, 1, &b), 0);
    assert_string_equal((const char *)b.data,
                        "CREATE KEYSPACE IF NOT EXISTS ks WITH replication = {'class': "
                        "'NetworkTopologyStrategy', 'dc1': 3, 'dc2': 2}");
    cs_buf_release(&b);
    free(json);
}

/* A source whose one table's columns hold what `fake_profiles` says. */
static source_column_profile fake_profiles[4];
static int fake_calls;

static int fake_profile(source *s, int t, const int *cols, int n, source_column_profile *out,
                        source_error *err)
{
    (void)s, (void)t, (void)err;
    fake_calls++;
    for (int k = 0; k < n; k++)
        out[k] = fake_profiles[cols[k]];
    return 0;
}

/* Refine a table (id INTEGER key, at DATETIME, x untyped, n TEXT) whose
 * "at" holds integers lo..hi; returns the unit chosen or -1 (err filled). */
static int unit_for(int64_t lo, int64_t hi, int given, model_error *e, char **note)
{
    static const source_ops ops = {.name = "fake", .profile = fake_profile};
    source src = {&ops};
    source_column c[] = {col("id", "INTEGER", 1), col("at", "DATETIME", 0), col("x", "", 0),
                         col("n", "TEXT", 0)};
    source_table tb[] = {{.name = "Ev", .ncols = 4, .cols = c, .npk = 1, .uses_rowid = 0, .row_estimate = -1}};
    source_schema sch = {1, tb};
    memset(fake_profiles, 0, sizeof fake_profiles);
    fake_profiles[1] = (source_column_profile){.nint = 2, .ntext = 1, .int_min = lo, .int_max = hi};
    fake_profiles[2] = (source_column_profile){.nint = 3, .nreal = 1, .int_min = -5, .int_max = 5};
    model m;
    assert_int_equal(model_from_source(&m, &sch, "ks", e), 0);
    int rc = model_refine_from_values(&m, &src, &sch, given, e);
    int unit = rc ? -1 : m.tables[0].cols[1].epoch_unit;
    if (!rc) {
        assert_int_equal(m.tables[0].cols[2].type->id, CQL_T_DOUBLE);
        assert_int_equal(m.tables[0].cols[3].type->id, CQL_T_VARCHAR);
        if (note)
            *note = strdup(m.tables[0].cols[1].note);
    }
    model_release(&m);
    return unit;
}

static void test_epoch_unit_from_values(void **ts)
{
    (void)ts;
    model_error e;
    char *note = NULL;
    assert_int_equal(unit_for(1706708700, 1706795100, -1, &e, &note), LOAD_EPOCH_S);
    assert_string_equal(note, "DATETIME -> timestamp: its 2 integers are read as seconds since "
                              "1970 (the unit their range shows; --epoch-unit s|ms|us sets it): "
                              "1706708700 to 1706795100 is 2024-01-31 13:45:00 to 2024-02-01 "
                              "13:45:00 UTC; text is read as ISO 8601");
    free(note);
    note = NULL;
    /* the bounds of each unit: 1e8, 1e11, 1e14, 1e17 */
    assert_int_equal(unit_for(100000000, 100000000, -1, &e, NULL), LOAD_EPOCH_S);
    assert_int_equal(unit_for(-99999999999, 0, -1, &e, NULL), LOAD_EPOCH_S);
    assert_int_equal(unit_for(0, 100000000000, -1, &e, NULL), LOAD_EPOCH_MS);
    assert_int_equal(unit_for(-5, 99999999999999, -1, &e, NULL), LOAD_EPOCH_MS);
    assert_int_equal(unit_for(100000000000000, 99999999999999999, -1, &e, NULL), LOAD_EPOCH_US);
    assert_int_equal(unit_for(0, 0, -1, &e, NULL), LOAD_EPOCH_MS);     /* 1970 in every unit */
    /* near 1970 in every unit, beyond 5138 in every unit, or two units */
    assert_int_equal(unit_for(0, 99999999, -1, &e, NULL), -1);
    assert_string_equal(e.msg, "Ev.at holds integers from 0 to 99999999, which do not show "
                               "whether they count seconds, milliseconds or microseconds since "
                               "1970: pass --epoch-unit s, ms or us");
    assert_int_equal(e.code, 1);
    assert_int_equal(unit_for(0, INT64_MAX, -1, &e, NULL), -1);
    assert_int_equal(unit_for(INT64_MIN, 0, -1, &e, NULL), -1);
    assert_int_equal(unit_for(1706708700, 1706708700000000, -1, &e, NULL), -1);
    assert_non_null(strstr(e.msg, "(seconds at one end, microseconds at the other)"));
    /* stated by the user: taken as it is */
    assert_int_equal(unit_for(0, 99999999, LOAD_EPOCH_US, &e, &note), LOAD_EPOCH_US);
    assert_non_null(strstr(note, "read as microseconds since 1970 (as --epoch-unit says): 0 to "
                                 "99999999 is 1970-01-01 00:00:00 to 1970-01-01 00:01:39 UTC"));
    free(note);
    /* one scan per table */
    fake_calls = 0;
    unit_for(1706708700, 1706795100, -1, &e, NULL);
    assert_int_equal(fake_calls, 1);
}

/* Database columns map by their logical type. */
static const char *map_of(source_column c, char *buf)
{
    const char *why = NULL;
    cql_type *t = model_map_column(&c, &why);
    if (!t)
        return strcpy(buf, "(none)");
    cs_buf b;
    cs_buf_init(&b, 256);
    cql_type_format(t, &b);
    snprintf(buf, 128, "%.*s", (int)b.len, (const char *)b.data);
    cs_buf_release(&b);
    cql_type_free(t);
    return buf;
}

static void test_logical_types(void **ts)
{
    (void)ts;
    char b[128];
    source_column c = {.name = "c", .decl_type = "x", .ltype = SL_INT32};
    assert_string_equal(map_of(c, b), "int");
    c.ltype = SL_UINT64;
    assert_string_equal(map_of(c, b), "varint");
    c.ltype = SL_TIMESTAMP;
    c.precision = 6;
    assert_string_equal(map_of(c, b), "timestamp");
    c.ltype = SL_ARRAY;
    c.elem = SL_INT32;
    c.dims = 1;
    assert_string_equal(map_of(c, b), "list<int>");
    c.dims = 2;
    assert_string_equal(map_of(c, b), "list<frozen<list<int>>>");
    c.ltype = SL_SET;
    assert_string_equal(map_of(c, b), "set<text>");
    c.ltype = SL_TEXT_FORM;
    assert_string_equal(map_of(c, b), "text");
    c.ltype = SL_UNSUPPORTED;
    assert_string_equal(map_of(c, b), "(none)");
    c.ltype = SL_DECLARED;
    c.decl_type = "INTEGER";
    assert_string_equal(map_of(c, b), "bigint");
    /* an unsupported column refuses its table, naming it */
    source_column cols[] = {{.name = "id", .decl_type = "integer", .pk_pos = 1, .ltype = SL_INT32},
                            {.name = "geo", .decl_type = "geography", .ltype = SL_UNSUPPORTED}};
    source_table t[] = {{.name = "public.places", .ncols = 2, .cols = cols, .npk = 1, .uses_rowid = 0, .row_estimate = -1}};
    source_schema sch = {1, t};
    model m;
    model_error e;
    assert_int_equal(model_from_source(&m, &sch, "ks", &e), -1);
    assert_non_null(strstr(e.msg, "table public.places, column geo: type geography cannot be copied"));
    /* "schema.table" folds to schema_table */
    cols[1].ltype = SL_TEXT_FORM;
    assert_int_equal(model_from_source(&m, &sch, "ks", &e), 0);
    assert_string_equal(m.tables[0].name, "public_places");
    assert_non_null(m.tables[0].cols[1].note);
    assert_non_null(strstr(m.tables[0].cols[1].note, "text form"));
    model_release(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logical_types),
        cmocka_unit_test(test_type_mapping),
        cmocka_unit_test(test_composite_key_and_names),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_replication_option),
        cmocka_unit_test(test_epoch_unit_from_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
