/* The plan file: valid plans parsed into the model and DDL they say,
 * invalid ones refused at their exact line:column with a sentence, the
 * written plan of a hand-made schema parsed back into the same model, and
 * positions inside quoted and block scalars. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model/model.h"
#include "plan/plan.h"

/* A small valid plan; the invalid ones are edits of it. */
static const char BASE[] =
    "version: 1\n"                                              /* 1 */
    "keyspace: {name: ks}\n"                                    /* 2 */
    "tables:\n"                                                 /* 3 */
    "  t:\n"                                                    /* 4 */
    "    columns: {id: int, v: text}\n"                         /* 5 */
    "    partition_key: [id]\n"                                 /* 6 */
    "mappings:\n"                                               /* 7 */
    "  - {from: T, to: t, columns: {id: Id, v: V}}\n";          /* 8 */

/* BASE with the first `from` replaced by `to` (NULL: BASE), newly allocated. */
static char *edit(const char *from, const char *to)
{
    const char *at = from ? strstr(BASE, from) : NULL;
    if (from && !at)
        fail_msg("edit: '%s' is not in the base plan", from);
    size_t n = strlen(BASE) + (to ? strlen(to) : 0) + 1;
    char *s = malloc(n);
    assert_non_null(s);
    if (!from) {
        strcpy(s, BASE);
        return s;
    }
    snprintf(s, n, "%.*s%s%s", (int)(at - BASE), BASE, to, at + strlen(from));
    return s;
}

typedef struct bad_case {
    const char *from, *to;  /* the edit of BASE */
    int line;               /* where the error must be */
    const char *marker;     /* ... at the first occurrence of this text on that line */
    const char *words;      /* a part of the sentence */
} bad_case;

