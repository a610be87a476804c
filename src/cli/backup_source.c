/* cqlshift backup of a source database (PostgreSQL, MySQL/MariaDB, SQLite)
 * into the folder layout of a keyspace's backup (cmd_backup.c), so that
 * `restore` loads it into Cassandra:
 *
 * - schema.cql: the keyspace and the tables `migrate` would create (the
 *   model of the source, model.h), statements ending in ";" and separated
 *   by blank lines;
 * - one file per table (CSV with a header of the table's column names, or
 *   JSONL), its rows read from one snapshot of the source and converted to
 *   the tables' CQL types exactly as migrate converts them (load_convert_
 *   column), then written in the text `unload` writes (value_out.h), so
 *   `load` reads every value back as it was;
 * - manifest.json, last.
 *
 * A value that cannot be converted rejects its row: the row's position,
 * the column and the reason go to rejects-TABLE.jsonl in the run folder,
 * the manifest counts them, and the exit code is 4. One reader, table
 * after table; an interrupted backup goes on with --resume from the first
 * table not finished (that table is written again from its start).
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "cli/job.h"
#include "format/outstream.h"
#include "format/value_out.h"
#include "load/loader.h"
#include "model/model.h"
#include "unload/unload.h"
#include "util/buf.h"
#include "util/fsio.h"

/* What writing one table gives. */
typedef struct table_out {
    int64_t rows, rejected;
    char file[300];     /* its name in the folder */
} table_out;

/* One rejected row into the run folder's rejects file. */
static void reject(FILE **rf, const char *rundir, const char *table, int64_t pos,
                   const char *column, const char *why)
{
    if (!*rf) {
        char path[4400];
        snprintf(path, sizeof path, "%s/rejects-%.255s.jsonl", rundir, table);
        *rf = fopen(path, "wb");   /* a table written again starts its rejects again */
        if (!*rf)
            return;
    }
    json_t *j = json_pack("{s:s, s:I, s:s?, s:s}", "table", table, "row", (json_int_t)pos,
                          "column", column, "reason", why);
    char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (t)
        fprintf(*rf, "%s\n", t);
    free(t);
    json_decref(j);
}

/* Append the converted row (values in wire form, wire[c] at offs[c]) to
 * line as CSV or JSONL. 0 or -1 (full, or a value the writer refuses: why
 * in err). */
static int format_line(const load_table *lt, const uint8_t *wire, const size_t *offs, int jsonl,
                       cs_buf *line, cs_buf *scratch, cql_error *err)
{
    int bad = 0, first = 1;
    if (jsonl)
        bad |= cs_buf_put_u8(line, '{');
    for (int c = 0; c < lt->ncols; c++) {
        const uint8_t *p = wire + offs[c];
        int32_t len = (int32_t)cs_be32(p);
        if (!jsonl && c)
            bad |= cs_buf_put_u8(line, ',');
        if (len < 0)
            continue;   /* null (or unset): an empty CSV field, no JSON key */
        size_t mark = line->len;
        int rc;
        if (jsonl) {
            if (!first)
                bad |= cs_buf_put_u8(line, ',');
            bad |= fmt_json_string(lt->col_names[c], strlen(lt->col_names[c]), line) ||
                   cs_buf_put_u8(line, ':');
            rc = fmt_value_json(lt->types[c], p + 4, len, line, err);
            if (rc == 1)
                line->len = mark;
            else
                first = 0;
        } else {
            rc = fmt_value_text(lt->types[c], p + 4, len, line, err);
            const char *v = (const char *)line->data + mark;
            if (rc == 0 && fmt_csv_needs_quotes(v, line->len - mark, ',', '"')) {
                cs_buf_reset(scratch);
                bad |= cs_buf_append(scratch, v, line->len - mark);
                line->len = mark;
                bad |= fmt_csv_field((const char *)scratch->data, scratch->len, ',', '"', line);
            }
            if (rc == 1)
                line->len = mark;
        }
        if (rc < 0)
            return -1;
    }
    if (jsonl)
        bad |= cs_buf_put_u8(line, '}');
    bad |= cs_buf_put_u8(line, '\n');
    if (bad)
        cql_fail(err, CQL_E_NOMEM, "a row is larger than the line buffer");
    return bad ? -1 : 0;
}

