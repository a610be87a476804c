/* cqlshift plan SOURCE: write the automatic model of a source as an
 * editable plan file (docs/plan.md), with query tables proposed for its
 * foreign keys and SAI indexes for its secondary indexes. Touches no
 * cluster. */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "assess/assess.h"
#include "cli/cli.h"
#include "cli/common.h"
#include "model/model.h"
#include "plan/plan.h"
#include "util/fsio.h"

typedef struct plan_args {
    const char *keyspace;
    const char *output;
    const char *tables;
    const char *schemas;
    const char *databases;
    const char *replication;
} plan_args;


static const cli_opt plan_opts[] = {
    {"keyspace", 'k', OPT_TEXT, offsetof(plan_args, keyspace), "KEYSPACE",
     "the keyspace the plan creates its tables in (default: the source's database or file "
     "name, folded to lower-case letters, digits and '_')", 0, 0, 0, NULL, NULL},
    {"output", 'o', OPT_TEXT, offsetof(plan_args, output), "FILE",
     "write the plan to FILE (replaced whole, never half-written); - or no -o: standard output",
     0, 0, 0, NULL, NULL},
    {"tables", 0, OPT_TEXT, offsetof(plan_args, tables), "A,B",
     "only these source tables (comma-separated, as the source names them)", 0, 0, 0, NULL, NULL},
    {"schema", 0, OPT_TEXT, offsetof(plan_args, schemas), "S,T",
     "PostgreSQL: read only these schemas (comma-separated; default: every schema but the "
     "system ones)", 0, 0, 0, NULL, NULL},
    {"databases", 0, OPT_TEXT, offsetof(plan_args, databases), "D,E",
     "MySQL/MariaDB: read these databases of the server (comma-separated; default: the "
     "URI's database)", 0, 0, 0, NULL, NULL},
    {"replication", 0, OPT_CUSTOM, offsetof(plan_args, replication), "R",
     "the keyspace's replication in the plan: SimpleStrategy:N, or DC:N[,DC:N...] for "
     "NetworkTopologyStrategy, N from 1 to 99 (default SimpleStrategy:1)", 0, 0, 0, NULL,
     cli_parse_replication},
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, 0, NULL, NULL},
};

static const char *const plan_pos[] = {"SOURCE", NULL};

static const cli_spec plan_spec = {
    .name = "plan",
    .usage = "SOURCE [-k KEYSPACE] [-o plan.yaml] [OPTIONS]",
    .positionals = plan_pos,
    .description =
        "Write the model cqlshift proposes for SOURCE as a commented YAML plan to edit and keep "
        "in git: the keyspace, one table per source table keyed by its primary key (every "
        "lossy or notable type choice in a comment), a disabled query table per foreign key "
        "(partitioned by the key, clustered by the child's primary key; set enabled: true to "
        "create it), an SAI index or query table proposed per secondary index, and a mapping "
        "per table whose expressions compute each column. SOURCE is as for migrate "
        "(postgresql://..., mysql://..., sqlite:FILE) or a CSV/JSONL file (csv:PATH, jsonl:PATH, "
        "or by its name), read with the default file options: its columns are typed from its "
        "values and its table keyed by a column whose values are all present and distinct "
        "(names like id first, then integers and uuids), or left for you to key when none "
        "is; give such a plan to cqlshift load FILE TARGET --plan. Reads the schema (and the values of "
        "columns whose declared type does not say enough); writes nothing to Cassandra. The "
        "format is in docs/plan.md.",
    .notes = NULL,
};

void cmd_plan_doc(FILE *out, int man)
{
    cli_opt_group g[1] = {{"Plan options", plan_opts, NULL}};
    (man ? cli_print_man : cli_print_help)(out, &plan_spec, g, 1);
}

/* The default keyspace: the database's name (the URI's last path part, a
 * file's name without extension), folded to [a-z0-9_]; "cqlshift" if
 * nothing is left. */
void cli_default_keyspace(const char *uri, char *out, size_t n)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", uri);
    buf[strcspn(buf, "?#")] = 0;
    size_t len = strlen(buf);
    while (len && buf[len - 1] == '/')
        buf[--len] = 0;
    const char *base = strrchr(buf, '/');
    base = base ? base + 1 : buf;
    const char *colon = strrchr(base, ':');
    if (colon && !source_uri_is_db(uri))
        base = colon + 1;   /* sqlite:FILE */
    char *dot = strrchr(base, '.');
    if (dot && !source_uri_is_db(uri))
        *dot = 0;
    size_t o = 0;
    for (const char *p = base; *p && o + 1 < n && o < 48; p++) {
        unsigned char c = (unsigned char)*p;
        if (isalnum(c) && c < 0x80)
            out[o++] = (char)tolower(c);
        else if (o && out[o - 1] != '_')
            out[o++] = '_';
    }
    while (o && out[o - 1] == '_')
        o--;
    out[o] = 0;
    if (!o)
        snprintf(out, n, "cqlshift");
}