static const bad_case bad_cases[] = {
    /* YAML itself */
    {"{name: ks}", "{name: ks", 3, ":", "not valid YAML"},
    {"    partition_key", "\tpartition_key", 6, "\tpartition_key", "indent with spaces, not tabs"},
    {"mappings:\n", "mappings:\n---\n", 8, "---", "second YAML document"},
    /* the document */
    {"tables:", "tabels:", 3, "tabels", "did you mean 'tables'"},
    {"version: 1\n", "", 1, "keyspace", "no version"},
    {"version: 1", "version: 2", 1, "2", "version 2 is not supported"},
    {"version: 1", "version: \"1\"", 1, "\"1\"", "unquoted"},
    /* keyspace */
    {"{name: ks}", "{replication: {class: SimpleStrategy, replication_factor: 1}}", 2, "keyspace",
     "no name"},
    {"{name: ks}", "{name: Key-Space}", 2, "Key-Space", "'key_space'"},
    {"{name: ks}", "{name: ks, replication: {class: SimpleStrategy, replication_factor: 0}}", 2,
     "0}", "from 1 to 99"},
    {"{name: ks}", "{name: ks, replication: {class: SimpleStrategyy}}", 2, "SimpleStrategyy",
     "did you mean SimpleStrategy"},
    {"{name: ks}", "{name: ks, replication: {class: SimpleStrategy, dc1: 3}}", 2, "dc1",
     "NetworkTopologyStrategy"},
    {"{name: ks}", "{name: ks, replication: 'dc1:0'}", 2, "'dc1:0'", "not a replication setting"},
    {"{name: ks}", "{name: ks, durable_writes: maybe}", 2, "maybe", "true or false"},
    {"{name: ks}", "{name: ks, replicaton: x}", 2, "replicaton", "did you mean 'replication'"},
    /* tables */
    {"  t:", "  T-1:", 4, "T-1", "not a valid name"},
    {"    partition_key: [id]\n", "    partition_key: [id]\n  t:\n    columns: {id: int}\n    "
                                  "partition_key: [id]\n", 7, "t:", "defined twice"},
    {"{id: int, v: text}", "{id: int, id: text}", 5, "id: text", "defined twice"},
    {"v: text", "Value: text", 5, "Value", "'value'"},
    {"v: text", "v: string", 5, "string", "did you mean 'text'"},
    {"v: text", "v: 'list<integer>'", 5, "integer", "unknown CQL type 'integer'"},
    {"v: text", "v: counter", 5, "counter", "counter"},
    {"{id: int, v: text}", "{id: int, v: }", 5, "v:", "no type"},
    {"    partition_key: [id]\n", "", 4, "t:", "no partition key"},
    {"[id]", "[]", 6, "[]", "partition key of table t is empty"},
    {"[id]", "[idd]", 6, "idd", "did you mean 'id'"},
    {"[id]", "[id]\n    clustering: [w]", 7, "w", "not a column of table t"},
    {"[id]", "[id]\n    clustering: [v, v]", 7, "v]", "named twice"},
    {"[id]", "[id]\n    clustering: [id]", 7, "id", "in the partition key already"},
    {"[id]", "[id]\n    clustering: [v descending]", 7, "descending", "not an order"},
    {"[id]", "[id desc]", 6, "desc", "takes no order"},
    {"partition_key", "partition_keys", 6, "partition_keys", "did you mean 'partition_key'"},
    {"[id]", "[id]\n    options: {time_to_live: 5}", 7, "time_to_live",
     "did you mean 'default_time_to_live'"},
    {"[id]", "[id]\n    options: {default_time_to_live: soon}", 7, "soon", "whole number"},
    {"[id]", "[id]\n    options: {compaction: LCS}", 7, "LCS", "mapping"},
    {"[id]", "[id]\n    enabled: yes please", 7, "yes please", "true or false"},
    {"[id]", "[id]\n    indexes: [{name: t_x_idx, column: x}]", 7, "x}", "not a column"},
    {"[id]", "[id]\n    indexes: [{name: t_id_idx, column: id}]", 7, "id}", "partition key"},
    {"[id]", "[id]\n    indexes: [{name: t_v_idx, column: v, using: btree}]", 7, "btree", "sai"},
    /* mappings */
    {"{from: T, to: t,", "{to: t,", 8, "{to", "no from"},
    {"{from: T, to: t,", "{from: T, query: 'select 1', to: t,", 8, "query", "both from and query"},
    {"{from: T, to: t,", "{from: T,", 8, "{from", "no to"},
    {"to: t,", "to: u,", 8, "u,", "not under tables"},
    {"v: V}}", "w: V}}", 8, "w: V", "not a column of table t"},
    {"{id: Id, v: V}", "{v: V}", 8, "{v: V}", "does not set partition key column id"},
    {"{id: Id, v: V}", "{id: Id, v: V, v: W}", 8, "v: W", "twice"},
    {"v: V}}", "v: ''}}", 8, "''", "empty"},
    {"to: t,", "to: t, ttl: -5,", 8, "-5", "from 0 to 630720000"},
    {"to: t,", "to: t, wher: x,", 8, "wher", "did you mean 'where'"},
    {"{id: Id, v: V}}\n", "{id: Id, v: V}}\n  - {from: t, to: t, columns: {id: Id}}\n", 9,
     "{from", "again"},
    {"mappings:\n  - {from: T, to: t, columns: {id: Id, v: V}}\n", "mappings: []\n", 4, "t:",
     "no mapping feeds table t"},
    {"{from: T, to: t, columns: {id: Id, v: V}}", "T", 8, "T", "must be a mapping"},
};

static int failures;

#define fail_case(...) do { print_error(__VA_ARGS__); print_error("\n"); failures++; return; } while (0)

static void check_bad(const char *text, int line, const char *marker, const char *words)
{
    plan p;
    plan_error err;
    int rc = plan_parse_string(&p, text, strlen(text), "p.yaml", &err);
    if (rc == 0) {
        plan_release(&p);
        fail_case("accepted:\n%s", text);
    }
    assert_null(p.file);
    /* the expected column: the marker on that line */
    const char *l = text;
    for (int i = 1; i < line && l; i++) {
        l = strchr(l, '\n');
        if (l)
            l++;
    }
    assert_non_null(l);
    const char *eol = strchr(l, '\n');
    const char *m = strstr(l, marker);
    if (!m || (eol && m > eol))
        fail_case("marker '%s' is not on line %d of:\n%s", marker, line, text);
    int col = (int)(m - l) + 1;
    char want[64];
    snprintf(want, sizeof want, "p.yaml:%d:%d: ", line, col);
    if (err.line != line || err.col != col || strncmp(err.msg, want, strlen(want)))
        fail_case("want %s got %d:%d: %s\nin:\n%s", want, err.line, err.col, err.msg, text);
    if (words && !strstr(err.msg, words))
        fail_case("'%s' is not in: %s", words, err.msg);
    /* a sentence, not a code */
    assert_true(strlen(err.msg) > strlen(want) + 20);
}

