/* Running a load in the job's run folder: state, plan, fingerprint,
 * rejects, progress, report, log and the exit code. See common.h. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "cli/job.h"
#include "cql/types.h"
#include "obs/progress.h"
#include "state/state.h"
#include "util/buf.h"
#include "verify/verify.h"

/* What a finished verify found, from the summary line of its
 * differences.jsonl: 3 if the target differed (and was not repaired), else
 * 0, so that a --resume after the end says what the run said. */
static int finished_verdict(const job *j)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/differences.jsonl", j->dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return CLI_EXIT_OK;
    char line[4096];
    int different = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strstr(line, "\"type\":\"summary\""))
            continue;
        json_t *o = json_loads(line, 0, NULL);
        const char *r = json_string_value(json_object_get(o, "result"));
        different = r && !strcmp(r, "different");
        json_decref(o);
    }
    fclose(f);
    if (different)
        fprintf(stderr, "cqlshift: it found that the target differs from the source (exit code "
                        "%d): see %s\n", CLI_EXIT_DIFFERENCES, path);
    return different ? CLI_EXIT_DIFFERENCES : CLI_EXIT_OK;
}

int run_prepare(job *j, run_options *o, const char *command, const char *name,
                const char *job_key, int *done)
{
    *done = 0;
    memset(j, 0, sizeof *j);    /* job_close works whatever fails first */
    j->lock_fd = -1;
    if (o->resume && o->restart) {
        cli_error("--resume and --restart exclude each other: --resume goes on with the "
                  "unfinished run, --restart gives it up");
        return CLI_EXIT_USAGE;
    }
    if (o->report_path && cli_check_writable(o->report_path, "the report file"))
        return CLI_EXIT_USAGE;
    /* verify's jobs are their own (not the copy's that it checks) */
    char vkey[4200];
    if (o->verify) {
        snprintf(vkey, sizeof vkey, "verify %s", job_key);
        job_key = vkey;
    }
    int rc = job_prepare(j, o->out_dir, command, name, job_key, o->resume, o->restart);
    if (rc)
        return rc;
    if (j->finished_already) {
        fprintf(stderr, "cqlshift: this job already finished (run folder %s); nothing to resume\n",
                j->dir);
        *done = 1;
        if (o->verify)
            return finished_verdict(j);
    }
    return 0;
}

/* What the job writes: each table's columns and their CQL types (and the
 * unit of integers in a timestamp column, when not milliseconds), so a
 * resume into a changed table (or with another --tables or --epoch-unit)
 * is refused. */
static char *mapping_text(const load_table *tables, int ntables)
{
    cs_buf b;
    cs_buf_init(&b, SIZE_MAX);
    for (int t = 0; t < ntables; t++) {
        const load_table *lt = &tables[t];
        cs_buf_printf(&b, "%s%s.%s(", t ? " " : "", lt->keyspace, lt->name);
        for (int c = 0; c < lt->ncols; c++) {
            if (lt->src_cols[c] < 0)
                continue; /* the write timestamp */
            cs_buf_printf(&b, "%s%s ", c ? "," : "", lt->col_names[c]);
            cql_type_format(lt->types[c], &b);
            if (lt->info && lt->types[c]->id == CQL_T_TIMESTAMP && lt->info[c].epoch_unit)
                cs_buf_printf(&b, " (integers in %s)",  /* another unit: other values */
                              load_epoch_unit_words((load_epoch_unit)lt->info[c].epoch_unit));
        }
        cs_buf_append(&b, ")", 1);
    }
    cs_buf_append(&b, "", 1);
    char *out = b.data ? strdup((const char *)b.data) : NULL;
    cs_buf_release(&b);
    return out;
}

/* The entry of a fingerprint array with this "path", or NULL. */
static json_t *find_path(json_t *arr, const char *path)
{
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x) {
        const char *p = json_string_value(json_object_get(x, "path"));
        if (path && p && !strcmp(path, p))
            return x;
    }
    return NULL;
}

/* One sentence on how the input changed since the job was planned, or
 * NULL if it did not (was and now are JSON arrays from the source's
 * fingerprint op). */