/* Could a column of type t key a file's table? Types whose encoded bytes
 * are equal exactly when Cassandra's keys are (not floating point or
 * decimal, whose equal numbers have several forms; not booleans). */
static int file_key_type(const cql_type *t)
{
    switch (t->id) {
    case CQL_T_ASCII: case CQL_T_VARCHAR: case CQL_T_BIGINT: case CQL_T_INT:
    case CQL_T_SMALLINT: case CQL_T_TINYINT: case CQL_T_VARINT: case CQL_T_UUID:
    case CQL_T_TIMEUUID: case CQL_T_DATE: case CQL_T_TIMESTAMP: case CQL_T_TIME:
    case CQL_T_INET:
        return 1;
    default:
        return 0;
    }
}

/* 0: the name says the column identifies a row ("id", "user_id",
 * "CustomerId", "ID"); 1: an integer or a uuid; 2: another key type. */
static int file_key_rank(const char *name, const cql_type *t)
{
    size_t n = strlen(name);
    if (n >= 2 && (name[n - 2] == 'i' || name[n - 2] == 'I') &&
        (name[n - 1] == 'd' || name[n - 1] == 'D') &&
        (n == 2 || name[n - 3] == '_' || name[n - 3] == '-' || name[n - 3] == ' ' ||
         (name[n - 2] == 'I' && islower((unsigned char)name[n - 3]))))
        return 0;
    switch (t->id) {
    case CQL_T_BIGINT: case CQL_T_INT: case CQL_T_SMALLINT: case CQL_T_TINYINT:
    case CQL_T_VARINT: case CQL_T_UUID: case CQL_T_TIMEUUID:
        return 1;
    default:
        return 2;
    }
}

/* The model of a CSV or JSONL file, which has no key: its columns typed
 * from its values (as assess types them), keyed by the first column, in
 * file_key_rank's order, whose values are all present and distinct
 * (assess_file_key, over at most
 * ASSESS_SAMPLE_DEFAULT rows), said in the table's note; with no such
 * column the table has no partition key, for the user to choose (the plan
 * is refused until then). *copy is the file's table with that key
 * (copy->cols to free). 0, or -1 with err (code 3: reading failed). */
