/* cqlshift migrate plan.yaml TARGET: execute a plan file (plan/plan.h):
 * create what is missing, check what exists, read each source table once
 * and write every target table its mappings feed. */
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "cli/job.h"
#include "map/expr.h"
#include "map/rowmap.h"
#include "model/model.h"
#include "plan/plan.h"
#include "target/apply.h"

int migrate_is_plan_file(const char *arg)
{
    size_t n = strlen(arg);
    return (n > 5 && !strcasecmp(arg + n - 5, ".yaml")) || (n > 4 && !strcasecmp(arg + n - 4, ".yml"));
}

/* The target URI with the plan's keyspace: the URI may leave it out; if it
 * names one, it must be the plan's. 0, or -1 after printing why. */
static int target_uri_for(const char *uri, const char *ks, char *out, size_t n)
{
    if (strncmp(uri, "cassandra://", 12)) {
        snprintf(out, n, "%s", uri); /* target_parse says what is wrong */
        return 0;
    }
    const char *host = uri + 12;
    const char *slash = strchr(host, '/');
    const char *q = strchr(host, '?');
    if (q && slash && q < slash)
        slash = NULL;
    size_t hl = slash ? (size_t)(slash - host) : q ? (size_t)(q - host) : strlen(host);
    const char *given = slash ? slash + 1 : "";
    size_t gl = strcspn(given, "?");
    if (gl && (gl != strlen(ks) || strncmp(given, ks, gl))) {
        cli_error("the target names keyspace '%.*s' but the plan's keyspace is '%s': leave the "
                  "keyspace out of the target (cassandra://HOST) or change keyspace.name in the "
                  "plan",
                  (int)gl, given, ks);
        return -1;
    }
    const char *query = q ? q : "";
    snprintf(out, n, "cassandra://%.*s/%s%s", (int)hl, host, ks, query);
    return 0;
}

/* SHA-256 of the plan's text, hex: part of the job key, so a resume with
 * an edited plan is refused (the rows written so far followed the old one). */