/* Read target table tt's source table whole and write DIR/<file>. 0, 5
 * (interrupted), or 1 after printing why. */
static int write_table(source *src, const model *m, const target_table *tt,
                       const backup_source_args *a, const char *rundir, int quiet, table_out *out)
{
    int n = tt->ncols;
    const cql_type **types = calloc((size_t)n + 1, sizeof *types);
    const char **names = calloc((size_t)n + 1, sizeof *names);
    int *src_cols = calloc((size_t)n + 1, sizeof *src_cols);
    load_column_info *info = calloc((size_t)n + 1, sizeof *info);
    size_t *offs = calloc((size_t)n + 1, sizeof *offs);
    if (!types || !names || !src_cols || !info || !offs) {
        free(types), free(names), free(src_cols), free(info), free(offs);
        cli_error("out of memory");
        return 1;
    }
    for (int c = 0; c < n; c++) {
        types[c] = tt->cols[c].type;
        names[c] = tt->cols[c].name;
        src_cols[c] = tt->cols[c].source_col;
        info[c].epoch_unit = tt->cols[c].epoch_unit;
    }
    load_table lt = {.src_table = tt->source_table, .name = tt->name, .keyspace = m->keyspace,
                     .ncols = n, .types = types, .col_names = names, .src_cols = src_cols,
                     .info = info};
    fmt_compression comp = (fmt_compression)a->compression;
    snprintf(out->file, sizeof out->file, "%.255s%s%s", tt->name, a->jsonl ? ".jsonl" : ".csv",
             comp == FMT_COMP_GZIP ? ".gz" : comp == FMT_COMP_ZSTD ? ".zst" : "");
    char path[4400], part[4500];
    snprintf(path, sizeof path, "%s/%s", a->dir, out->file);
    unload_part_name(path, part, sizeof part);
    out->rows = out->rejected = 0;
    int rc = 1;
    FILE *rf = NULL, *f = fopen(part, "wb");
    char ebuf[300];
    fmt_out *fo = f ? fmt_out_open(f, comp, ebuf, sizeof ebuf) : NULL;
    cs_buf line, wire, scratch;
    cs_buf_init(&line, (size_t)256 << 20);
    cs_buf_init(&wire, (size_t)256 << 20);
    cs_buf_init(&scratch, (size_t)256 << 20);
    row_batch b;
    row_batch_init(&b, 500);
    source_range *r = NULL;
    int nr = 0;
    source_error se;
    if (!f || !fo) {
        cli_error("cannot write %s: %s", part, f ? ebuf : strerror(errno));
        goto out;
    }
    if (!a->jsonl) {
        for (int c = 0; c < n; c++) {
            if (c)
                cs_buf_put_u8(&line, ',');
            fmt_csv_field(names[c], strlen(names[c]), ',', '"', &line);
        }
        cs_buf_put_u8(&line, '\n');
    }
    if (src->ops->split(src, tt->source_table, 1, &r, &nr, &se)) {
        cli_error("%s", se.msg);
        goto out;
    }
    for (int i = 0; i < nr; i++) {
        src_pos from_start = {0};
        source_reader *rd = src->ops->open_range(src, &r[i], &from_start, &se);
        if (!rd) {
            cli_error("%s", se.msg);
            goto out;
        }
        int got;
        while ((got = src->ops->read(rd, &b, 500, &se)) > 0) {
            for (int k = 0; k < b.n; k++) {
                const src_row *row = &b.rows[k];
                if (row->skipped)
                    continue;
                if (row->problem) {
                    reject(&rf, rundir, tt->name, row->pos, NULL, row->problem);
                    out->rejected++;
                    continue;
                }
                cs_buf_reset(&wire);
                cql_error ce;
                int bad_col = -1;
                for (int c = 0; c < n && bad_col < 0; c++) {
                    static const src_value null_value = {.kind = SV_NULL};
                    const src_value *v =
                        src_cols[c] >= 0 && src_cols[c] < row->nvals ? &row->vals[src_cols[c]]
                                                                     : &null_value;
                    offs[c] = wire.len;
                    if (load_convert_column(&lt, c, v, row->pos, &wire, &ce))
                        bad_col = c;
                }
                size_t mark = line.len;
                if (bad_col < 0 && format_line(&lt, wire.data, offs, a->jsonl, &line, &scratch,
                                               &ce)) {
                    line.len = mark;
                    bad_col = n;
                }
                if (bad_col >= 0) {
                    reject(&rf, rundir, tt->name, row->pos, bad_col < n ? names[bad_col] : NULL,
                           ce.msg);
                    out->rejected++;
                    continue;
                }
                out->rows++;
                if (line.len >= (1 << 20)) {
                    if (fmt_out_write(fo, line.data, line.len))
                        break;
                    cs_buf_reset(&line);
                }
            }
            if (line.len >= (1 << 20)) {    /* the write above failed */
                src->ops->close_range(rd);
                cli_error("cannot write %s: %s", part, strerror(errno));
                goto out;
            }
            if (atomic_load(&cli_interrupt)) {
                src->ops->close_range(rd);
                rc = CLI_EXIT_INTERRUPTED;
                goto out;
            }
        }
        src->ops->close_range(rd);
        if (got < 0) {
            cli_error("%s", se.msg);
            goto out;
        }
    }
    int werr = fmt_out_write(fo, line.data, line.len);
    werr = fmt_out_close(fo) || werr;
    fo = NULL;
    if (werr) {
        cli_error("cannot write %s: %s", part, strerror(errno));
        goto out;
    }
    if (fflush(f) || fsync(fileno(f)) || fclose(f)) {
        f = NULL;
        cli_error("cannot write %s: %s", part, strerror(errno));
        goto out;
    }
    f = NULL;
    if (cs_rename_durable(part, path)) {
        cli_error("cannot rename %s to %s: %s", part, path, strerror(errno));
        goto out;
    }
    if (!quiet)
        load_print_value_notes(&lt, stderr);
    rc = 0;
out:
    if (fo)
        fmt_out_close(fo);
    if (f)
        fclose(f);
    if (rf)
        fclose(rf);
    source_ranges_free(r, nr);
    row_batch_release(&b);
    cs_buf_release(&line);
    cs_buf_release(&wire);
    cs_buf_release(&scratch);
    free(types), free(names), free(src_cols), free(info), free(offs);
    return rc;
}