static char *input_change(const char *was, const char *now)
{
    json_t *a = json_loads(was, 0, NULL), *b = json_loads(now, 0, NULL);
    char buf[2048] = "";
    size_t i;
    json_t *x;
    if (!json_is_array(a) || !json_is_array(b)) {
        if (strcmp(was, now))
            snprintf(buf, sizeof buf, "the input is not the one the job started with");
    } else {
        json_array_foreach(a, i, x) {
            const char *path = json_string_value(json_object_get(x, "path"));
            json_t *y = find_path(b, path);
            json_int_t s0 = json_integer_value(json_object_get(x, "size"));
            json_int_t m0 = json_integer_value(json_object_get(x, "mtime_ns"));
            if (!y)
                snprintf(buf, sizeof buf, "%s is gone", path ? path : "an input");
            else if (s0 != json_integer_value(json_object_get(y, "size")))
                snprintf(buf, sizeof buf, "%s changed size from %lld to %lld bytes", path,
                         (long long)s0, (long long)json_integer_value(json_object_get(y, "size")));
            else if (m0 != json_integer_value(json_object_get(y, "mtime_ns")))
                snprintf(buf, sizeof buf, "%s was modified (same size, new modification time)",
                         path);
            if (buf[0])
                break;
        }
        json_array_foreach(b, i, x) {
            const char *path = json_string_value(json_object_get(x, "path"));
            if (!buf[0] && !find_path(a, path))
                snprintf(buf, sizeof buf, "%s was added", path ? path : "an input");
        }
    }
    json_decref(a);
    json_decref(b);
    return buf[0] ? strdup(buf) : NULL;
}

/* On a fresh run: record the command, the input's fingerprint and the
 * mapping. On a resume: refuse (exit 2) if either changed. */
static int check_job(state *st, source *src, const load_table *tables, int ntables, job *j)
{
    source_error se;
    json_t *fpj = src->ops->fingerprint ? src->ops->fingerprint(src, &se) : json_array();
    if (!fpj) {
        cli_error("%s", se.msg);
        return CLI_EXIT_FAILED;
    }
    char *fp = json_dumps(fpj, JSON_COMPACT);
    json_decref(fpj);
    char *map = mapping_text(tables, ntables);
    int rc = 0;
    state_error ste;
    if (!fp || !map) {
        cli_error("out of memory");
        rc = CLI_EXIT_FAILED;
    } else if (!j->resume) {
        /* together: a resume checks all three or none is there */
        if (state_transaction(st, 0, &ste) || state_meta_set(st, "command", cli_command_line, &ste) ||
            state_meta_set(st, "fingerprint", fp, &ste) ||
            state_meta_set(st, "mapping", map, &ste) || state_transaction(st, 1, &ste)) {
            cli_error("%s", ste.msg);
            state_transaction(st, -1, NULL);
            rc = CLI_EXIT_FAILED;
        }
    } else {
        char *cmd = state_meta_dup(st, "command", &ste);
        char *was = state_meta_dup(st, "fingerprint", &ste);
        char *was_map = state_meta_dup(st, "mapping", &ste);
        char *change = was ? input_change(was, fp) : NULL;
        if (ste.code) {
            cli_error("%s", ste.msg);
            rc = CLI_EXIT_FAILED;
        } else if (change) {
            cli_error("cannot resume: %s since the job started (the rows copied so far came "
                      "from the earlier content). The job was started with: %s. Start it over "
                      "with --restart",
                      change, cmd ? cmd : "?");
            rc = CLI_EXIT_USAGE;
        } else if (was_map && strcmp(was_map, map)) {
            cli_error("cannot resume: the target tables differ from those the job started with "
                      "(then: %s; now: %s). The job was started with: %s. Start it over with "
                      "--restart",
                      was_map, map, cmd ? cmd : "?");
            rc = CLI_EXIT_USAGE;
        }
        free(change);
        free(cmd);
        free(was);
        free(was_map);
    }
    free(fp);
    free(map);
    return rc;
}

/* After a complete run: say how many rows the source gained beyond the
 * job's ranges since it was planned (sources that can count them). Rows
 * deleted or added inside the ranges already show as a MISMATCH. */
static void note_source_changes(source *src, const load_table *tables, int ntables,
                                const int64_t *expected, int quiet)
{
    if (!src->ops->count_beyond)
        return;
    source_error se;
    if (src->ops->refresh && src->ops->refresh(src, &se))
        return;
    for (int t = 0; t < ntables; t++) {
        if (expected[t] < 0 || tables[t].nranges < 1)
            continue;
        int64_t added =
            src->ops->count_beyond(src, &tables[t].ranges[tables[t].nranges - 1], &se);
        if (added > 0)
            cli_note(quiet,
                     "%s: %" PRId64 " row%s added to the source after this job was planned; "
                     "%s outside the job's ranges and %s not copied (a new job copies %s)",
                     tables[t].name, added, added == 1 ? " was" : "s were",
                     added == 1 ? "it is" : "they are", added == 1 ? "was" : "were",
                     added == 1 ? "it" : "them");
    }
}