static int file_model(source *src, const source_schema *schema, const char *ks,
                      source_table *copy, model *m, model_error *err)
{
    if (schema->ntables != 1 || schema->tables[0].ncols < 1)
        return model_fail(err, 1, "%s has no columns to plan a table from",
                          schema->ntables ? schema->tables[0].name : "the file");
    const source_table *st = &schema->tables[0];
    *copy = *st;
    copy->cols = malloc((size_t)st->ncols * sizeof *copy->cols);
    if (!copy->cols)
        return model_fail(err, 1, "out of memory");
    memcpy(copy->cols, st->cols, (size_t)st->ncols * sizeof *copy->cols);
    /* a stand-in key, so that the model builds; the real one is chosen below */
    copy->cols[0].pk_pos = 1;
    copy->npk = 1;
    source_schema one = {1, copy};
    if (model_from_source(m, &one, ks, err)) {
        free(copy->cols);
        copy->cols = NULL;
        return -1;
    }
    target_table *tt = &m->tables[0];
    if (model_refine_from_values(m, src, schema, -1, err))
        goto fail;
    /* candidates by preference: a name that says it identifies (id, ..._id,
     * ...Id), then integers and uuids, then the other key types; in file
     * order within each */
    int cols[ASSESS_KEY_CANDIDATES];
    const cql_type *types[ASSESS_KEY_CANDIDATES];
    int ncand = 0;
    for (int rank = 0; rank < 3; rank++)
        for (int i = 0; i < tt->ncols && ncand < ASSESS_KEY_CANDIDATES; i++)
            if (file_key_type(tt->cols[i].type) &&
                file_key_rank(st->cols[tt->cols[i].source_col].name, tt->cols[i].type) == rank) {
                cols[ncand] = tt->cols[i].source_col;
                types[ncand++] = tt->cols[i].type;
            }
    assess_key_pick pick;
    assess_error ae;
    int rc = assess_file_key(src, 0, cols, types, ncand, ASSESS_SAMPLE_DEFAULT, &pick, &ae);
    if (rc) {
        model_fail(err, 3, "%s", ae.msg);
        goto fail;
    }
    if (pick.rows == 0)
        pick.col = -1;   /* no rows: nothing shows a key */
    /* the key column first, the others in file order */
    copy->cols[0].pk_pos = 0;
    copy->npk = 0;
    int j = -1;
    for (int i = 0; i < tt->ncols; i++) {
        tt->cols[i].kind = 0;
        tt->cols[i].key_pos = -1;
        if (tt->cols[i].source_col == pick.col)
            j = i;
    }
    if (j >= 0) {
        target_column key = tt->cols[j];
        memmove(&tt->cols[1], &tt->cols[0], (size_t)j * sizeof key);
        tt->cols[0] = key;
        tt->cols[0].kind = 1;
        tt->cols[0].key_pos = 0;
        copy->cols[pick.col].pk_pos = 1;
        copy->npk = 1;
    }
    char note[1024], type[128] = "";
    if (j >= 0) {
        cs_buf tb;
        cs_buf_init(&tb, sizeof type - 1);
        if (!cql_type_format(tt->cols[0].type, &tb))
            snprintf(type, sizeof type, "%.*s", (int)tb.len, (const char *)tb.data);
        cs_buf_release(&tb);
        if (pick.complete)
            snprintf(note, sizeof note,
                     "a file has no key: keyed by %s, whose values are all present and "
                     "distinct as %s in the %lld rows read (names like id first, then integers "
                     "and uuids); if rows to come may repeat one, choose another key (a "
                     "repeated key replaces the earlier row)",
                     tt->cols[0].name, type, (long long)pick.rows);
        else
            snprintf(note, sizeof note,
                     "a file has no key: keyed by %s, whose values are all present and "
                     "distinct as %s in the first %lld rows (the rest were not "
                     "checked: a repeated key replaces the earlier row)",
                     tt->cols[0].name, type, (long long)pick.rows);
    } else if (pick.rows == 0) {
        snprintf(note, sizeof note,
                 "a file has no key, and this one has no rows to find one in: name the "
                 "column(s) that identify a row in partition_key (and clustering) before loading");
    } else {
        snprintf(note, sizeof note,
                 "a file has no key, and no column is present and distinct in all %s%lld "
                 "rows read: name the column(s) that identify a row in partition_key (and "
                 "clustering) before loading",
                 pick.complete ? "" : "the first ", (long long)pick.rows);
    }
    char *full = malloc(strlen(note) + (tt->note ? strlen(tt->note) + 2 : 0) + 1);
    if (!full) {
        model_fail(err, 1, "out of memory");
        goto fail;
    }
    sprintf(full, "%s%s%s", tt->note ? tt->note : "", tt->note ? "; " : "", note);
    free(tt->note);
    tt->note = full;
    return 0;
fail:
    model_release(m);
    free(copy->cols);
    copy->cols = NULL;
    return -1;
}