static void test_invalid_plans(void **ts)
{
    (void)ts;
    int n = 0;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        if (!c->words)
            continue;
        char *text = edit(c->from, c->to);
        check_bad(text, c->line, c->marker, c->words);
        free(text);
        n++;
    }
    /* a collection that is not frozen in a key */
    char *text = edit("{id: int, v: text}\n    partition_key: [id]",
                      "{id: int, v: 'list<int>'}\n    partition_key: [id]\n    clustering: [v]");
    check_bad(text, 7, "v]", "must be frozen");
    free(text);
    text = edit("{id: int, v: text}", "{id: int, v: duration}\n    clustering: [v]");
    check_bad(text, 6, "v]", "duration");
    free(text);
    /* an empty file, and a list */
    check_bad("", 1, "", "empty");
    check_bad("- a\n- b\n", 1, "-", "not a list");
    assert_true(n + 4 >= 20);
    if (failures)
        fail_msg("%d invalid plans were not refused as they should be", failures);
}

static void test_valid_plan(void **ts)
{
    (void)ts;
    static const char text[] =
        "# a plan\n"
        "version: 1\n"
        "source: sqlite:chinook.db\n"
        "keyspace:\n"
        "  name: chinook\n"
        "  replication: {class: NetworkTopologyStrategy, dc1: 3, dc-2.x: 2}\n"
        "  durable_writes: false\n"
        "tables:\n"
        "  album:\n"
        "    columns:\n"
        "      albumid: int\n"
        "      title: text       # NVARCHAR(160)\n"
        "      artistid: int\n"
        "    partition_key: [albumid]\n"
        "    clustering: []\n"
        "    options: {default_time_to_live: 86400, comment: 'it''s albums', compaction: "
        "{class: LeveledCompactionStrategy, sstable_size_in_mb: 160}, cdc: false, "
        "bloom_filter_fp_chance: 0.01}\n"
        "  track_by_album:\n"
        "    enabled: false\n"
        "    columns: {albumid: int, trackid: int, name: text, tags: 'frozen<set<text>>', "
        "\"on\": boolean}\n"
        "    partition_key: [albumid]\n"
        "    clustering: [trackid desc, tags]\n"
        "    indexes:\n"
        "      - {name: tba_name_idx, column: name, using: sai}\n"
        "      - name: tba_on_idx\n"
        "        column: 'on'\n"
        "mappings:\n"
        "  - from: Album\n"
        "    to: album\n"
        "    columns:\n"
        "      albumid: AlbumId\n"
        "      title: Title\n"
        "      artistid: ArtistId\n"
        "  - from: Track\n"
        "    to: track_by_album\n"
        "    where: \"AlbumId is not null\"\n"
        "    writetime: UpdatedAt\n"
        "    ttl: 86400\n"
        "    columns: {albumid: AlbumId, trackid: TrackId, name: \"upper(Name)\", tags: "
        "\"json_path(Tags, '$.t')\"}\n";
    plan p;
    plan_error err;
    if (plan_parse_string(&p, text, strlen(text), "v.yaml", &err))
        fail_msg("%s", err.msg);
    assert_int_equal(p.version, 1);
    assert_string_equal(p.source.text, "sqlite:chinook.db");
    assert_string_equal(p.keyspace.text, "chinook");
    assert_string_equal(p.replication, "{\"class\":\"NetworkTopologyStrategy\",\"dc1\":3,\"dc-2.x\":2}");
    assert_int_equal(p.durable_writes, 0);
    assert_int_equal(p.ntables, 2);
    assert_int_equal(p.tables[1].enabled, 0);
    assert_int_equal(p.tables[1].nck, 2);
    assert_int_equal(p.tables[1].ck[0].desc, 1);
    assert_int_equal(p.tables[1].nindexes, 2);
    assert_int_equal(p.nmappings, 2);
    const plan_mapping *m = &p.mappings[1];
    assert_string_equal(m->where.text, "AlbumId is not null");
    assert_int_equal(m->where.line, 35);
    assert_int_equal(m->where.col, 12);
    assert_int_equal(m->where.style, PLAN_DOUBLE_QUOTED);
    assert_string_equal(m->ttl.text, "86400");
    assert_string_equal(m->cols[2].expr.text, "upper(Name)");
    /* "upper(Name)": byte 6 ("Name") is 1 + 6 after the quote */
    int line, col;
    plan_pos_at(&m->cols[2].expr, 6, &line, &col);
    assert_int_equal(line, 38);
    assert_int_equal(col, m->cols[2].expr.col + 7);

    /* the model of the enabled tables, and its DDL */
    model md;
    if (plan_to_model(&p, NULL, &md, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(md.ntables, 1);
    cs_buf b;
    cs_buf_init(&b, 1 << 16);
    assert_int_equal(model_table_ddl(&md.tables[0], &b), 0);
    assert_string_equal((const char *)b.data,
                        "CREATE TABLE IF NOT EXISTS chinook.album (\n"
                        "    albumid int,\n    title text,\n    artistid int,\n"
                        "    PRIMARY KEY ((albumid))\n) WITH default_time_to_live = 86400 AND "
                        "comment = 'it''s albums' AND compaction = {'class': "
                        "'LeveledCompactionStrategy', 'sstable_size_in_mb': '160'} AND cdc = "
                        "false AND bloom_filter_fp_chance = 0.01");
    model_release(&md);
    /* enabled, the query table has its clustering order */
    p.tables[1].enabled = 1;
    assert_int_equal(plan_to_model(&p, NULL, &md, &err), 0);
    assert_int_equal(md.ntables, 2);
    cs_buf_reset(&b);
    assert_int_equal(model_table_ddl(&md.tables[1], &b), 0);
    assert_string_equal((const char *)b.data,
                        "CREATE TABLE IF NOT EXISTS chinook.track_by_album (\n"
                        "    albumid int,\n    trackid int,\n    tags frozen<set<text>>,\n"
                        "    name text,\n    \"on\" boolean,\n"
                        "    PRIMARY KEY ((albumid), trackid, tags)\n) WITH CLUSTERING ORDER BY "
                        "(trackid DESC, tags ASC)");
    cs_buf_reset(&b);
    assert_int_equal(plan_index_ddl(&p, 1, 1, &b), 0);
    assert_string_equal((const char *)b.data,
                        "CREATE CUSTOM INDEX IF NOT EXISTS \"tba_on_idx\" ON \"chinook\"."
                        "\"track_by_album\" (\"on\") USING 'StorageAttachedIndex'");
    cs_buf_release(&b);
    model_release(&md);
    plan_release(&p);
}

static void test_positions(void **ts)
{
    (void)ts;
    static const char text[] =
        "version: 1\n"
        "keyspace: {name: ks}\n"
        "tables:\n"
        "  t:\n"
        "    columns: {id: int, v: text}\n"
        "    partition_key: [id]\n"
        "mappings:\n"
        "  - from: T\n"
        "    to: t\n"
        "    where: 'V <> ''x'' and bad(1)'\n"
        "    writetime: \"\\tW + bad\"\n"
        "    columns:\n"
        "      id: Id\n"
        "      v: |\n"
        "        lower(V)\n"
        "          || bad\n";
    plan p;
    plan_error err;
    if (plan_parse_string(&p, text, strlen(text), "q.yaml", &err))
        fail_msg("%s", err.msg);
    const plan_mapping *m = &p.mappings[0];
    int line, col;
    /* single-quoted: '' is one character */
    const char *bad = strstr(m->where.text, "bad");
    plan_pos_at(&m->where, (int)(bad - m->where.text), &line, &col);
    assert_int_equal(line, 10);
    assert_int_equal(col, (int)(strstr("    where: 'V <> ''x'' and bad(1)'", "bad") -
                                "    where: 'V <> ''x'' and bad(1)'") + 1);
    /* double-quoted: \t is two characters in the file */
    bad = strstr(m->writetime.text, "bad");
    plan_pos_at(&m->writetime, (int)(bad - m->writetime.text), &line, &col);
    assert_int_equal(line, 11);
    assert_int_equal(col, (int)(strstr("    writetime: \"\\tW + bad\"", "bad") -
                                "    writetime: \"\\tW + bad\"") + 1);
    /* literal block: its lines */
    const plan_scalar *e = &m->cols[1].expr;
    assert_int_equal(e->style, PLAN_LITERAL);
    bad = strstr(e->text, "bad");
    plan_pos_at(e, (int)(bad - e->text), &line, &col);
    assert_int_equal(line, 16);
    assert_int_equal(col, 14);
    plan_pos_at(e, 0, &line, &col);
    assert_int_equal(line, 15);
    assert_int_equal(col, 9);
    /* plain */
    plan_pos_at(&m->from, 0, &line, &col);
    assert_int_equal(line, 8);
    assert_int_equal(col, 11);
    char msg[64];
    plan_fail_at(&err, p.file, line, col, "%s", "x");
    snprintf(msg, sizeof msg, "q.yaml:8:11: x");
    assert_string_equal(err.msg, msg);
    plan_release(&p);
}

/* Folded lines of quoted and plain scalars: a blank line is one '\n' of
 * the value, blanks before a break are not in it. */
static void test_positions_folded(void **ts)
{
    (void)ts;
    static const char text[] =
        "version: 1\n"
        "keyspace: {name: ks}\n"
        "tables:\n"
        "  t:\n"
        "    columns: {id: int, v: text}\n"
        "    partition_key: [id]\n"
        "mappings:\n"
        "  - from: T\n"
        "    to: t\n"
        "    where: \"V <> 'x'   \n"
        "\n"
        "       \n"
        "      and bad(1)\"\n"
        "    writetime: W +\n"
        "      bad\n"
        "    columns: {id: Id, v: V}\n";
    plan p;
    plan_error err;
    if (plan_parse_string(&p, text, strlen(text), "q.yaml", &err))
        fail_msg("%s", err.msg);
    const plan_mapping *m = &p.mappings[0];
    assert_string_equal(m->where.text, "V <> 'x'\n\nand bad(1)");
    int line, col;
    plan_pos_at(&m->where, (int)(strstr(m->where.text, "bad") - m->where.text), &line, &col);
    assert_int_equal(line, 13);
    assert_int_equal(col, 11);
    plan_pos_at(&m->writetime, (int)(strstr(m->writetime.text, "bad") - m->writetime.text),
                &line, &col);
    assert_int_equal(line, 15);
    assert_int_equal(col, 7);
    plan_release(&p);
}

/* ---- a schema like Chinook's, written and parsed back ---------------------------------- */

static source_column col(const char *name, const char *decl, int pk_pos, int notnull)
{
    source_column c = {.name = (char *)name, .decl_type = (char *)decl, .pk_pos = pk_pos,
                       .notnull = notnull, .precision = -1, .scale = -1};
    return c;
}

static void test_round_trip(void **ts)
{
    (void)ts;
    source_column artist[] = {col("ArtistId", "INTEGER", 1, 1), col("Name", "NVARCHAR(120)", 0, 0)};
    source_column album[] = {col("AlbumId", "INTEGER", 1, 1), col("Title", "NVARCHAR(160)", 0, 1),
                             col("ArtistId", "INTEGER", 0, 1)};
    source_column track[] = {col("TrackId", "INTEGER", 1, 1), col("Name", "NVARCHAR(200)", 0, 1),
                             col("AlbumId", "INTEGER", 0, 0), col("Unit Price", "NUMERIC(10,2)", 0, 1),
                             col("null", "TEXT", 0, 0), col("Added", "DATETIME", 0, 0)};
    source_column pl[] = {col("PlaylistId", "INTEGER", 1, 1), col("TrackId", "INTEGER", 2, 1),
                          col("FromTrack", "INTEGER", 0, 0)};
    source_column logt[] = {col("rowid", "INTEGER", 1, 1), col("msg", "TEXT", 0, 0)};
    int album_fk_cols[] = {2}, track_fk_cols[] = {2}, pl_fk1[] = {1}, pl_fk2[] = {2};
    char *album_ref[] = {"ArtistId"}, *track_ref[] = {"AlbumId"}, *pl_ref[] = {"TrackId"};
    source_fkey album_fk[] = {{.name = "", .ncols = 1, .cols = album_fk_cols,
                               .ref_table = "Artist", .ref_index = 0, .ref_cols = album_ref}};
    source_fkey track_fk[] = {{.name = "", .ncols = 1, .cols = track_fk_cols,
                               .ref_table = "Album", .ref_index = 1, .ref_cols = track_ref}};
    source_fkey pl_fk[] = {{.name = "", .ncols = 1, .cols = pl_fk1, .ref_table = "Track",
                            .ref_index = 2, .ref_cols = pl_ref},
                           {.name = "", .ncols = 1, .cols = pl_fk2, .ref_table = "Track",
                            .ref_index = 2, .ref_cols = pl_ref}};
    int ix1[] = {2}, ix2[] = {1, 3}, ix3[] = {-1};
    source_index track_ix[] = {{.name = "IFK_TrackAlbumId", .ncols = 1, .cols = ix1},
                               {.name = "track_name_price", .unique = 1, .ncols = 2, .cols = ix2},
                               {.name = "track_lower", .ncols = 1, .cols = ix3,
                                .note = "expression index"}};
    source_table tables[] = {
        {.name = "Artist", .ncols = 2, .cols = artist, .npk = 1, .row_estimate = -1},
        {.name = "Album", .ncols = 3, .cols = album, .npk = 1, .row_estimate = -1, .nfkeys = 1,
         .fkeys = album_fk},
        {.name = "Track", .ncols = 6, .cols = track, .npk = 1, .row_estimate = -1, .nfkeys = 1,
         .fkeys = track_fk, .nindexes = 3, .indexes = track_ix},
        {.name = "Playlist Track", .ncols = 3, .cols = pl, .npk = 2, .row_estimate = -1,
         .nfkeys = 2, .fkeys = pl_fk},
        {.name = "log", .ncols = 2, .cols = logt, .npk = 1, .uses_rowid = 1, .row_estimate = -1},
    };
    source_schema schema = {.ntables = 5, .tables = tables};
    model m;
    model_error me;
    if (model_from_source(&m, &schema, "chinook", &me))
        fail_msg("%s", me.msg);
    assert_int_equal(model_parse_replication("dc1:3,dc2:1", &m.replication, &me), 0);

    json_t *assess = json_loads(
        "{\"tables\": [{\"name\": \"Track\", \"partitions\": ["
        "{\"for\": \"track_by_album\", \"rows_max\": 25, \"rows_p99\": 21, \"bytes_max\": 6000,"
        " \"bytes_p99\": 5000, \"sampled\": false},"
        "{\"for\": \"playlist_track_by_trackid\", \"rows_max\": 200000, \"rows_p99\": 10,"
        " \"bytes_max\": 1000, \"bytes_p99\": 500, \"sampled\": true}]}]}",
        0, NULL);
    assert_non_null(assess);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    assert_true(plan_write(f, &m, &schema, "sqlite:chinook.db", assess) >= 0);
    fclose(f);
    json_decref(assess);
    /* the comments the brief asks for */
    if (getenv("TEST_PLAN_SHOW"))
        fputs(text, stderr);
    assert_non_null(strstr(text, "version: 1\n"));
    assert_non_null(strstr(text, "track_by_album:"));
    assert_non_null(strstr(text, "max 25 rows / 6 KB, p99 21 rows"));
    assert_non_null(strstr(text, "TOO LARGE"));
    assert_non_null(strstr(text, "playlist_track_by_fromtrack:"));
    assert_non_null(strstr(text, "    # indexes:\n    #   - {name: track_albumid_idx"));
    assert_non_null(strstr(text, "#   - {name: track_albumid_idx, column: albumid, using: sai}"));
    assert_non_null(strstr(text, "table track_by_album (one partition per value"));
    assert_non_null(strstr(text, "unique (Cassandra does not enforce it)"));
    assert_non_null(strstr(text, "expression part"));
    assert_non_null(strstr(text, "NUMERIC(10,2) -> decimal"));
    assert_non_null(strstr(text, "unit_price: '\"Unit Price\"'"));
    assert_non_null(strstr(text, "'null': '\"null\"'"));
    assert_non_null(strstr(text, "where: 'AlbumId is not null'"));
    assert_non_null(strstr(text, "replication: {class: NetworkTopologyStrategy, dc1: 3, dc2: 1}"));

    plan p;
    plan_error err;
    if (plan_parse_string(&p, text, len, "w.yaml", &err))
        fail_msg("%s\n%s", err.msg, text);
    if (plan_check_source(&p, &schema, &err))
        fail_msg("%s", err.msg);
    model back;
    if (plan_to_model(&p, &schema, &back, &err))
        fail_msg("%s", err.msg);
    assert_string_equal(back.keyspace, m.keyspace);
    assert_string_equal(back.replication, m.replication);
    assert_int_equal(back.ntables, m.ntables);
    for (int t = 0; t < m.ntables; t++) {
        const target_table *a = &m.tables[t], *b = &back.tables[t];
        assert_string_equal(a->name, b->name);
        assert_int_equal(a->source_table, b->source_table);
        assert_int_equal(a->ncols, b->ncols);
        for (int c = 0; c < a->ncols; c++) {
            cs_buf x, y;
            cs_buf_init(&x, 256);
            cs_buf_init(&y, 256);
            cql_type_format(a->cols[c].type, &x);
            cql_type_format(b->cols[c].type, &y);
            assert_int_equal(x.len, y.len);
            assert_memory_equal(x.data, y.data, x.len);
            cs_buf_release(&x);
            cs_buf_release(&y);
            assert_string_equal(a->cols[c].name, b->cols[c].name);
            assert_int_equal(a->cols[c].kind, b->cols[c].kind);
            assert_int_equal(a->cols[c].key_pos, b->cols[c].key_pos);
            assert_int_equal(a->cols[c].source_col, b->cols[c].source_col);
        }
    }
    model_release(&back);
    /* 4 query tables, disabled; enabled, they have the proposed keys */
    int nq = 0;
    for (int t = 0; t < p.ntables; t++)
        if (!p.tables[t].enabled) {
            nq++;
            p.tables[t].enabled = 1;
        }
    assert_int_equal(nq, 4);
    assert_int_equal(plan_to_model(&p, &schema, &back, &err), 0);
    const target_table *q = NULL;
    for (int t = 0; t < back.ntables; t++)
        if (!strcmp(back.tables[t].name, "track_by_album"))
            q = &back.tables[t];
    assert_non_null(q);
    assert_string_equal(q->cols[0].name, "albumid");
    assert_int_equal(q->cols[0].kind, 1);
    assert_string_equal(q->cols[1].name, "trackid");
    assert_int_equal(q->cols[1].kind, 2);
    assert_int_equal(q->ncols, 6);
    assert_int_equal(q->source_table, 2);
    model_release(&back);

    /* the proposed SAI indexes, uncommented, are valid */
    plan_release(&p);
    {
        /* what a person does: delete the "# " of those lines */
        char *u = strdup(text);
        assert_non_null(u);
        char *at;
        while ((at = strstr(u, "    # indexes:\n")) || (at = strstr(u, "    #   - {")))
            memmove(at + 4, at + 6, strlen(at + 6) + 1);
        if (plan_parse_string(&p, u, strlen(u), "u.yaml", &err))
            fail_msg("%s\n%s", err.msg, u);
        int t = 0;
        while (strcmp(p.tables[t].name.text, "track"))
            t++;
        assert_int_equal(p.tables[t].nindexes, 2);
        cs_buf b;
        cs_buf_init(&b, 4096);
        assert_int_equal(plan_index_ddl(&p, t, 0, &b), 0);
        assert_string_equal((const char *)b.data,
                            "CREATE CUSTOM INDEX IF NOT EXISTS \"track_albumid_idx\" ON "
                            "\"chinook\".\"track\" (\"albumid\") USING 'StorageAttachedIndex'");
        cs_buf_release(&b);
        free(u);
    }

    /* a mapping from a table the source does not have */
    plan_release(&p);
    char *bad = strstr(text, "- from: Album\n");
    assert_non_null(bad);
    memcpy(bad + 8, "Albun", 5);
    assert_int_equal(plan_parse_string(&p, text, len, "w.yaml", &err), 0);
    assert_int_equal(plan_check_source(&p, &schema, &err), -1);
    assert_non_null(strstr(err.msg, "reads table 'Albun', which the source does not have"));
    int line = 1;
    for (const char *c = text; c < bad; c++)
        line += *c == '\n';
    assert_int_equal(err.line, line);
    assert_int_equal(err.col, 11);
    plan_release(&p);
    free(text);
    model_release(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invalid_plans),
        cmocka_unit_test(test_valid_plan),
        cmocka_unit_test(test_positions),
        cmocka_unit_test(test_positions_folded),
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