/* A database source: one consistent snapshot for the planning, the counts
 * and every worker. Its position in the source's change stream goes into
 * the run log and, for the run that starts the job, into the state (meta
 * "snapshot_position"), where change capture will start from. */
static int take_snapshot(source *src, state *st, run_options *o, job *j, json_t **pos_out)
{
    source_error se;
    int readers = o->loader.workers > 0 ? o->loader.workers : 1;
    if (src->ops->snapshot_begin(src, readers, &se)) {
        cli_error("%s", se.msg);
        job_log(j, "error: %s", se.msg);
        /* nothing was copied: a fresh run that could not take its snapshot
         * leaves no unfinished job behind (the same command, or the one
         * the message suggests, starts afresh) */
        state_error ste;
        if (!j->resume)
            state_meta_set(st, "abandoned", "1", &ste);
        return se.code == SRC_E_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
    }
    json_t *pos = src->ops->snapshot_position ? src->ops->snapshot_position(src, &se) : NULL;
    char *text = pos ? json_dumps(pos, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    *pos_out = pos;
    if (!text)
        return 0;
    job_log(j, "snapshot: %s", text);
    state_error ste;
    int rc = 0;
    if (!j->resume && state_meta_set(st, "snapshot_position", text, &ste)) {
        cli_error("%s", ste.msg);
        rc = CLI_EXIT_FAILED;
    }
    free(text);
    return rc;
}

/* Open the job's state and check the job (check_job); say where the run
 * folder is. 0 with *out, or the exit code. */
static int run_open(source *src, const load_table *tables, int ntables, const run_options *o,
                    job *j, state **out)
{
    state_error se;
    state *st = state_open(j->state_path, j->key, j->resume, &se);
    if (!st) {
        cli_error("%s", se.msg);
        return se.code == 2 ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
    }
    int rc = check_job(st, src, tables, ntables, j);
    if (rc) {
        state_close(st);
        return rc;
    }
    if (!o->quiet)
        fprintf(stderr, "cqlshift: run folder: %s%s\n", j->dir, j->resume ? " (resuming)" : "");
    *out = st;
    return 0;
}

int run_load(source *src, cql_session *s, load_table *tables, int ntables, const int64_t *totals,
             target *t, run_options *o, job *j, const char *source_label)
{
    char target_label[1400];
    snprintf(target_label, sizeof target_label, "cassandra://%s/%s", t->hosts, t->keyspace);
    state_error se;
    state *st = NULL;
    int rc = run_open(src, tables, ntables, o, j, &st);
    if (rc)
        return rc;
    job_log(j, "%s: %s", j->resume ? "resume" : "start", cli_command_line);
    json_t *snap = NULL;
    if (src->ops->snapshot_begin && (rc = take_snapshot(src, st, o, j, &snap))) {
        json_decref(snap);
        state_close(st);
        return rc;
    }
    rejects *rej = rejects_open_dir(j->dir);
    progress *p = rej ? progress_new(ntables, o->quiet, o->progress_tty, o->progress_interval) : NULL;
    int64_t *expected = calloc((size_t)ntables + 1, sizeof *expected);
    if (p) {
        json_t *notes = src->ops->notes ? src->ops->notes(src) : NULL;
        progress_report_set(p, "snapshot", snap);
        progress_report_set(p, "source_notes", notes);
        json_decref(notes);
    }
    json_decref(snap);
    if (!rej || !p || !expected) {
        cli_error("cannot set up the run in %s", j->dir);
        free(expected);
        progress_free(p);
        rejects_close(rej);
        state_close(st);
        return CLI_EXIT_FAILED;
    }
    for (int i = 0; i < ntables; i++) {
        table_progress *tp = progress_table(p, i);
        snprintf(tp->name, sizeof tp->name, "%s", tables[i].name);
        tp->total = totals ? totals[i] : -1;
        tables[i].progress = tp;
    }
    loader_error le = {0};
    rc = CLI_EXIT_FAILED;
    if (!o->loader.write_timestamp_us) {
        /* one timestamp per job: a resumed run keeps the first run's */
        o->loader.write_timestamp_us = state_write_timestamp(st, cql_timestamp_now_us(), &se);
        if (!o->loader.write_timestamp_us) {
            cli_error("%s", se.msg);
            goto out;
        }
    }
    /* The ranges: planned now on a fresh run, read back on a resume,
     * whatever --workers says now. */
    int per_table = o->loader.ranges_per_table > 0 ? o->loader.ranges_per_table
                                                   : 4 * (o->loader.workers > 0 ? o->loader.workers : 1);
    if (load_ranges_plan(src, st, tables, ntables, per_table, expected, &le)) {
        cli_error("%s", le.msg);
        goto out;
    }
    for (int i = 0; i < ntables; i++)
        if (totals && expected[i] >= 0)
            tables[i].progress->total = expected[i];
    if (atomic_load(&cli_interrupt)) {
        fprintf(stderr, "cqlshift: interrupted before loading: run the same command with --resume\n");
        rc = CLI_EXIT_INTERRUPTED;
        goto out;
    }
    o->loader.interrupt = &cli_interrupt;
    progress_start(p);
    int lrc = loader_run(src, s, tables, ntables, &o->loader, st, rej, &le);
    if (lrc == 0) {
        /* A complete job must have read what the source held (an
         * interrupted one has not, and says so otherwise). */
        for (int i = 0; i < ntables; i++)
            atomic_store(&tables[i].progress->source_rows, expected[i]);
        note_source_changes(src, tables, ntables, expected, o->quiet);
    }
    int reconciled = progress_finish(p);
    char report_path[PATH_MAX + 32];
    snprintf(report_path, sizeof report_path, "%s/report.json", j->dir);
    int report_failed = progress_write_report(p, report_path, source_label, target_label) != 0;
    if (report_failed)
        cli_error("cannot write the report %s", report_path);
    if (o->report_path && progress_write_report(p, o->report_path, source_label, target_label)) {
        cli_error("cannot write the report %s", o->report_path);
        report_failed = 1;
    }
    int64_t job_rejected = 0, job_read = 0;
    for (int i = 0; i < ntables; i++) {
        job_rejected += atomic_load(&tables[i].progress->rejected);
        job_read += atomic_load(&tables[i].progress->read);
    }
    int64_t nrej = rejects_count(rej);
    if (nrej > 0)
        fprintf(stderr, "cqlshift: %lld rows rejected this run; see %s/rejects-*.jsonl\n",
                (long long)nrej, j->dir);
    if (lrc && le.code == 5) {
        fprintf(stderr, o->no_resume ? "cqlshift: interrupted (standard input cannot be resumed: "
                                       "run the load again, it starts over)\n"
                                     : "cqlshift: interrupted: run the same command with "
                                       "--resume\n");
        rc = CLI_EXIT_INTERRUPTED;
    } else if (lrc) {
        cli_error("%s", le.msg);
        rc = CLI_EXIT_FAILED;
    } else {
        rc = reconciled != 0 || report_failed ? CLI_EXIT_FAILED
             : job_rejected > 0              ? CLI_EXIT_REJECTED
                                             : CLI_EXIT_OK;
        /* Only a job that ended well is finished: after a MISMATCH or a lost
         * report, --resume runs the check (and the report) again rather
         * than saying "already finished". */
        state_error se2;
        if (rc != CLI_EXIT_FAILED && state_set_finished(st, &se2)) {
            cli_error("%s", se2.msg);
            rc = CLI_EXIT_FAILED;
        }
        if (rc == CLI_EXIT_REJECTED)
            fprintf(stderr, "cqlshift: finished with %lld of %lld rows rejected (exit code 4)\n",
                    (long long)job_rejected, (long long)job_read);
    }
    for (int i = 0; i < ntables; i++) {
        const table_progress *tp = tables[i].progress;
        job_log(j, "table %s: read %lld, written %lld, rejected %lld, source rows %lld",
                tables[i].name, (long long)atomic_load(&tp->read),
                (long long)atomic_load(&tp->written), (long long)atomic_load(&tp->rejected),
                (long long)expected[i]);
    }
    job_log(j, "end: exit %d; read %lld, rejected %lld", rc, (long long)job_read,
            (long long)job_rejected);
    if (!o->quiet)
        fprintf(stderr, "cqlshift: run folder: %s\n", j->dir);
out:
    load_ranges_free(tables, ntables);
    free(expected);
    progress_free(p);
    rejects_close(rej);
    state_close(st);
    return rc;
}

/* ---- verify ---- */

/* A line on stderr about every interval seconds (redrawn in place on a
 * terminal) while verify runs. */
typedef struct verify_display {
    verify_progress *p;
    double interval;
    double recheck_s;
    int tty;
    atomic_int stop;
    pthread_t th;
    int64_t start_us;
} verify_display;

static void *display_main(void *arg)
{
    verify_display *d = arg;
    static const char *const pass[] = {"comparing", "matching the differing ranges",
                                       "re-checking", "reading the repaired ranges",
                                       "waiting to re-check"};
    int64_t last = d->start_us;
    int said_wait = 0;
    while (!atomic_load(&d->stop)) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (atomic_load(&d->p->pass) == 4 && !said_wait) {
            said_wait = 1;
            long long n = atomic_load(&d->p->waiting);
            fprintf(stderr, "%scqlshift: verify: %lld key%s differ%s; looking again in %g s\n",
                    d->tty ? "\r\033[K" : "", n, n == 1 ? "" : "s", n == 1 ? "s" : "",
                    d->recheck_s);
            fflush(stderr);
            continue;
        }
        int64_t now = cql_timestamp_now_us();
        if ((now - last) / 1e6 < (d->tty ? 0.5 : d->interval))
            continue;
        last = now;
        int ps = atomic_load(&d->p->pass);
        long long done = atomic_load(&d->p->ranges_done), total = atomic_load(&d->p->ranges_total);
        fprintf(stderr, "%scqlshift: verify: %s: %lld source rows, %lld target rows, %lld of %lld "
                        "token ranges (%.0f s)%s",
                d->tty ? "\r\033[K" : "", pass[ps >= 0 && ps < 5 ? ps : 0],
                (long long)atomic_load(&d->p->source_rows),
                (long long)atomic_load(&d->p->target_rows), ps == 0 ? done : 0LL,
                ps == 0 ? total : 0LL, (now - d->start_us) / 1e6, d->tty ? "" : "\n");
        fflush(stderr);
    }
    if (d->tty)
        fprintf(stderr, "\r\033[K");
    return NULL;
}