/* 1 when the file at path is missing (a run killed before writing it) or
 * holds exactly text, 0 when it holds another, -1 when it cannot be read
 * (errno). */
static int schema_file_is(const char *path, const char *text)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? 1 : -1;
    size_t n = strlen(text), i = 0;
    int c, same = 1;
    while (same && (c = getc(f)) != EOF)
        same = i < n && (unsigned char)text[i++] == c;
    int bad = ferror(f);
    fclose(f);
    if (bad)
        return -1;
    return same && i == n;
}

int backup_source_main(const backup_source_args *a, run_options *op)
{
    run_options o = *op;
    int is_db = source_uri_is_db(a->uri);
    char label[2048], ks[128];
    source_uri_redact(a->uri, label, sizeof label);
    if (a->keyspace)
        snprintf(ks, sizeof ks, "%.63s", a->keyspace);
    else
        cli_default_keyspace(a->uri, ks, sizeof ks);
    int rc = CLI_EXIT_FAILED;
    job jb;
    memset(&jb, 0, sizeof jb);
    jb.lock_fd = -1;
    source *src = NULL;
    state *st = NULL;
    model m;
    memset(&m, 0, sizeof m);
    int have_model = 0;
    json_t *tables_json = json_array();
    cs_buf ddl;
    cs_buf_init(&ddl, (size_t)64 << 20);
    source_error se;
    state_error ste;
    model_error me;
    {
        char key[8192];
        snprintf(key, sizeof key, "backup %.2000s -> %.2000s %s %s ks=%s tables=%.3000s", label,
                 a->dir, a->jsonl ? "jsonl" : "csv",
                 fmt_compression_name((fmt_compression)a->compression), ks,
                 a->tables ? a->tables : "*");
        int done = 0;
        rc = run_prepare(&jb, &o, "backup", ks, key, &done);
        if (rc || done)
            goto out;
        rc = CLI_EXIT_FAILED;
    }
    src = is_db ? source_open_db(a->uri, NULL, &se) : source_open(a->uri, NULL, NULL, &se);
    if (!src) {
        cli_error("%s", se.msg);
        rc = se.code == SRC_E_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
        goto out;
    }
    if (!is_db && strcmp(src->ops->name, "sqlite")) {
        cli_error("%s is a %s source: backup takes a Cassandra keyspace or a database "
                  "(postgresql://, mysql://, sqlite:FILE); a file is already a copy",
                  label, src->ops->name);
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    if (a->tables && src->ops->want_views && src->ops->want_views(src, a->tables, &se)) {
        cli_error("%s", se.msg);
        goto out;
    }
    const source_schema *schema = src->ops->describe(src, &se);
    if (!schema) {
        cli_error("%s", se.msg);
        goto out;
    }
    json_t *snotes = src->ops->notes ? src->ops->notes(src) : NULL;
    size_t ni;
    json_t *nv;
    json_array_foreach(snotes, ni, nv)
        if (!o.quiet && json_string_value(nv))
            fprintf(stderr, "cqlshift: note: %s\n", json_string_value(nv));
    json_decref(snotes);
    if (model_from_source_tables(&m, schema, ks, a->tables, 0, &me)) {
        cli_error("%s", me.msg);
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    have_model = 1;
    if (model_refine_from_values(&m, src, schema, -1, &me)) {
        cli_error("%s", me.msg);
        rc = me.code == 3 ? CLI_EXIT_FAILED : CLI_EXIT_USAGE;
        goto out;
    }
    for (int i = 0; i < m.ntables && !o.quiet; i++) {
        const target_table *tt = &m.tables[i];
        if (tt->note)
            fprintf(stderr, "cqlshift: note: %s.%s: %s\n", ks, tt->name, tt->note);
        for (int c = 0; c < tt->ncols; c++)
            if (tt->cols[c].note)
                fprintf(stderr, "cqlshift: note: %s.%s.%s: %s\n", ks, tt->name,
                        tt->cols[c].name, tt->cols[c].note);
    }
    if (!jb.resume && (rc = cli_backup_folder(a->dir, jb.root)) != 0)
        goto out;
    rc = CLI_EXIT_FAILED;
    /* schema.cql: the keyspace and every table the model makes */
    int bad = model_keyspace_ddl(ks, m.replication, !m.no_durable_writes, &ddl) ||
              cs_buf_printf(&ddl, ";\n\n");
    /* tables without IF NOT EXISTS: restore must not merge into a table that
     * is there already (as a keyspace's DESCRIBE, which has none either) */
    cs_buf one;
    cs_buf_init(&one, (size_t)16 << 20);
    for (int i = 0; i < m.ntables && !bad; i++) {
        static const char ine[] = "CREATE TABLE IF NOT EXISTS ";
        cs_buf_reset(&one);
        bad = model_table_ddl(&m.tables[i], &one);
        const char *t = (const char *)one.data;
        if (!bad && one.len > strlen(ine) && !strncmp(t, ine, strlen(ine)))
            bad = cs_buf_printf(&ddl, "CREATE TABLE %s;\n\n", t + strlen(ine));
        else if (!bad)
            bad = cs_buf_append(&ddl, one.data, one.len) || cs_buf_printf(&ddl, ";\n\n");
    }
    cs_buf_release(&one);
    if (bad || cs_buf_put_u8(&ddl, 0)) {
        cli_error("out of memory");
        goto out;
    }
    char path[4400];
    snprintf(path, sizeof path, "%s/schema.cql", a->dir);
    int same = jb.resume ? schema_file_is(path, (const char *)ddl.data) : 1;
    if (same < 0) {
        cli_error("cannot read %s: %s", path, strerror(errno));
        goto out;
    }
    if (!same) {
        /* the files written so far follow the schema the first run saw */
        cli_error("%s: the schema cqlshift derives from the source changed since this backup "
                  "began (its tables or columns, or for SQLite the types its values show); its "
                  "files would not match one schema: back up again with --restart into a new "
                  "folder", path);
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    if (cli_write_atomic(path, (const char *)ddl.data))
        goto out;
    if (cli_interrupted_before_writing()) {
        rc = CLI_EXIT_INTERRUPTED;
        goto out;
    }
    if (src->ops->snapshot_begin && src->ops->snapshot_begin(src, 1, &se)) {
        cli_error("%s", se.msg);
        goto out;
    }
    st = state_open(jb.state_path, jb.key, jb.resume, &ste);
    if (!st || (!jb.resume && state_meta_set(st, "command", cli_command_line, &ste))) {
        cli_error("%s", ste.msg);
        goto out;
    }
    if (!o.quiet)
        fprintf(stderr, "cqlshift: run folder: %s%s\n", jb.dir, jb.resume ? " (resuming)" : "");
    int64_t total = 0, total_rejected = 0;
    for (int i = 0; i < m.ntables; i++) {
        const target_table *tt = &m.tables[i];
        char dkey[600];
        snprintf(dkey, sizeof dkey, "backup.done.%.255s", tt->name);
        char *saved = state_meta_dup(st, dkey, &ste);
        json_t *e = saved ? json_loads(saved, 0, NULL) : NULL;
        free(saved);
        if (!e) {
            table_out to;
            int wr = write_table(src, &m, tt, a, jb.dir, o.quiet, &to);
            if (wr) {
                if (wr == CLI_EXIT_INTERRUPTED)
                    fprintf(stderr, "cqlshift: interrupted in %s; run the same command with "
                                    "--resume to go on\n", tt->name);
                rc = wr;
                goto out;
            }
            char file[4400], hex[65];
            int64_t size = 0;
            snprintf(file, sizeof file, "%s/%s", a->dir, to.file);
            if (cli_file_sha256(file, hex, &size)) {
                cli_error("cannot read %s back: %s", file, strerror(errno));
                goto out;
            }
            json_t *colj = json_array();
            for (int c = 0; c < tt->ncols; c++)
                json_array_append_new(colj, json_string(tt->cols[c].name));
            e = json_pack("{s:s, s:s, s:s, s:s, s:o, s:I, s:I, s:I, s:s}", "name", tt->name,
                          "source_table", schema->tables[tt->source_table].name, "file",
                          to.file, "format", a->jsonl ? "jsonl" : "csv", "columns", colj,
                          "rows", (json_int_t)to.rows, "rejected", (json_int_t)to.rejected,
                          "bytes", (json_int_t)size, "sha256", hex);
            if (cli_backup_table_done(st, dkey, e)) {
                json_decref(e);
                goto out;
            }
            if (!o.quiet)
                fprintf(stderr, "cqlshift: backup %s: %lld rows, %lld rejected, %.1f MB\n",
                        tt->name, (long long)to.rows, (long long)to.rejected, size / 1e6);
        }
        total += json_integer_value(json_object_get(e, "rows"));
        total_rejected += json_integer_value(json_object_get(e, "rejected"));
        json_array_append_new(tables_json, e);
    }
    if (cli_backup_manifest(a->dir, label, ks, tables_json))
        goto out;
    if (state_set_finished(st, &ste)) {
        cli_error("%s", ste.msg);
        goto out;
    }
    if (!o.quiet)
        fprintf(stderr, "cqlshift: backup of %s: %d table%s, %lld rows%s in %s\n", label,
                m.ntables, m.ntables == 1 ? "" : "s", (long long)total,
                total_rejected ? " (some rejected: see rejects-*.jsonl in the run folder)" : "",
                a->dir);
    if (total_rejected)
        fprintf(stderr, "cqlshift: %lld rows rejected; their positions and reasons are in %s\n",
                (long long)total_rejected, jb.dir);
    rc = total_rejected ? CLI_EXIT_REJECTED : CLI_EXIT_OK;
out:
    json_decref(tables_json);
    cs_buf_release(&ddl);
    if (have_model)
        model_release(&m);
    if (st)
        state_close(st);
    if (src)
        src->ops->close(src);
    job_close(&jb);
    return rc;
}
