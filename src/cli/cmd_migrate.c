/* cqlshift migrate SOURCE TARGET: create the automatic model in Cassandra
 * and copy every row of every table. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "cli/job.h"
#include "model/model.h"
#include "target/apply.h"


int cli_parse_epoch_unit(void *field, const char *name, const char *v)
{
    int u = load_epoch_unit_parse(v);
    if (u < 0) {
        cli_error("--%s takes s, ms or us (seconds, milliseconds or microseconds since 1970), "
                  "not '%s'", name, v);
        return -1;
    }
    *(int *)field = u;
    return 0;
}

const cli_opt migrate_source_opts[] = {
    {"tables", 0, OPT_TEXT, offsetof(migrate_args, tables), "A,B",
     "only these source tables (comma-separated, as the source names them)", 0, 0, 0, NULL, NULL},
    {"schema", 0, OPT_TEXT, offsetof(migrate_args, schemas), "S,T",
     "PostgreSQL: read only these schemas (comma-separated; default: every schema but the "
     "system ones)", 0, 0, 0, NULL, NULL},
    {"databases", 0, OPT_TEXT, offsetof(migrate_args, databases), "D,E",
     "MySQL/MariaDB: read these databases of the server (comma-separated; default: the "
     "URI's database)", 0, 0, 0, NULL, NULL},
    {"no-lock", 0, OPT_FLAG, offsetof(migrate_args, no_lock), NULL,
     "MySQL/MariaDB with several workers: do not hold commits for the instant the readers "
     "start their snapshots (for a user without the RELOAD privilege); each reader then has "
     "its own snapshot, so rows changed during the copy may be copied as of different moments "
     "in different ranges (same as ?lock=none in the URI)", 0, 0, 0, NULL, NULL},
    {"epoch-unit", 0, OPT_CUSTOM, offsetof(migrate_args, epoch_unit), "U",
     "integers in timestamp columns count s, ms or us since 1970 (default: the unit their range "
     "shows, with a note; a range that shows none is refused)", 0, 0, 0, NULL, cli_parse_epoch_unit},
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, 0, NULL, NULL},
};

static const cli_opt migrate_opts[] = {
    {"replication", 0, OPT_CUSTOM, offsetof(migrate_args, replication), "R",
     "replication of a keyspace that migrate creates: SimpleStrategy:N, or DC:N[,DC:N...] for "
     "NetworkTopologyStrategy, N from 1 to 99 (default SimpleStrategy:1, with a note; an "
     "existing keyspace keeps its own)", 0, 0, 0, NULL, cli_parse_replication},
    {"dry-run", 0, OPT_FLAG, offsetof(migrate_args, dry_run), NULL,
     "with a plan file: print the DDL, the compiled mappings and the first rows of each "
     "mapping as they would be written, and touch nothing", 0, 0, 0, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, 0, NULL, NULL},
};

static const char *const migrate_pos[] = {"SOURCE", "TARGET", NULL};
static const char *const migrate_notes[] = {target_options_help, NULL};

static const cli_spec migrate_spec = {
    .name = "migrate",
    .usage = "SOURCE cassandra://[USER@]HOST[,HOST][:PORT]/KEYSPACE [OPTIONS]\n"
             "       cqlshift migrate PLAN.yaml cassandra://[USER@]HOST[,HOST][:PORT][/KEYSPACE] "
             "[OPTIONS]",
    .positionals = migrate_pos,
    .description =
        "Create KEYSPACE and one table per source table (keyed by the source's primary key: "
        "first column partition key, the rest clustering columns), then copy every row, all "
        "from one consistent snapshot of the source. SOURCE is postgresql://[USER@]HOST[:PORT]/DB "
        "(libpq's URI: passwords from PGPASSWORD, ~/.pgpass or a service file), "
        "mysql://[USER@]HOST[:PORT]/DB or mariadb://... (passwords from MYSQL_PWD or "
        "~/.my.cnf), or sqlite:FILE (or a .db/.sqlite file). With a plan file (written by "
        "cqlshift plan, then edited: docs/plan.md) it creates the plan's keyspace and enabled "
        "tables instead and runs its mappings, reading each source table once for every table "
        "it feeds. Every run writes into its own folder under "
        "--out-dir; an interrupted run goes on with the same command and --resume.",
    .notes = migrate_notes,
};

void cmd_migrate_doc(FILE *out, int man)
{
    cli_opt_group g[2] = {{"Source options", migrate_source_opts, NULL},
                          {"Migrate options", migrate_opts, NULL}};
    run_doc(out, man, &migrate_spec, g, 2, NULL);
}

int cmd_migrate(int argc, char **argv)
{
    run_options o;
    run_options_init(&o);
    migrate_args ma = {.epoch_unit = -1};
    const char *pos[2] = {NULL, NULL};
    cli_opt_group g[2] = {{"Source options", migrate_source_opts, &ma},
                          {"Migrate options", migrate_opts, &ma}};
    int pr = run_parse(&migrate_spec, g, 2, NULL, &o, argc, argv, pos);
    if (pr)
        return pr > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    const char *only = ma.tables;
    if (migrate_is_plan_file(pos[0])) {
        if (only || ma.replication) {
            cli_error("--%s does not apply to a plan file: edit the plan (enabled: false on a "
                      "table, or keyspace.replication)", only ? "tables" : "replication");
            return CLI_EXIT_USAGE;
        }
        migrate_plan_args pa = {.schemas = ma.schemas, .databases = ma.databases,
                                .no_lock = ma.no_lock, .epoch_unit = ma.epoch_unit,
                                .dry_run = ma.dry_run, .dry_run_rows = 5};
        return migrate_plan(pos[0], pos[1], &pa, &o);
    }
    if (ma.dry_run) {
        cli_error("--dry-run takes a plan file: write one with cqlshift plan SOURCE -o plan.yaml, "
                  "then run cqlshift migrate plan.yaml TARGET --dry-run");
        return CLI_EXIT_USAGE;
    }
    return migrate_main(&ma, &o, pos);
}

int migrate_main(const migrate_args *map, run_options *op, const char **pos)
{
    migrate_args ma = *map;
    run_options o = *op;
    const char *only = ma.tables;
    const char *cmd = o.verify ? "verify" : "migrate";
    target t;
    if (target_parse(&t, pos[1], o.password_file, &o.loader.consistency))
        return CLI_EXIT_USAGE;

    source_error se;
    int is_db = source_uri_is_db(pos[0]);
    int is_pg = is_db && (!strncmp(pos[0], "postgresql:", 11) || !strncmp(pos[0], "postgres:", 9));
    if ((ma.schemas && !is_pg) || ((ma.databases || ma.no_lock) && (!is_db || is_pg))) {
        cli_error("--%s is for %s sources; %s is not one",
                  ma.schemas ? "schema" : ma.databases ? "databases" : "no-lock",
                  ma.schemas ? "PostgreSQL" : "MySQL and MariaDB", pos[0]);
        return CLI_EXIT_USAGE;
    }
    char uri_lock[4096];
    if (ma.no_lock) {   /* the connector's own parameter */
        snprintf(uri_lock, sizeof uri_lock, "%s%slock=none", pos[0],
                 strchr(pos[0], '?') ? "&" : "?");
        pos[0] = uri_lock;
    }
    char source_label[2048];
    source_uri_redact(pos[0], source_label, sizeof source_label);
    source *src = is_db ? source_open_db(pos[0], is_pg ? ma.schemas : ma.databases, &se)
                        : source_open(pos[0], NULL, NULL, &se);
    if (!src) {
        cli_error("%s", se.msg);
        return se.code == SRC_E_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
    }
    if (!is_db && strcmp(src->ops->name, "sqlite")) {
        cli_error("%s is a %s source; %s %s a database (sqlite:FILE). %s with: cqlshift %s %s "
                  "cassandra://HOST/KEYSPACE TABLE",
                  pos[0], src->ops->name, cmd, o.verify ? "without TABLE compares" : "copies",
                  o.verify ? "Verify files against a table" : "Load files into an existing table",
                  o.verify ? "verify" : "load", pos[0]);
        src->ops->close(src);
        return CLI_EXIT_USAGE;
    }
    if (only && src->ops->want_views && src->ops->want_views(src, only, &se)) {
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
    json_t *snotes = src->ops->notes ? src->ops->notes(src) : NULL;
    size_t ni;
    json_t *nv;
    json_array_foreach(snotes, ni, nv)
        if (!o.quiet && json_string_value(nv))
            fprintf(stderr, "cqlshift: note: %s\n", json_string_value(nv));
    model m;
    model_error me;
    if (model_from_source_tables(&m, schema, t.keyspace, only, 0, &me)) {
        json_decref(snotes);
        cli_error("%s", me.msg);
        src->ops->close(src);
        return CLI_EXIT_USAGE;
    }
    if ((ma.replication && model_parse_replication(ma.replication, &m.replication, &me)) ||
        model_refine_from_values(&m, src, schema, ma.epoch_unit, &me)) {
        cli_error("%s", me.msg);
        json_decref(snotes);
        model_release(&m);
        src->ops->close(src);
        return me.code == 3 ? CLI_EXIT_FAILED : CLI_EXIT_USAGE;
    }
    job jb;
    int done = 0;
    {
        char key[4000];
        snprintf(key, sizeof key, "migrate %.1200s -> %.1000s/%s tables=%.800s%s%.500s", source_label, t.hosts,
                 t.keyspace, only ? only : "*", ma.schemas || ma.databases ? " scope=" : "",
                 ma.schemas ? ma.schemas : ma.databases ? ma.databases : "");
        int prc = run_prepare(&jb, &o, cmd, t.keyspace, key, &done);
        json_array_foreach(snotes, ni, nv)
            if (!prc && !done && json_string_value(nv))
                job_log(&jb, "note: %s", json_string_value(nv));
        json_decref(snotes);
        snotes = NULL;
        if (prc || done) {
            job_close(&jb);
            model_release(&m);
            src->ops->close(src);
            return prc;
        }
    }
    int rc = CLI_EXIT_FAILED;
    cql_session *s = target_connect(&t, &o);
    load_table *lt = calloc((size_t)m.ntables, sizeof *lt);
    int64_t *totals = calloc((size_t)m.ntables, sizeof *totals);
    int nlt = 0;
    if (!s || !lt || !totals)
        goto out;
    if (cli_interrupted_before_writing()) {
        rc = CLI_EXIT_INTERRUPTED;
        goto out;
    }
    if (!o.verify) {
        cs_buf notes;
        cs_buf_init(&notes, 64 * 1024);
        int arc = target_apply_model(&m, s, &notes, &me);
        /* One note per column whose existing type differs from the model. */
        cli_print_notes(o.quiet, &notes);
        cs_buf_release(&notes);
        if (arc) {
            cli_error("%s", me.msg);
            rc = me.code == 2 ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
            goto out;
        }
    }
    for (int i = 0; i < m.ntables; i++) {
        const target_table *tt = &m.tables[i];
        const source_table *st = &schema->tables[tt->source_table];
        if (tt->note && !o.quiet && !o.verify)
            fprintf(stderr, "cqlshift: note: %s.%s: %s\n", m.keyspace, tt->name, tt->note);
        for (int c = 0; c < tt->ncols && !o.quiet && !o.verify; c++)
            if (tt->cols[c].note)
                fprintf(stderr, "cqlshift: note: %s.%s.%s: %s\n", m.keyspace, tt->name,
                        tt->cols[c].name, tt->cols[c].note);
        cs_buf q;
        cs_buf_init(&q, 1 << 20);
        cql_error ce;
        const cql_prepared *ins = NULL;
        if (model_insert_cql(tt, &q) == 0)
            ins = cql_session_prepare(s, (const char *)q.data, &ce);
        cs_buf_release(&q);
        if (!ins) {
            cli_error("cannot %s %s.%s: %s%s", o.verify ? "compare with" : "prepare the insert for",
                      t.keyspace, tt->name, ce.msg,
                      o.verify ? " (verify compares with the tables a copy wrote: migrate first)" : "");
            goto out;
        }
        load_table *l = &lt[nlt];
        int n = tt->ncols + 1;
        const cql_type **types = calloc((size_t)n, sizeof *types);
        const char **names = calloc((size_t)n, sizeof *names);
        int *src_cols = calloc((size_t)n, sizeof *src_cols);
        int *is_key = calloc((size_t)n, sizeof *is_key);
        load_column_info *info = calloc((size_t)n, sizeof *info);
        if (!types || !names || !src_cols || !is_key || !info) {
            free(types);
            free(names);
            free(src_cols);
            free(is_key);
            free(info);
            cli_error("out of memory");
            goto out;
        }
        /* Convert to the types of the table as it is (an existing table
         * may have other types than the model: target_apply_model). */
        const cql_metadata *bm = cql_prepared_bind(ins);
        for (int c = 0; c < tt->ncols; c++) {
            types[c] = bm && bm->cols && bm->ncols == n ? bm->cols[c].type : tt->cols[c].type;
            names[c] = tt->cols[c].name;
            src_cols[c] = tt->cols[c].source_col;
            is_key[c] = tt->cols[c].kind;
            info[c].epoch_unit = tt->cols[c].epoch_unit;
        }
        src_cols[n - 1] = -1; /* the write timestamp, bound by the loader */
        names[n - 1] = "[timestamp]";
        l->src_table = tt->source_table;
        l->name = tt->name;
        l->keyspace = m.keyspace;
        l->ncols = n;
        l->types = types;
        l->col_names = names;
        l->src_cols = src_cols;
        l->is_key = is_key;
        l->insert = ins;
        l->info = info;
        totals[nlt] = st->row_estimate;
        nlt++;
    }
    if (only && nlt == 0) {
        cli_error("--tables %s matches no table of %s", only, source_label);
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    if (o.verify) {
        source_reopen ro = {.uri = pos[0], .is_db = is_db,
                            .scope = is_pg ? ma.schemas : ma.databases, .views = only};
        rc = run_verify(src, s, lt, nlt, &t, &o, &jb, source_label, &ro);
    } else {
        rc = run_load(src, s, lt, nlt, totals, &t, &o, &jb, source_label);
        for (int i = 0; i < nlt && !o.quiet; i++)
            load_print_value_notes(&lt[i], stderr);
    }
out:
    job_close(&jb);
    for (int i = 0; i < nlt; i++) {
        free((void *)lt[i].types);
        free((void *)lt[i].col_names);
        free((void *)lt[i].src_cols);
        free((void *)lt[i].is_key);
        free(lt[i].info);
    }
    free(lt);
    free(totals);
    if (s)
        cql_session_close(s);
    model_release(&m);
    src->ops->close(src);
    return rc;
}