typedef struct diff_out {
    FILE *file;                 /* the run folder's differences.jsonl */
    FILE *copy;                 /* --report, or NULL */
    int max_print, printed;
    int64_t total;
} diff_out;

/* A value as a CQL literal (decoded to JSON; t its type, NULL if unknown):
 * text, timestamps, dates, times and addresses in single quotes (a quote
 * doubled), decimals, uuids, blobs and durations bare, collections as
 * JSON. */
static void put_literal(cs_buf *b, const json_t *v, const cql_type *t)
{
    int quoted = !t || t->id == CQL_T_VARCHAR || t->id == CQL_T_ASCII ||
                 t->id == CQL_T_TIMESTAMP || t->id == CQL_T_DATE || t->id == CQL_T_TIME ||
                 t->id == CQL_T_INET;
    if (json_is_string(v) && !quoted) {
        cs_buf_printf(b, "%s", json_string_value(v));
        return;
    }
    if (json_is_string(v)) {
        cs_buf_put_u8(b, '\'');
        for (const char *c = json_string_value(v); *c; c++) {
            if (*c == '\'')
                cs_buf_put_u8(b, '\'');
            cs_buf_put_u8(b, (uint8_t)*c);
        }
        cs_buf_put_u8(b, '\'');
        return;
    }
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    cs_buf_printf(b, "%s", text ? text : "?");
    free(text);
}