static void plan_digest(const plan *p, char out[65])
{
    unsigned char md[32];
    unsigned int mdn = 0;
    EVP_Digest(p->text, strlen(p->text), md, &mdn, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static const target_table *model_table(const model *m, const char *name)
{
    for (int i = 0; i < m->ntables; i++)
        if (!strcmp(m->tables[i].name, name))
            return &m->tables[i];
    return NULL;
}

/* One mapping to run: its compiled row map and the table it writes. */
typedef struct run_map {
    int mapping;
    const target_table *tt;
    map_rowmap *rm;
    int ttl;
} run_map;

/* Print the DDL, the compiled mappings and up to nrows rows of each
 * mapping transformed, touching nothing in Cassandra. */
static int dry_run(const plan *p, const model *m, source *src, const source_schema *schema,
                   run_map *maps, int nmaps, int nrows)
{
    cs_buf q;
    cs_buf_init(&q, 1 << 20);
    printf("-- DDL (what migrate would create; existing tables are checked, not changed)\n");
    if (model_keyspace_ddl(m->keyspace, m->replication, !m->no_durable_writes, &q) == 0)
        printf("%s;\n", (const char *)q.data);
    for (int i = 0; i < m->ntables; i++) {
        cs_buf_reset(&q);
        if (model_table_ddl(&m->tables[i], &q) == 0)
            printf("%s;\n", (const char *)q.data);
    }
    for (int t = 0; t < p->ntables; t++)
        for (int i = 0; p->tables[t].enabled && i < p->tables[t].nindexes; i++) {
            cs_buf_reset(&q);
            if (plan_index_ddl(p, t, i, &q) == 0)
                printf("%s;\n", (const char *)q.data);
        }
    int rc = CLI_EXIT_OK;
    source_error se;
    if (src->ops->snapshot_begin && src->ops->snapshot_begin(src, 1, &se)) {
        cli_error("%s", se.msg);
        rc = CLI_EXIT_FAILED;
        nrows = 0;
    }
    arena a;
    arena_init(&a, 16 * 1024);
    row_batch b;
    row_batch_init(&b, nrows > 0 ? nrows : 1);
    cs_buf conv;
    cs_buf_init(&conv, 1 << 26);
    for (int k = 0; k < nmaps; k++) {
        const plan_mapping *mp = &p->mappings[maps[k].mapping];
        const target_table *tt = maps[k].tt;
        const source_table *st = &schema->tables[mp->source_table];
        printf("\n-- mapping %s -> %s.%s (%s:%d)\n", st->name, m->keyspace, tt->name, p->file,
               mp->line);
        if (st->query) {
            /* the query, one comment line per line */
            printf("--   query: ");
            for (const char *c = st->query; *c; c++)
                if (*c == '\n')
                    printf("\n--     ");
                else
                    putchar(*c);
            printf("\n");
        }
        for (int c = 0; c < tt->ncols; c++) {
            const plan_map_column *pc = NULL;
            for (int j = 0; j < mp->ncols && !pc; j++)
                if (!strcmp(mp->cols[j].target.text, tt->cols[c].name))
                    pc = &mp->cols[j];
            int sc = map_rowmap_src_col(maps[k].rm, c);
            printf("--   %s = %s%s\n", tt->cols[c].name, pc ? pc->expr.text : "null",
                   sc >= 0 ? "  (source column)" : sc == LOAD_COL_COMPUTED ? "  (computed)" : "");
        }
        if (mp->where.text)
            printf("--   where %s\n", mp->where.text);
        if (mp->writetime.text)
            printf("--   writetime %s\n", mp->writetime.text);
        if (mp->ttl.text)
            printf("--   ttl %s\n", mp->ttl.text);
        if (nrows <= 0)
            continue;
        source_range *r = NULL;
        int nr = 0;
        source_reader *rd = NULL;
        int got = 0;
        if (src->ops->split(src, mp->source_table, 1, &r, &nr, &se) == 0 && nr > 0 &&
            (rd = src->ops->open_range(src, &r[0], &(src_pos){0}, &se)) != NULL)
            got = src->ops->read(rd, &b, nrows, &se);
        if (rd)
            src->ops->close_range(rd);
        source_ranges_free(r, nr);
        if (got < 0 || (!rd && nr >= 0)) {
            if (!rd || got < 0) {
                cli_error("%s", se.msg);
                rc = CLI_EXIT_FAILED;
                continue;
            }
        }
        const load_row_map *ops = map_rowmap_ops(maps[k].rm);
        for (int i = 0; i < got; i++) {
            const src_row *row = &b.rows[i];
            cs_buf_reset(&q);
            char why[600];
            arena_reset(&a);
            if (row->problem) {
                printf("--   row %" PRId64 ": rejected: %s\n", row->pos, row->problem);
                continue;
            }
            if (row->skipped)
                continue;
            if (ops && ops->filter) {
                int keep = ops->filter(ops->ctx, row, &a, why, sizeof why);
                if (keep <= 0) {
                    printf("--   row %" PRId64 ": %s%s\n", row->pos,
                           keep < 0 ? "rejected: " : "filtered out by where", keep < 0 ? why : "");
                    continue;
                }
            }
            int bad = 0;
            for (int c = 0; c < tt->ncols && !bad; c++) {
                src_value v;
                if (map_rowmap_value(maps[k].rm, c, row, &a, &v, why, sizeof why)) {
                    printf("--   row %" PRId64 ": rejected: column %s: %s\n", row->pos,
                           tt->cols[c].name, why);
                    bad = 1;
                    break;
                }
                /* as the loader would take it: a value the column's type cannot hold
                 * rejects the row (an integer into a timestamp counts in the
                 * column's epoch unit there, which is not checked here) */
                const cql_type *ct = tt->cols[c].type;
                cql_error ce;
                cs_buf_reset(&conv);
                const char *no = NULL;
                if (v.kind == SV_BAD)
                    no = v.u.s.p;
                else if (v.kind == SV_NULL && tt->cols[c].kind)
                    no = "a primary key column is null";
                else if (v.kind != SV_NULL && !(v.kind == SV_INT && ct->id == CQL_T_TIMESTAMP) &&
                         load_convert_value(ct, &v, &conv, &ce))
                    no = ce.msg;
                if (no) {
                    printf("--   row %" PRId64 ": rejected: column %s: %.*s\n", row->pos,
                           tt->cols[c].name, v.kind == SV_BAD ? (int)v.u.s.n : (int)strlen(no),
                           no);
                    bad = 1;
                    break;
                }
                cs_buf_printf(&q, "%s%s=", c ? ", " : "", tt->cols[c].name);
                if (v.kind == SV_NULL)
                    cs_buf_printf(&q, "null");
                else if (v.kind == SV_TEXT)
                    cs_buf_printf(&q, "'%.*s'", (int)v.u.s.n, v.u.s.p);
                else
                    load_value_text(&v, &q);
            }
            if (!bad)
                printf("--   row %" PRId64 ": %.*s\n", row->pos, (int)q.len, (const char *)q.data);
        }
    }
    row_batch_release(&b);
    cs_buf_release(&conv);
    arena_release(&a);
    cs_buf_release(&q);
    return rc;
}

/* load --plan: keep only table only_table (when given) enabled, and find
 * the one source table the mappings into enabled tables read, which the
 * file is opened as (its name into name). Mappings into disabled tables
 * are dropped from the check (a file has one table; a plan written for a
 * database may read others). 0, or -1 after printing why. */
static int load_plan_select(plan *p, const char *plan_path, const char *only_table, char *name,
                            size_t cap)
{
    if (only_table) {
        int found = -1;
        for (int t = 0; t < p->ntables && found < 0; t++)
            if (!strcmp(p->tables[t].name.text, only_table))
                found = t;
        for (int t = 0; t < p->ntables && found < 0; t++)
            if (!strcasecmp(p->tables[t].name.text, only_table))
                found = t;
        if (found < 0 || !p->tables[found].enabled) {
            cs_buf list;
            cs_buf_init(&list, 1 << 16);
            for (int t = 0, k = 0; t < p->ntables; t++)
                if (p->tables[t].enabled)
                    cs_buf_printf(&list, "%s%s", k++ ? ", " : "", p->tables[t].name.text);
            cs_buf_put_u8(&list, 0);
            if (found < 0)
                cli_error("%s has no table %s (its enabled tables: %s): name one of them, or "
                          "leave TABLE out to load every table the plan feeds from the file",
                          plan_path, only_table, (const char *)list.data);
            else
                cli_error("%s:%d:%d: table %s is disabled (enabled: false): enable it, or name "
                          "one of the enabled tables (%s)",
                          plan_path, p->tables[found].name.line, p->tables[found].name.col,
                          p->tables[found].name.text, (const char *)list.data);
            cs_buf_release(&list);
            return -1;
        }
        for (int t = 0; t < p->ntables; t++)
            if (t != found)
                p->tables[t].enabled = 0;
    }
    const plan_scalar *first = NULL;
    for (int i = 0; i < p->nmappings; i++) {
        plan_mapping *mp = &p->mappings[i];
        if (!p->tables[mp->table].enabled) {
            free(mp->from.text); /* not read: not checked against the file */
            mp->from.text = NULL;
            continue;
        }
        if (!mp->from.text) {
            cli_error("%s:%d:%d: this mapping reads an SQL query; cqlshift load reads a file: "
                      "write `from: NAME` (the file is read as table NAME)",
                      plan_path, mp->line, mp->col);
            return -1;
        }
        if (!first) {
            first = &mp->from;
        } else if (strcasecmp(first->text, mp->from.text)) {
            cli_error("%s:%d:%d: this mapping reads table %s, and the one at line %d reads %s; a "
                      "file is one table: name the TABLE to load (one fed from one source "
                      "table), or load each file with its own plan",
                      plan_path, mp->from.line, mp->from.col, mp->from.text, first->line,
                      first->text);
            return -1;
        }
    }
    if (!first) {
        cli_error("%s: no mapping feeds an enabled table: nothing to load", plan_path);
        return -1;
    }
    snprintf(name, cap, "%s", first->text);
    return 0;
}

/* The mappings that read an SQL query (query:) into enabled tables: each
 * query becomes a table of the source (source_ops.add_query), the same
 * text read once for every mapping that gives it, so that its
 * expressions compile against the query's columns. An error (not a
 * SELECT, a syntax error, an unknown table) is reported at the query's
 * place in the plan with the server's message. 0, or -1 with *rc set. */
static int add_queries(plan *p, source *src, int *rc)
{
    for (int mi = 0; mi < p->nmappings; mi++) {
        plan_mapping *mp = &p->mappings[mi];
        if (!mp->query.text || !p->tables[mp->table].enabled)
            continue;
        for (int j = 0; j < mi && mp->source_table < 0; j++)
            if (p->mappings[j].query.text && p->mappings[j].source_table >= 0 &&
                !strcmp(p->mappings[j].query.text, mp->query.text))
                mp->source_table = p->mappings[j].source_table;
        if (mp->source_table >= 0)
            continue;
        int line, col;
        if (!src->ops->add_query) {
            plan_pos_at(&mp->query, 0, &line, &col);
            cli_error("%s:%d:%d: mapping %d reads a query, but its source (%s) runs no SQL: "
                      "read a table with from: TABLE instead",
                      p->file, line, col, mi + 1, src->ops->name);
            *rc = CLI_EXIT_USAGE;
            return -1;
        }
        char name[64];
        snprintf(name, sizeof name, "query at line %d", mp->query.line);
        int at = -1;
        source_error se;
        int t = src->ops->add_query(src, mp->query.text, name, &at, &se);
        if (t < 0) {
            plan_pos_at(&mp->query, at >= 0 ? at : 0, &line, &col);
            cli_error("%s:%d:%d: mapping %d: %s", p->file, line, col, mi + 1, se.msg);
            *rc = se.code == SRC_E_USAGE || se.code == SRC_E_SCHEMA ? CLI_EXIT_USAGE
                                                                    : CLI_EXIT_FAILED;
            return -1;
        }
        mp->source_table = t;
    }
    return 0;
}

/* The unit of the integers in source column sc of source table st_index
 * where a timestamp column takes it as it is: what migrate SOURCE finds
 * (model_refine_from_values on the automatic model, the tables the plan
 * reads only), so that a plan copies what migrate SOURCE copies. am holds
 * that model (empty: every unit milliseconds). */
/* cli_source_reopen's prepare: the plan's queries again, in the source
 * opened anew, as the same source tables (add_queries itself skips the
 * mappings that have their table already: all of them by now). */
static int reopen_queries(void *ctx, source *src, source_error *err)
{
    plan *p = ctx;
    int added = 0;
    for (int mi = 0; mi < p->nmappings; mi++) {
        const plan_mapping *mp = &p->mappings[mi];
        if (!mp->query.text || !p->tables[mp->table].enabled || mp->source_table < 0)
            continue;
        int seen = 0; /* one query read for several mappings is one table */
        for (int j = 0; j < mi && !seen; j++)
            seen = p->mappings[j].query.text && p->mappings[j].source_table == mp->source_table;
        if (seen)
            continue;
        char name[64];
        snprintf(name, sizeof name, "query at line %d", mp->query.line);
        int at = -1;
        int t = src->ops->add_query ? src->ops->add_query(src, mp->query.text, name, &at, err) : -1;
        if (t < 0 || t != mp->source_table)
            return t < 0 && src->ops->add_query ? -1
                   : source_fail(err, SRC_E_SCHEMA, "the plan's query at line %d cannot be "
                                 "read again as it was", mp->query.line);
        added = 1;
    }
    return added && !src->ops->describe(src, err) ? -1 : 0;
}

static int inferred_unit(const model *am, int st_index, int sc)
{
    for (int i = 0; i < am->ntables; i++) {
        const target_table *t = &am->tables[i];
        if (t->source_table != st_index)
            continue;
        for (int c = 0; c < t->ncols; c++)
            if (t->cols[c].source_col == sc)
                return t->cols[c].epoch_unit;
    }
    return 0;
}

/* The epoch unit of each timestamp column of source table st (index
 * st_index) for the expressions of rm: --epoch-unit, or what the model of
 * the plan's tables found (am), else milliseconds. 0, or -1 out of memory. */
static int set_units(map_rowmap *rm, const source_table *st, int st_index, int epoch_unit,
                     const model *am_or_null)
{
    int *u = malloc((size_t)(st->ncols ? st->ncols : 1) * sizeof *u);
    if (!u)
        return -1;
    for (int c = 0; c < st->ncols; c++)
        u[c] = map_type_of_column(&st->cols[c]) != MT_TIMESTAMP ? -1
               : epoch_unit >= 0                                  ? epoch_unit
               : am_or_null                                       ? inferred_unit(am_or_null, st_index, c)
                                                                  : LOAD_EPOCH_MS;
    int rc = map_rowmap_set_units(rm, st->ncols, u);
    free(u);
    return rc;
}

int migrate_plan(const char *plan_path, const char *target_uri, const migrate_plan_args *a,
                 run_options *o)
{
    plan p;
    plan_error pe;
    if (plan_parse_file(&p, plan_path, &pe)) {
        cli_error("%s", pe.msg);
        return CLI_EXIT_USAGE;
    }
    int rc = CLI_EXIT_USAGE;
    source *src = NULL;
    model m = {0}, am = {0};
    int have_model = 0, have_am = 0;
    run_map *maps = calloc((size_t)p.nmappings + 1, sizeof *maps);
    int nmaps = 0;
    load_table *lt = calloc((size_t)p.nmappings + 1, sizeof *lt);
    int64_t *totals = calloc((size_t)p.nmappings + 1, sizeof *totals);
    int nlt = 0;
    cql_session *s = NULL;
    job jb;
    int have_job = 0;
    if (!maps || !lt || !totals) {
        cli_error("out of memory");
        rc = CLI_EXIT_FAILED;
        goto out;
    }
    char file_table[256] = "";
    if (a->file_uri && load_plan_select(&p, plan_path, a->only_table, file_table,
                                        sizeof file_table))
        goto out;
    if (!a->file_uri && !p.source.text) {
        cli_error("%s:1:1: the plan names no source: add a line `source: URI` (e.g. "
                  "postgresql://user@host/db or sqlite:file.db)",
                  plan_path);
        goto out;
    }
    char target_buf[4096];
    if (target_uri_for(target_uri, p.keyspace.text, target_buf, sizeof target_buf))
        goto out;
    target t;
    if (target_parse(&t, target_buf, o->password_file, &o->loader.consistency))
        goto out;

    /* the source */
    const char *uri = a->file_uri ? a->file_uri : p.source.text;
    source_error se;
    int is_db = !a->file_uri && source_uri_is_db(uri);
    int is_pg = is_db && (!strncmp(uri, "postgresql:", 11) || !strncmp(uri, "postgres:", 9));
    if ((a->schemas && !is_pg) || ((a->databases || a->no_lock) && (!is_db || is_pg))) {
        cli_error("--%s is for %s sources; the plan's source %s is not one",
                  a->schemas ? "schema" : a->databases ? "databases" : "no-lock",
                  a->schemas ? "PostgreSQL" : "MySQL and MariaDB", uri);
        goto out;
    }
    char uri_lock[4096];
    if (a->no_lock) {
        snprintf(uri_lock, sizeof uri_lock, "%s%slock=none", uri, strchr(uri, '?') ? "&" : "?");
        uri = uri_lock;
    }
    char source_label[2048];
    source_uri_redact(uri, source_label, sizeof source_label);
    src = is_db       ? source_open_db(uri, is_pg ? a->schemas : a->databases, &se)
          : a->file_uri ? source_open(uri, file_table, a->file_opts, &se)
                        : source_open(uri, NULL, NULL, &se);
    if (!src && a->file_uri) {
        cli_error("%s", se.msg);
        rc = se.code == SRC_E_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
        goto out;
    }
    if (!src) {
        cli_error("%s (the plan's source, %s:%d)", se.msg, plan_path, p.source.line);
        rc = se.code == SRC_E_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
        goto out;
    }
    if (src->ops->want_views) {
        /* a view a mapping reads is described as a table (PostgreSQL), as
         * migrate --tables copies it */
        cs_buf names;
        cs_buf_init(&names, 1 << 20);
        int bad = 0;
        for (int mi = 0; mi < p.nmappings; mi++)
            if (p.mappings[mi].from.text)
                bad |= cs_buf_printf(&names, "%s%s", names.len ? "," : "",
                                     p.mappings[mi].from.text) != 0;
        bad |= cs_buf_append(&names, "", 1) != 0;
        if (bad || (names.len > 1 && src->ops->want_views(src, (const char *)names.data, &se))) {
            cli_error("%s", bad ? "out of memory" : se.msg);
            cs_buf_release(&names);
            rc = CLI_EXIT_FAILED;
            goto out;
        }
        cs_buf_release(&names);
    }
    const source_schema *schema = src->ops->describe(src, &se);
    if (!schema) {
        cli_error("%s", se.msg);
        rc = CLI_EXIT_FAILED;
        goto out;
    }
    if (plan_check_source(&p, schema, &pe)) {
        cli_error("%s", pe.msg);
        goto out;
    }
    /* Integers in timestamp columns: the unit their range shows, as for
     * migrate SOURCE (or --epoch-unit). Only SQLite columns may hold
     * integer times (file fields are text, and a file has no key for
     * model_from_source). */
    if (a->epoch_unit < 0 && !strcmp(src->ops->name, "sqlite")) {
        /* the automatic model of the tables the plan reads, and of those
         * only (another table's name or values are none of its business) */
        unsigned char *only = calloc((size_t)schema->ntables + 1, 1);
        int any = 0;
        for (int mi = 0; only && mi < p.nmappings; mi++)
            if (p.tables[p.mappings[mi].table].enabled && p.mappings[mi].source_table >= 0)
                any = only[p.mappings[mi].source_table] = 1;
        model_error me;
        int arc = !only ? model_fail(&me, 1, "out of memory")
                  : any ? model_from_source_only(&am, schema, "plan", only, &me)
                        : 0;
        free(only);
        have_am = arc == 0 && any;
        if (arc == 0 && any)
            arc = model_refine_from_values(&am, src, schema, -1, &me);
        if (arc) {
            cli_error("%s", me.msg);
            rc = me.code == 3 ? CLI_EXIT_FAILED : CLI_EXIT_USAGE;
            goto out;
        }
    }
    /* the queries become tables of the source (after the tables' own
     * checks above, which read the tables only) */
    if (add_queries(&p, src, &rc))
        goto out;
    if (!(schema = src->ops->describe(src, &se))) {
        cli_error("%s", se.msg);
        rc = CLI_EXIT_FAILED;
        goto out;
    }
    if (plan_to_model(&p, schema, &m, &pe)) {
        cli_error("%s", pe.msg);
        goto out;
    }
    have_model = 1;

    /* The mappings into enabled tables, grouped by source table (the
     * first of each group reads, the others are fed by its reads). */
    for (int mi = 0; mi < p.nmappings; mi++) {
        const plan_mapping *mp = &p.mappings[mi];
        if (!p.tables[mp->table].enabled)
            continue;
        const target_table *tt = model_table(&m, p.tables[mp->table].name.text);
        if (!tt) {
            cli_error("%s:%d:%d: internal error: table %s is not in the model", plan_path,
                      mp->to.line, mp->to.col, mp->to.text);
            rc = CLI_EXIT_FAILED;
            goto out;
        }
        maps[nmaps++] = (run_map){.mapping = mi, .tt = tt};
    }
    if (nmaps == 0) {
        cli_error("%s: no mapping feeds an enabled table: nothing to copy", plan_path);
        goto out;
    }
    /* stable order: by source table, then file order */
    for (int i = 1; i < nmaps; i++)
        for (int j = i; j > 0 && p.mappings[maps[j - 1].mapping].source_table >
                                     p.mappings[maps[j].mapping].source_table; j--) {
            run_map x = maps[j];
            maps[j] = maps[j - 1];
            maps[j - 1] = x;
        }

    /* Every expression is checked against the model's types before
     * anything is created (the run compiles again with the types of the
     * tables as they are, which an existing table may have changed). */
    {
        for (int k = 0; k < nmaps; k++) {
            const plan_mapping *mp = &p.mappings[maps[k].mapping];
            const target_table *tt = maps[k].tt;
            const cql_type **types = calloc((size_t)tt->ncols + 1, sizeof *types);
            for (int c = 0; types && c < tt->ncols; c++)
                types[c] = tt->cols[c].type;
            maps[k].rm = types ? map_rowmap_compile(&p, maps[k].mapping,
                                                    &schema->tables[mp->source_table], tt,
                                                    types, &pe)
                               : NULL;
            free(types);
            if (!maps[k].rm) {
                cli_error("%s", pe.msg);
                goto out;
            }
            if (set_units(maps[k].rm, &schema->tables[mp->source_table], mp->source_table,
                          a->epoch_unit, have_am ? &am : NULL)) {
                cli_error("out of memory");
                rc = CLI_EXIT_FAILED;
                goto out;
            }
        }
        if (a->dry_run) {
            rc = dry_run(&p, &m, src, schema, maps, nmaps, a->dry_run_rows);
            goto out;
        }
        for (int k = 0; k < nmaps; k++) {
            map_rowmap_free(maps[k].rm);
            maps[k].rm = NULL;
        }
    }

    {
        char digest[65];
        plan_digest(&p, digest);
        char key[5200], fkey[1024] = "";
        if (a->file_opts)
            file_options_key(a->file_opts, fkey, sizeof fkey);
        if (a->file_uri)
            snprintf(key, sizeof key, "load plan %.64s file %.1200s -> %.1000s/%s%s%.300s%s",
                     digest, source_label, t.hosts, t.keyspace, a->only_table ? " table=" : "",
                     a->only_table ? a->only_table : "", fkey);
        else
            snprintf(key, sizeof key, "migrate plan %.64s source %.1200s -> %.1000s/%s%s%.500s",
                     digest, source_label, t.hosts, t.keyspace,
                     a->schemas || a->databases ? " scope=" : "",
                     a->schemas ? a->schemas : a->databases ? a->databases : "");
        int done = 0;
        int prc = run_prepare(&jb, o, o->verify ? "verify" : a->file_uri ? "load" : "migrate",
                              t.keyspace, key, &done);
        have_job = 1;
        if (prc || done) {
            rc = prc;
            goto out;
        }
    }
    rc = CLI_EXIT_FAILED;
    s = target_connect(&t, o);
    if (!s)
        goto out;
    if (cli_interrupted_before_writing()) {
        rc = CLI_EXIT_INTERRUPTED;
        goto out;
    }
    if (!o->verify) {
        cs_buf notes;
        cs_buf_init(&notes, 64 * 1024);
        model_error me;
        int arc = target_apply_model(&m, s, &notes, &me);
        for (int ti = 0; arc == 0 && ti < p.ntables; ti++)
            for (int i = 0; arc == 0 && p.tables[ti].enabled && i < p.tables[ti].nindexes; i++) {
                cs_buf q;
                cs_buf_init(&q, 1 << 16);
                char what[300];
                snprintf(what, sizeof what, "index %s", p.tables[ti].indexes[i].name.text);
                arc = plan_index_ddl(&p, ti, i, &q) ? model_fail(&me, 1, "out of memory")
                      : target_apply_ddl(s, (const char *)q.data, what, &notes, &me);
                cs_buf_release(&q);
            }
        cli_print_notes(o->quiet, &notes);
        cs_buf_release(&notes);
        if (arc) {
            cli_error("%s", me.msg);
            rc = me.code == 2 ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
            goto out;
        }
    }
    for (int k = 0; k < nmaps; k++) {
        const plan_mapping *mp = &p.mappings[maps[k].mapping];
        const target_table *tt = maps[k].tt;
        const source_table *st = &schema->tables[mp->source_table];
        int ttl = mp->ttl.text != NULL;
        cs_buf q;
        cs_buf_init(&q, 1 << 20);
        cql_error ce;
        const cql_prepared *ins = NULL;
        if (model_insert_cql(tt, &q) == 0) {
            if (ttl) { /* the text is NUL-terminated, the NUL not counted */
                cs_buf_printf(&q, " AND TTL ?");
                cs_buf_append(&q, "", 1);
            }
            ins = cql_session_prepare(s, (const char *)q.data, &ce);
        }
        cs_buf_release(&q);
        if (!ins) {
            cli_error("cannot %s %s.%s: %s%s", o->verify ? "compare with" : "prepare the insert for",
                      t.keyspace, tt->name, ce.msg,
                      o->verify ? " (verify compares with the tables a copy wrote: migrate first)" : "");
            goto out;
        }
        int n = tt->ncols + 1 + ttl;
        const cql_metadata *bm = cql_prepared_bind(ins);
        const cql_type **types = calloc((size_t)n, sizeof *types);
        const char **names = calloc((size_t)n, sizeof *names);
        int *src_cols = calloc((size_t)n, sizeof *src_cols);
        int *is_key = calloc((size_t)n, sizeof *is_key);
        load_column_info *info = calloc((size_t)n, sizeof *info);
        load_table *l = &lt[nlt];
        l->types = types;
        l->col_names = names;
        l->src_cols = src_cols;
        l->is_key = is_key;
        l->info = info;
        nlt++;
        if (!types || !names || !src_cols || !is_key || !info) {
            cli_error("out of memory");
            goto out;
        }
        for (int c = 0; c < tt->ncols; c++) {
            types[c] = bm && bm->cols && bm->ncols == n ? bm->cols[c].type : tt->cols[c].type;
            names[c] = tt->cols[c].name;
            is_key[c] = tt->cols[c].kind;
        }
        maps[k].rm = map_rowmap_compile(&p, maps[k].mapping, st, tt, types, &pe);
        if (!maps[k].rm) {
            cli_error("%s", pe.msg);
            rc = CLI_EXIT_USAGE;
            goto out;
        }
        if (set_units(maps[k].rm, st, mp->source_table, a->epoch_unit, have_am ? &am : NULL)) {
            cli_error("out of memory");
            goto out;
        }
        for (int c = 0; c < tt->ncols; c++) {
            src_cols[c] = map_rowmap_src_col(maps[k].rm, c);
            info[c].epoch_unit = a->epoch_unit >= 0 ? a->epoch_unit
                                 : src_cols[c] >= 0 && have_am
                                     ? inferred_unit(&am, mp->source_table, src_cols[c])
                                     : 0;
            if (info[c].epoch_unit && a->epoch_unit < 0 && types[c]->id == CQL_T_TIMESTAMP)
                cli_note(o->quiet,
                         "%s.%s.%s: the integers of %s.%s count %s since 1970 (their range "
                         "shows it, as migrate SOURCE finds); --epoch-unit says otherwise",
                         m.keyspace, tt->name, tt->cols[c].name, st->name,
                         st->cols[src_cols[c]].name,
                         load_epoch_unit_words((load_epoch_unit)info[c].epoch_unit));
        }
        src_cols[tt->ncols] = -1; /* the write timestamp, bound by the loader */
        names[tt->ncols] = "[timestamp]";
        if (ttl) {
            src_cols[tt->ncols + 1] = -1;
            names[tt->ncols + 1] = "[ttl]";
        }
        /* several mappings into one table: each keeps its own progress */
        int shared = 0;
        for (int j = 0; j < nmaps; j++)
            shared |= j != k && maps[j].tt == tt;
        char *name = NULL;
        if (shared) {
            size_t nn = strlen(tt->name) + strlen(st->name) + 16;
            name = malloc(nn);
            if (name)
                snprintf(name, nn, "%s (from %s)", tt->name, st->name);
        }
        l->name = name ? name : tt->name;
        l->table = tt->name;
        l->src_table = mp->source_table;
        l->keyspace = m.keyspace;
        l->ncols = n;
        l->insert = ins;
        l->map = map_rowmap_ops(maps[k].rm);
        l->rereads = st->query != NULL;
        /* fed by the reads of an earlier table of the same source table
         * that feeds fewer than LOAD_MAX_FED - 1 others; past that, the
         * source table is read once more */
        for (int j = 0; j < nlt - 1 && !l->fed_by; j++) {
            if (lt[j].src_table != l->src_table || lt[j].fed_by)
                continue;
            int fed = 0;
            for (int i = j + 1; i < nlt - 1; i++)
                fed += lt[i].fed_by == j + 1;
            if (fed < LOAD_MAX_FED - 1)
                l->fed_by = j + 1;
        }
        totals[nlt - 1] = st->row_estimate;
    }
    for (int k = 0; k < nlt && !o->verify; k++)
        if (jb.resume && lt[k].rereads && !lt[k].fed_by) {
            cli_note(o->quiet, "%s reads a query, which has no key to resume from: unless it "
                               "finished before, it is read again from its start (its rows are "
                               "written again with the job's write time, so the content is the "
                               "same, and counted once)",
                     lt[k].name);
        }
    if (o->verify) {
        source_reopen ro = {.uri = uri, .is_db = is_db,
                            .scope = is_pg ? a->schemas : a->databases,
                            .table = a->file_uri ? file_table : NULL, .fo = a->file_opts,
                            .prepare = reopen_queries, .prepare_ctx = &p};
        rc = run_verify(src, s, lt, nlt, &t, o, &jb, source_label,
                        a->file_uri && strlen(a->file_uri) >= 2 &&
                                !strcmp(a->file_uri + strlen(a->file_uri) - 2, ":-")
                            ? NULL /* standard input, with or without --format */
                            : &ro);
    } else {
        rc = run_load(src, s, lt, nlt, totals, &t, o, &jb, source_label);
        for (int i = 0; i < nlt && !o->quiet; i++)
            load_print_value_notes(&lt[i], stderr);
    }
out:
    if (have_job)
        job_close(&jb);
    for (int i = 0; i < nlt; i++) {
        const target_table *tt = maps[i].tt;
        if (tt && lt[i].name != tt->name)
            free((void *)lt[i].name);
        free((void *)lt[i].types);
        free((void *)lt[i].col_names);
        free((void *)lt[i].src_cols);
        free((void *)lt[i].is_key);
        free(lt[i].info);
    }
    for (int k = 0; k < nmaps; k++)
        map_rowmap_free(maps[k].rm);
    free(maps);
    free(lt);
    free(totals);
    if (s)
        cql_session_close(s);
    if (have_model)
        model_release(&m);
    if (have_am)
        model_release(&am);
    if (src)
        src->ops->close(src);
    plan_release(&p);
    return rc;
}