int cmd_plan(int argc, char **argv)
{
    plan_args pa = {0};
    const char *pos[1] = {NULL};
    cli_opt_group g[1] = {{"Plan options", plan_opts, &pa}};
    int pr = cli_parse(&plan_spec, g, 1, argc, argv, pos);
    if (pr)
        return pr > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    int is_db = source_uri_is_db(pos[0]);
    int is_pg = is_db && (!strncmp(pos[0], "postgresql:", 11) || !strncmp(pos[0], "postgres:", 9));
    if ((pa.schemas && !is_pg) || (pa.databases && (!is_db || is_pg))) {
        cli_error("--%s is for %s sources; %s is not one", pa.schemas ? "schema" : "databases",
                  pa.schemas ? "PostgreSQL" : "MySQL and MariaDB", pos[0]);
        return CLI_EXIT_USAGE;
    }
    char ks[64];
    if (pa.keyspace)
        snprintf(ks, sizeof ks, "%.63s", pa.keyspace);
    else
        cli_default_keyspace(pos[0], ks, sizeof ks);
    char source_label[2048];
    source_uri_redact(pos[0], source_label, sizeof source_label);
    source_error se;
    source *src = is_db ? source_open_db(pos[0], is_pg ? pa.schemas : pa.databases, &se)
                        : source_open(pos[0], NULL, NULL, &se);
    if (!src) {
        cli_error("%s", se.msg);
        return se.code == SRC_E_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
    }
    int is_file = !is_db && strcmp(src->ops->name, "sqlite") != 0;
    /* views named in --tables are planned as tables (PostgreSQL), as migrate copies them */
    if (pa.tables && src->ops->want_views && src->ops->want_views(src, pa.tables, &se)) {
        cli_error("%s", se.msg);
        src->ops->close(src);
        return CLI_EXIT_FAILED;
    }
    const source_schema *schema = src->ops->describe(src, &se);
    if (!schema) {
        cli_error("%s", se.msg);
        src->ops->close(src);
        return CLI_EXIT_FAILED;
    }
    model m;
    model_error me;
    source_schema file_schema = {0};
    source_table file_table = {0};
    if (is_file && file_model(src, schema, ks, &file_table, &m, &me)) {
        cli_error("%s", me.msg);
        src->ops->close(src);
        return me.code == 3 ? CLI_EXIT_FAILED : CLI_EXIT_USAGE;
    }
    if (is_file) {
        file_schema.ntables = 1;
        file_schema.tables = &file_table;
        schema = &file_schema;
    } else if (model_from_source_tables(&m, schema, ks, pa.tables, 1, &me)) {
        cli_error("%s%s", me.msg,
                  pa.keyspace || strncmp(me.msg, "invalid keyspace", 16)
                      ? "" : " (the default keyspace; give one with -k)");
        src->ops->close(src);
        return CLI_EXIT_USAGE;
    }
    if ((pa.replication && model_parse_replication(pa.replication, &m.replication, &me)) ||
        (is_file && pa.tables && model_keep_tables(&m, schema, pa.tables, &me)) ||
        (!is_file && model_refine_from_values(&m, src, schema, -1, &me))) {
        cli_error("%s", me.msg);
        free(file_table.cols);
        model_release(&m);
        src->ops->close(src);
        return me.code == 3 ? CLI_EXIT_FAILED : CLI_EXIT_USAGE;
    }
    int to_stdout = !pa.output || !strcmp(pa.output, "-");
    char tmp[4200] = "", real[4096] = "";
    FILE *out = stdout;
    /* a FIFO or a device is written as it is; a link, through to its file */
    int direct = to_stdout ? 0 : cs_output_path(pa.output, real, sizeof real);
    if (!to_stdout) {
        if (direct == 0)
            snprintf(tmp, sizeof tmp, "%s.tmp-%ld", real, (long)getpid());
        out = direct < 0 ? NULL : fopen(direct ? pa.output : tmp, "w");
        if (!out) {
            cli_error("cannot write %s: %s", pa.output, strerror(errno));
            free(file_table.cols);
            model_release(&m);
            src->ops->close(src);
            return CLI_EXIT_FAILED;
        }
    }
    /* partition sizes for the comments: assess's document (a failure only
     * loses the comments) */
    json_t *sizes = NULL;
    if (!is_file) {   /* a file's key is unique: one row a partition */
        assess_options ao = {.tables = pa.tables, .source_label = source_label};
        assess_error ae;
        sizes = assess_run(src, &ao, &ae);
        if (!sizes)
            fprintf(stderr, "cqlshift: note: no partition sizes in the plan: %s\n", ae.msg);
    }
    int nq = plan_write(out, &m, schema, source_label, sizes);
    int rc = nq < 0 ? -1 : 0;
    json_decref(sizes);
    if (!to_stdout) {
        int werr = errno;
        if (fclose(out))
            rc = -1, werr = errno;
        if (!rc && !direct && rename(tmp, real))
            rc = -1, werr = errno;
        if (rc) {
            if (!direct)
                unlink(tmp);
            cli_error("cannot write %s: %s", pa.output, strerror(werr));
        }
    } else if (rc) {
        cli_error("cannot write the plan to standard output: %s", strerror(errno));
    }
    if (!rc && is_file)
        cli_note(0, "%s: a table for %s%s; edit it, then give it to cqlshift load %s "
                    "cassandra://HOST/ --plan %s",
                 to_stdout ? "plan written" : pa.output, pos[0],
                 m.tables[0].cols[0].kind == 1 ? "" : " without a key (no column identifies a "
                                                      "row): choose its partition_key",
                 pos[0], to_stdout ? "PLAN" : pa.output);
    else if (!rc)
        cli_note(0, "%s: %d table%s, %d query table%s proposed (enabled: false); edit it, then "
                    "give it to cqlshift migrate",
                 to_stdout ? "plan written" : pa.output, m.ntables, m.ntables == 1 ? "" : "s", nq,
                 nq == 1 ? "" : "s");
    free(file_table.cols);
    model_release(&m);
    src->ops->close(src);
    return rc ? CLI_EXIT_FAILED : CLI_EXIT_OK;
}