/* put_literal, cut to about 200 bytes on the terminal (the report has
 * the whole value): "...(N bytes)" says how long it was. */
static void put_literal_cut(cs_buf *b, const json_t *v, const cql_type *t)
{
    size_t mark = b->len;
    put_literal(b, v, t);
    size_t n = b->len - mark, keep = 200;
    if (n <= keep + 40)
        return;
    while (keep > 0 && (b->data[mark + keep] & 0xC0) == 0x80) /* a whole UTF-8 character */
        keep--;
    b->len = mark + keep;
    cs_buf_printf(b, "...(%zu bytes)", n);
}

static int write_line(FILE *f, const json_t *o)
{
    if (!f)
        return 0;
    char *t = json_dumps(o, JSON_COMPACT | JSON_ENCODE_ANY);
    int rc = !t || fprintf(f, "%s\n", t) < 0 ? -1 : 0;
    free(t);
    return rc;
}

static const cql_type *column_type(const verify_columns *cols, const char *name)
{
    for (int c = 0; cols && name && c < cols->n; c++)
        if (!strcmp(cols->names[c], name))
            return cols->types[c];
    return NULL;
}

static int on_difference(void *ctx, const json_t *d, const verify_columns *cols)
{
    diff_out *o = ctx;
    o->total++;
    if (write_line(o->file, d) || write_line(o->copy, d))
        return -1;
    if (o->printed >= o->max_print)
        return 0;
    o->printed++;
    const char *kind = json_string_value(json_object_get(d, "kind"));
    cs_buf b;
    cs_buf_init(&b, SIZE_MAX);
    cs_buf_printf(&b, "%s: %s: (", json_string_value(json_object_get(d, "table")),
                  !strcmp(kind, "missing") ? "missing in the target"
                  : !strcmp(kind, "extra") ? "extra in the target"
                                           : kind);
    const char *k;
    json_t *v;
    int first = 1;
    json_object_foreach((json_t *)json_object_get(d, "key"), k, v) {
        cs_buf_printf(&b, "%s%s=", first ? "" : ", ", k);
        put_literal_cut(&b, v, column_type(cols, k));
        first = 0;
    }
    cs_buf_printf(&b, ")");
    if (!strcmp(kind, "different")) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(d, "columns"), i, c) {
            const char *col = json_string_value(c);
            cs_buf_printf(&b, "%s%s: source ", i ? "; " : ": ", col);
            put_literal_cut(&b, json_object_get(json_object_get(d, "source"), col),
                            column_type(cols, col));
            cs_buf_printf(&b, ", target ");
            put_literal_cut(&b, json_object_get(json_object_get(d, "target"), col),
                            column_type(cols, col));
        }
    } else if (!strcmp(kind, "duplicate")) {
        cs_buf_printf(&b, ": %lld source rows map to this key",
                      (long long)json_integer_value(json_object_get(d, "source_rows")));
    }
    cs_buf_put_u8(&b, 0);
    printf("%s\n", b.data ? (const char *)b.data : "");
    cs_buf_release(&b);
    return 0;
}

source *cli_source_reopen(void *ctx, source_error *err)
{
    source_reopen *r = ctx;
    source *src = r->is_db ? source_open_db(r->uri, r->scope, err)
                           : source_open(r->uri, r->table, r->fo, err);
    if (!src)
        return NULL;
    if ((r->views && src->ops->want_views && src->ops->want_views(src, r->views, err)) ||
        !src->ops->describe(src, err) || (r->prepare && r->prepare(r->prepare_ctx, src, err)) ||
        (src->ops->snapshot_begin && src->ops->snapshot_begin(src, r->readers, err))) {
        src->ops->close(src);
        return NULL;
    }
    return src;
}

int run_verify(source *src, cql_session *s, load_table *tables, int ntables, target *t,
               run_options *o, job *j, const char *source_label, source_reopen *ro)
{
    (void)t;
    state_error se;
    state *st = NULL;
    int rc = run_open(src, tables, ntables, o, j, &st);
    if (rc)
        return rc;
    job_log(j, "%s: %s (source %s)", j->resume ? "resume" : "start", cli_command_line,
            source_label);
    json_t *snap = NULL;
    if (src->ops->snapshot_begin && (rc = take_snapshot(src, st, o, j, &snap))) {
        json_decref(snap);
        state_close(st);
        return rc;
    }
    json_decref(snap);
    diff_out out = {.max_print = o->verify->max_print};
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/differences.jsonl", j->dir);
    out.file = fopen(path, "w");
    if (!out.file) {
        cli_error("cannot write %s", path);
        state_close(st);
        return CLI_EXIT_FAILED;
    }
    if (o->report_path) {
        out.copy = !strcmp(o->report_path, "-") ? stdout : fopen(o->report_path, "w");
        if (!out.copy) {
            cli_error("cannot write the report %s", o->report_path);
            fclose(out.file);
            state_close(st);
            return CLI_EXIT_FAILED;
        }
    }
    rc = CLI_EXIT_FAILED;
    verify_table_result *res = NULL;
    int nres = 0;
    loader_error le = {0};
    int per_table = o->loader.ranges_per_table > 0 ? o->loader.ranges_per_table
                                                   : 4 * (o->loader.workers > 0 ? o->loader.workers : 1);
    for (int i = 0; i < ntables; i++)
        tables[i].quiet_values = 1;
    if (load_ranges_plan(src, st, tables, ntables, per_table, NULL, &le)) {
        cli_error("%s", le.msg);
        goto out;
    }
    verify_config cfg;
    verify_config_init(&cfg);
    cfg.workers = o->loader.workers;
    cfg.batch_rows = o->loader.batch_rows;
    cfg.consistency = o->loader.consistency;
    char spill[PATH_MAX + 32];
    snprintf(spill, sizeof spill, "%s/spill.db", j->dir);
    cfg.spill_path = spill;
    cfg.interrupt = &cli_interrupt;
    cfg.repair = o->verify->repair;
    cfg.delete_extra = o->verify->delete_extra;
    cfg.recheck_s = o->verify->recheck_s;
    if (ro) {
        ro->readers = o->loader.workers > 0 ? o->loader.workers : 1;
        cfg.reopen = cli_source_reopen;
        cfg.reopen_ctx = ro;
    } else if (cfg.recheck_s > 0 || cfg.repair) {
        cli_error("--%s reads the source twice, which standard input cannot be: verify a file",
                  cfg.repair ? "repair" : "recheck");
        rc = CLI_EXIT_USAGE;
        goto out;
    } else {
        cfg.source_once = 1;
    }
    /* repairs are written as of the source's reading: one time per job */
    cfg.repair_timestamp_us = state_write_timestamp(st, cql_timestamp_now_us(), &se);
    if (!cfg.repair_timestamp_us) {
        cli_error("%s", se.msg);
        goto out;
    }
    verify_sink sink = {&out, on_difference};
    verify_error ve;
    verify_progress vp;
    memset(&vp, 0, sizeof vp);
    cfg.progress = &vp;
    verify_display disp = {.p = &vp, .interval = o->progress_interval,
                           .recheck_s = cfg.recheck_s,
                           .tty = o->progress_tty >= 0 ? o->progress_tty : isatty(2),
                           .start_us = cql_timestamp_now_us()};
    int shown = !o->quiet && pthread_create(&disp.th, NULL, display_main, &disp) == 0;
    int vrc = verify_run(src, s, tables, ntables, &cfg, st, &sink, &res, &nres, &ve);
    if (shown) {
        atomic_store(&disp.stop, 1);
        pthread_join(disp.th, NULL);
    }
    if (vrc) {
        if (ve.code == 5) {
            fprintf(stderr, "cqlshift: interrupted: run the same command with --resume\n");
            rc = CLI_EXIT_INTERRUPTED;
        } else {
            cli_error("%s", ve.msg);
        }
        job_log(j, "end: %s", ve.msg);
        goto out;
    }
    int64_t miss = 0, extra = 0, diff = 0, dup = 0, repaired = 0, deleted = 0, left = 0;
    int64_t unmatched = 0;
    for (int i = 0; i < nres; i++) {
        const verify_counts *c = &res[i].counts;
        miss += c->missing;
        extra += c->extra;
        diff += c->different;
        dup += c->duplicate;
        char line[1024];
        snprintf(line, sizeof line,
                 "%s.%s: %lld source rows, %lld target rows: %lld equal, %lld missing, %lld "
                 "extra, %lld different, %lld rejected, %lld filtered",
                 res[i].keyspace, res[i].table, (long long)c->source_rows,
                 (long long)c->target_rows, (long long)c->equal, (long long)c->missing,
                 (long long)c->extra, (long long)c->different, (long long)c->rejected,
                 (long long)c->filtered);
        repaired += c->repaired;
        deleted += c->deleted;
        left += c->buckets_after_repair;
        if (c->duplicate)
            snprintf(line + strlen(line), sizeof line - strlen(line), ", %lld duplicate keys",
                     (long long)c->duplicate);
        unmatched += c->unmatched;
        if (c->unmatched)
            snprintf(line + strlen(line), sizeof line - strlen(line),
                     "; %lld of %lld token ranges differ, their rows not named: standard input "
                     "cannot be read again (save it to a file and verify the file)",
                     (long long)c->unmatched, (long long)c->buckets);
        if (o->verify->recheck_s > 0)
            snprintf(line + strlen(line), sizeof line - strlen(line),
                     "; %lld gone on re-check", (long long)c->transient);
        if (o->verify->repair)
            snprintf(line + strlen(line), sizeof line - strlen(line),
                     "; repaired %lld, deleted %lld%s", (long long)c->repaired,
                     (long long)c->deleted,
                     c->buckets_differing == 0         ? ""
                     : c->buckets_after_repair == 0    ? " (read again: equal)"
                                                       : " (read again: still differs)");
        if (!o->quiet)
            printf("%s\n", line);
        job_log(j, "%s", line);
        char name[520];
        snprintf(name, sizeof name, "%s.%s", res[i].keyspace, res[i].table);
        json_t *tl = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                               "type", "table", "table", name, "source_rows",
                               (json_int_t)c->source_rows, "target_rows",
                               (json_int_t)c->target_rows, "equal", (json_int_t)c->equal,
                               "missing", (json_int_t)c->missing, "extra", (json_int_t)c->extra,
                               "different", (json_int_t)c->different, "duplicate",
                               (json_int_t)c->duplicate, "rejected", (json_int_t)c->rejected,
                               "filtered", (json_int_t)c->filtered, "buckets",
                               (json_int_t)c->buckets, "buckets_differing",
                               (json_int_t)c->buckets_differing);
        if (tl && o->verify->recheck_s > 0)
            json_object_set_new(tl, "gone_on_recheck", json_integer(c->transient));
        if (tl && c->unmatched)
            json_object_set_new(tl, "buckets_not_matched", json_integer(c->unmatched));
        if (tl && o->verify->repair) {
            json_object_set_new(tl, "repaired", json_integer(c->repaired));
            json_object_set_new(tl, "deleted", json_integer(c->deleted));
            json_object_set_new(tl, "buckets_after_repair", json_integer(c->buckets_after_repair));
        }
        write_line(out.file, tl);
        write_line(out.copy, tl);
        json_decref(tl);
    }
    int differs = miss || extra || diff || dup || unmatched;
    /* after a repair, what counts is whether the target now reads equal */
    int fixed = o->verify->repair && differs && left == 0 && !dup && !unmatched;
    json_t *sum = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "type", "summary", "result",
                            fixed ? "repaired" : differs ? "different" : "equal", "missing",
                            (json_int_t)miss, "extra", (json_int_t)extra, "different",
                            (json_int_t)diff, "duplicate", (json_int_t)dup);
    if (sum && o->verify->repair) {
        json_object_set_new(sum, "repaired", json_integer(repaired));
        json_object_set_new(sum, "deleted", json_integer(deleted));
    }
    int werr = write_line(out.file, sum) || write_line(out.copy, sum);
    json_decref(sum);
    if (werr || fflush(out.file) || (out.copy && fflush(out.copy))) {
        cli_error("cannot write the differences (%s%s%s)", path, o->report_path ? ", " : "",
                  o->report_path ? o->report_path : "");
        goto out;
    }
    if (out.total > out.printed && !o->quiet)
        fprintf(stderr, "cqlshift: %lld more difference%s in %s\n",
                (long long)(out.total - out.printed), out.total - out.printed == 1 ? "" : "s",
                path);
    rc = differs && !fixed ? CLI_EXIT_DIFFERENCES : CLI_EXIT_OK;
    if (o->verify->repair && extra && !o->verify->delete_extra)
        cli_note(o->quiet, "%lld row%s only the target has %s kept; --delete-extra deletes them",
                 (long long)extra, extra == 1 ? "" : "s", extra == 1 ? "was" : "were");
    /* a repair with the rows' own write time loses to any newer write or
     * delete in the target: say so, or "still differs" has no reason */
    for (int i = 0; o->verify->repair && i < nres; i++) {
        if (!res[i].counts.buckets_after_repair)
            continue;
        for (int k = 0; k < ntables; k++) {
            const char *name = tables[k].table ? tables[k].table : tables[k].name;
            if (tables[k].map && tables[k].map->timestamp &&
                !strcmp(tables[k].keyspace, res[i].keyspace) && !strcmp(name, res[i].table)) {
                cli_note(o->quiet, "%s.%s: the repairs were written with each row's own write "
                                   "time (the mapping's writetime), and a later write or delete "
                                   "of the row in the target wins over it",
                         res[i].keyspace, res[i].table);
                break;
            }
        }
    }
    if (state_set_finished(st, &se)) {
        cli_error("%s", se.msg);
        rc = CLI_EXIT_FAILED;
    }
    if (!o->quiet)
        fprintf(stderr, "cqlshift: %s (exit code %d); run folder: %s\n",
                fixed     ? "the differences were repaired and the target now reads equal"
                : differs ? "the target differs from the source"
                          : "the target holds what the source holds",
                rc, j->dir);
    job_log(j, "end: exit %d; %lld missing, %lld extra, %lld different, %lld duplicate keys", rc,
            (long long)miss, (long long)extra, (long long)diff, (long long)dup);
out:
    if (out.copy && out.copy != stdout)
        fclose(out.copy);
    else if (out.copy)
        fflush(stdout);
    fclose(out.file);
    free(res);
    load_ranges_free(tables, ntables);
    state_close(st);
    return rc;
}
