/* cqlshift unload: a Cassandra table to CSV or JSONL (unload.h). */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "cli/job.h"
#include "unload/unload.h"

typedef struct unload_args {
    const char *output;
    int format;                 /* -1: from the output's name; 0 csv, 1 jsonl */
    const char *columns;
    char delimiter, quote;
    const char *null_text;
    int no_header;
    long long max_file_size;
    int page_size;
    const char *query;
    int compression;            /* -1: from the output's name; else fmt_compression */
    double rate_limit;
    textfmt tf;
} unload_args;

#define UNLOAD_OPT(field) offsetof(unload_args, field)
static const cli_opt unload_opts[] = {
    {"output", 'o', OPT_TEXT, UNLOAD_OPT(output), "FILE|DIR|-",
     "where the rows go: a file (written as FILE.cqlshift-part and renamed when complete), a "
     "directory (an existing one, or a name ending in /: files TABLE-000001.csv, ...), or - for "
     "standard output (no resume)", 0, 0, 0, NULL, NULL},
    {"format", 0, OPT_CHOICE, UNLOAD_OPT(format), "csv|jsonl",
     "output format (default: from the file name: .jsonl, .ndjson, .json for JSONL, else CSV)",
     0, 0, 0, "csv|jsonl", NULL},
    {"compression", 0, OPT_CHOICE, UNLOAD_OPT(compression), "none|gzip|zstd",
     "compress the output (default: from the file name: .gz gzip, .zst zstd; none for a "
     "directory or -)", 0, 0, 0, "none|gzip|zstd", NULL},
    {"columns", 0, OPT_TEXT, UNLOAD_OPT(columns), "A,B,C",
     "the columns to write, in this order (default: all, partition key first, then the "
     "clustering columns, then the others by name)", 0, 0, 0, NULL, NULL},
    {"delimiter", 0, OPT_CUSTOM, UNLOAD_OPT(delimiter), "C",
     "CSV field delimiter (default ,; \\t or tab for a tab)", 0, 0, 0, NULL, cli_parse_char},
    {"quote", 0, OPT_CUSTOM, UNLOAD_OPT(quote), "C", "CSV quote character (default \")", 0, 0, 0,
     NULL, cli_parse_char},
    {"null", 0, OPT_CUSTOM, UNLOAD_OPT(null_text), "S",
     "CSV: how null is written, unquoted (default: an empty field; an empty text is written "
     "as \"\")", 0, 0, 0, NULL, cli_parse_text},
    {"no-header", 0, OPT_FLAG, UNLOAD_OPT(no_header), NULL,
     "CSV: no header line with the column names", 0, 0, 0, NULL, NULL},
    {"max-file-size", 0, OPT_LLONG, UNLOAD_OPT(max_file_size), "BYTES",
     "with a directory output: start a new file once one holds this many bytes (after the row "
     "that reaches it; 100M = 100,000,000)", 1, 9e18, 1, NULL, NULL},
    {"page-size", 0, OPT_INT, UNLOAD_OPT(page_size), "N", "rows a page (default 5000)", 1,
     1000000, 1, NULL, NULL},
    {"rate-limit", 0, OPT_NUM, UNLOAD_OPT(rate_limit), "R",
     "read at most R rows a second (protects a production cluster; 20k = 20000)", 1, 1e9, 1,
     NULL, NULL},
    CLI_TEXTFMT_OPTS(UNLOAD_OPT(tf), "written"),
    {"query", 0, OPT_TEXT, UNLOAD_OPT(query), "SELECT",
     "write what this SELECT returns (its columns, in its order): with two bind markers for "
     "a token range (... WHERE token(k) >= ? AND token(k) <= ?) it is read in parallel like a "
     "table, else whole; TABLE may then be left out (it names the files of a directory "
     "output)", 0, 0, 0, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, 0, NULL, NULL},
};

static const char *const unload_pos[] = {"TARGET", "TABLE", NULL};
static const char *const unload_notes[] = {target_options_help, NULL};

static const cli_spec unload_spec = {
    .name = "unload",
    .usage = "cassandra://[USER@]HOST[,HOST][:PORT]/KEYSPACE TABLE -o FILE|DIR|- [OPTIONS]\n"
             "       cqlshift unload cassandra://[USER@]HOST[,HOST][:PORT][/KEYSPACE] [TABLE] "
             "--query SELECT -o FILE|DIR|- [OPTIONS]",
    .positionals = unload_pos,
    .npos_required = 1,
    .description =
        "Write every row of a Cassandra table to CSV or JSONL, in a form cqlshift load reads "
        "back to the same values (every CQL type: collections, tuples, user types, vectors; "
        "null and an empty text stay apart). The table is read in parallel by token range, "
        "paged, at the URI's consistency (default LOCAL_ONE here), and written in token order: "
        "the same data gives the same file. An interrupted unload goes on with the same command "
        "and --resume; the file then holds exactly what an uninterrupted unload writes.",
    .notes = unload_notes,
    .exit_codes = "Exit codes:\n"
                  "  0  done: every row written\n"
                  "  1  failed (Cassandra, the output)\n"
                  "  2  usage error\n"
                  "  5  interrupted (Ctrl-C, SIGTERM): run the same command with --resume\n",
};

static cli_opt_group groups[1] = {
    {"Unload options", unload_opts, NULL},
};

void cmd_unload_doc(FILE *out, int man)
{
    run_doc(out, man, &unload_spec, groups, 1, unload_run_opts);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

int cli_table_col_order(const void *a, const void *b)
{
    const table_col *x = a, *y = b;
    static const int rank[3] = {2, 0, 1};
    if (rank[x->kind] != rank[y->kind])
        return rank[x->kind] - rank[y->kind];
    if (x->kind)
        return x->position - y->position;
    return strcmp(x->name, y->name);
}

typedef struct display {
    unload_progress *p;
    double interval;
    int tty;
    atomic_int stop;
    int64_t start_us;
    const char *what;
} display;

static void *display_main(void *arg)
{
    display *d = arg;
    int64_t last = d->start_us;
    while (!atomic_load(&d->stop)) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
        int64_t now = cql_timestamp_now_us();
        if ((now - last) / 1e6 < (d->tty ? 0.5 : d->interval))
            continue;
        last = now;
        double s = (now - d->start_us) / 1e6;
        long long rows = atomic_load(&d->p->rows);
        fprintf(stderr, "%scqlshift: unload %s: %lld rows, %.1f MB, %lld of %lld token ranges "
                        "(%.0f s)%s",
                d->tty ? "\r\033[K" : "", d->what, rows, atomic_load(&d->p->bytes) / 1e6,
                (long long)atomic_load(&d->p->ranges_done),
                (long long)atomic_load(&d->p->ranges_total), s, d->tty ? "" : "\n");
        fflush(stderr);
    }
    if (d->tty)
        fprintf(stderr, "\r\033[K");
    return NULL;
}

int cmd_unload(int argc, char **argv)
{
    run_options o;
    run_options_init(&o);
    unload_args ua = {.format = -1, .delimiter = ',', .quote = '"', .null_text = "",
                      .page_size = 5000, .compression = -1};
    cli_opt_group g[1] = {groups[0]};
    g[0].base = &ua;
    const char *pos[2] = {NULL, NULL};
    int pr = run_parse(&unload_spec, g, 1, unload_run_opts, &o, argc, argv, pos);
    if (pr)
        return pr > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    if (cli_textfmt_check(&ua.tf))
        return CLI_EXIT_USAGE;
    if (!pos[1] && !ua.query) {
        cli_error("missing TABLE: name the table to unload (or give --query SELECT)");
        return CLI_EXIT_USAGE;
    }
    if (ua.query && ua.columns) {
        cli_error("--columns does not apply to --query: select the columns in the query");
        return CLI_EXIT_USAGE;
    }
    if (!ua.output) {
        cli_error("missing -o FILE|DIR|-: say where the rows go (a file, a directory, or - for "
                  "standard output)");
        return CLI_EXIT_USAGE;
    }
    int to_stdout = !strcmp(ua.output, "-");
    struct stat sb;
    int to_dir = !to_stdout && (ends_with(ua.output, "/") ||
                                (stat(ua.output, &sb) == 0 && S_ISDIR(sb.st_mode)));
    if (ua.max_file_size > 0 && !to_dir) {
        cli_error("--max-file-size needs a directory output (-o DIR/): the files are named "
                  "TABLE-000001.csv, TABLE-000002.csv, ...");
        return CLI_EXIT_USAGE;
    }
    if (to_stdout && o.resume) {
        cli_error("standard output cannot be resumed; unload to a file to use --resume");
        return CLI_EXIT_USAGE;
    }
    if (to_stdout)
        o.restart = o.no_resume = 1;
    fmt_compression comp = ua.compression >= 0 ? (fmt_compression)ua.compression
                           : to_dir || to_stdout ? FMT_COMP_NONE
                                                 : fmt_compression_of_name(ua.output);
    if (ua.compression >= 0 && !to_dir && !to_stdout &&
        fmt_compression_of_name(ua.output) != FMT_COMP_NONE &&
        fmt_compression_of_name(ua.output) != (fmt_compression)ua.compression) {
        cli_error("--compression %s contradicts the name %s, which says %s: name the file for "
                  "what it will hold (or leave --compression out)",
                  ua.compression ? fmt_compression_name((fmt_compression)ua.compression) : "none",
                  ua.output, fmt_compression_name(fmt_compression_of_name(ua.output)));
        return CLI_EXIT_USAGE;
    }
    char plain[4096];   /* the output's name without its compression suffix */
    snprintf(plain, sizeof plain, "%s", ua.output);
    if (!to_dir && !to_stdout && fmt_compression_of_name(plain) != FMT_COMP_NONE)
        *strrchr(plain, '.') = 0;
    int jsonl = ua.format >= 0 ? ua.format == 1
                               : !to_dir && !to_stdout &&
                                     (ends_with(plain, ".jsonl") || ends_with(plain, ".ndjson") ||
                                      ends_with(plain, ".json"));
    if (ua.delimiter == ua.quote || ua.delimiter == '\n' || ua.delimiter == '\r' ||
        ua.quote == '\n' || ua.quote == '\r') {
        cli_error("--delimiter and --quote must be two different characters other than a line "
                  "end");
        return CLI_EXIT_USAGE;
    }
    if (strchr(ua.null_text, ua.delimiter) || strchr(ua.null_text, ua.quote) ||
        strpbrk(ua.null_text, "\r\n")) {
        cli_error("--null '%s' holds the delimiter, the quote or a line end; a file could not be "
                  "read back", ua.null_text);
        return CLI_EXIT_USAGE;
    }
    target t;
    if (target_parse(&t, pos[0], o.password_file, &o.loader.consistency))
        return CLI_EXIT_USAGE;
    if (!strstr(pos[0], "consistency="))
        o.loader.consistency = CQL_LOCAL_ONE;
    if (!t.keyspace[0] && !ua.query) {
        cli_error("the target URI names no keyspace: cassandra://HOST/KEYSPACE");
        return CLI_EXIT_USAGE;
    }
    if (to_dir && stat(ua.output, &sb) != 0 && mkdir(ua.output, 0777) != 0) {
        cli_error("cannot create the directory %s: %s", ua.output, strerror(errno));
        return CLI_EXIT_FAILED;
    }
    if (!to_dir && !to_stdout) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", ua.output);
        char *slash = strrchr(dir, '/');
        if (slash)
            *(slash == dir ? slash + 1 : slash) = 0;
        else
            snprintf(dir, sizeof dir, ".");
        if (access(dir, W_OK) != 0) {
            cli_error("cannot write %s: the directory %s %s", ua.output, dir,
                      access(dir, F_OK) ? "does not exist" : "is not writable");
            return CLI_EXIT_USAGE;
        }
    }
    int rc = CLI_EXIT_FAILED;
    job jb;
    memset(&jb, 0, sizeof jb);
    jb.lock_fd = -1;
    cql_session *s = NULL;
    state *st = NULL;
    table_col *cols = NULL;
    int ncols = 0;
    const char **names = NULL, **pk = NULL;
    char *colbuf = NULL;
    const char *table = pos[1] ? pos[1] : "query";
    char outpath[4096];
    snprintf(outpath, sizeof outpath, "%s", ua.output);
    if (!to_stdout && !to_dir && ua.output[0] != '/') {
        char cwd[2048];
        if (getcwd(cwd, sizeof cwd))
            snprintf(outpath, sizeof outpath, "%s/%s", cwd, ua.output);
    }
    {
        char key[8192], name[600];
        char tkey[600];
        cli_textfmt_key(&ua.tf, tkey, sizeof tkey);
        snprintf(key, sizeof key,
                 "unload %.500s/%.100s.%.300s -> %.2500s %s%s cols=%.2000s d=%d q=%d null=%.200s h=%d max=%lld%.600s",
                 t.hosts, t.keyspace, table, outpath, jsonl ? "jsonl" : "csv",
                 comp ? fmt_compression_name(comp) : "", ua.query ? ua.query : ua.columns ? ua.columns : "*", ua.delimiter, ua.quote, ua.null_text,
                 !ua.no_header, ua.max_file_size, tkey);
        snprintf(name, sizeof name, "%s.%s", t.keyspace, table);
        int done = 0;
        rc = run_prepare(&jb, &o, "unload", name, key, &done);
        if (rc || done)
            goto out;
        rc = CLI_EXIT_FAILED;
    }
    if (cli_interrupted_before_writing()) {
        rc = CLI_EXIT_INTERRUPTED;
        goto out;
    }
    s = target_connect(&t, &o);
    if (!s)
        goto out;
    char table_name[256];
    if (ua.query) {
        snprintf(table_name, sizeof table_name, "%.200s", table);
    } else if (cli_read_table(s, t.keyspace, sizeof t.keyspace, table, &cols, &ncols,
                              table_name, sizeof table_name, 2)) {
        goto out;
    }
    table = table_name;
    if (cols)   /* none with --query */
        qsort(cols, (size_t)ncols, sizeof *cols, cli_table_col_order);
    names = calloc((size_t)ncols + 1, sizeof *names);
    pk = calloc((size_t)ncols + 1, sizeof *pk);
    if (!names || !pk) {
        cli_error("out of memory");
        goto out;
    }
    int nnames = 0, npk = 0;
    for (int i = 0; i < ncols; i++)
        if (cols[i].kind == 1)
            pk[npk++] = cols[i].name;
    if (ua.columns) {
        colbuf = strdup(ua.columns);
        for (char *save = NULL, *tok = colbuf ? strtok_r(colbuf, ",", &save) : NULL; tok;
             tok = strtok_r(NULL, ",", &save)) {
            int k = 0;
            while (k < ncols && strcmp(cols[k].name, tok))
                k++;
            if (k == ncols) {
                cs_buf list;
                cs_buf_init(&list, 1 << 16);
                for (int i = 0; i < ncols; i++)
                    cs_buf_printf(&list, "%s%s", i ? ", " : "", cols[i].name);
                cs_buf_put_u8(&list, 0);
                cli_error("--columns: %s.%s has no column '%s'; its columns are %s", t.keyspace,
                          table, tok, list.data ? (const char *)list.data : "");
                cs_buf_release(&list);
                rc = CLI_EXIT_USAGE;
                goto out;
            }
            if (nnames == ncols) {
                cli_error("--columns names a column twice");
                rc = CLI_EXIT_USAGE;
                goto out;
            }
            names[nnames++] = cols[k].name;
        }
    } else {
        for (int i = 0; i < ncols; i++)
            names[nnames++] = cols[i].name;
    }
    state_error se;
    if (!to_stdout) {
        st = state_open(jb.state_path, jb.key, jb.resume, &se);
        if (!st) {
            cli_error("%s", se.msg);
            rc = se.code == 2 ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
            goto out;
        }
    }
    if (st) {
        /* the columns written: a resume into a changed table is refused
         * (the file so far has the old shape) */
        cs_buf shape;
        cs_buf_init(&shape, 1 << 24);
        for (int i = 0; i < nnames; i++) {
            int k = 0;
            while (strcmp(cols[k].name, names[i]))
                k++;
            cs_buf_printf(&shape, "%s%s ", i ? ", " : "", names[i]);
            cql_type_format(cols[k].type, &shape);
        }
        if (ua.query)
            cs_buf_printf(&shape, "query: %s", ua.query);
        int bad = cs_buf_put_u8(&shape, 0);
        const char *now = bad ? "" : (const char *)shape.data;
        if (!jb.resume) {
            bad = bad || state_meta_set(st, "command", cli_command_line, &se) ||
                  state_meta_set(st, "mapping", now, &se);
            if (bad)
                cli_error("%s", se.msg);
        } else {
            char *was = state_meta_dup(st, "mapping", &se);
            char *cmd = state_meta_dup(st, "command", &se);
            if (was && strcmp(was, now)) {
                cli_error("cannot resume: the columns of %s.%s changed since the job started "
                          "(then: %s; now: %s), and the rows written so far have the old ones. "
                          "The job was started with: %s. Start it over with --restart",
                          t.keyspace, table, was, now, cmd ? cmd : "?");
                rc = CLI_EXIT_USAGE;
                bad = 1;
            }
            free(was);
            free(cmd);
        }
        cs_buf_release(&shape);
        if (bad)
            goto out;
    }
    if (!o.quiet)
        fprintf(stderr, "cqlshift: run folder: %s%s\n", jb.dir, jb.resume ? " (resuming)" : "");
    unload_config cfg;
    unload_config_init(&cfg);
    cfg.workers = 2 * (o.loader.workers > 0 ? o.loader.workers : 2) + 2;   /* as verify reads */
    cfg.page_size = ua.page_size;
    cfg.consistency = o.loader.consistency;
    cfg.format = jsonl ? UNLOAD_JSONL : UNLOAD_CSV;
    cfg.delimiter = ua.delimiter;
    cfg.quote = ua.quote;
    cfg.null_text = ua.null_text;
    cfg.header = !ua.no_header;
    cfg.max_file_bytes = ua.max_file_size;
    cfg.compression = comp;
    cfg.rate_limit = ua.rate_limit;
    cfg.textfmt = cli_textfmt_used(&ua.tf) ? &ua.tf : NULL;
    unload_progress prog;
    memset(&prog, 0, sizeof prog);
    cfg.progress = &prog;
    cfg.interrupt = &cli_interrupt;
    unload_table ut = {.keyspace = t.keyspace, .table = table, .columns = names,
                       .ncols = nnames, .pk = pk, .npk = npk, .query = ua.query};
    char dirpath[4096];
    snprintf(dirpath, sizeof dirpath, "%s", ua.output);
    if (to_dir && ends_with(dirpath, "/") && strlen(dirpath) > 1)
        dirpath[strlen(dirpath) - 1] = 0;
    unload_output uo = {0};
    if (to_stdout)
        uo.stream = stdout;
    else if (to_dir) {
        uo.dir = dirpath;
        uo.base = table;
        uo.ext = comp == FMT_COMP_GZIP ? (jsonl ? ".jsonl.gz" : ".csv.gz")
                 : comp == FMT_COMP_ZSTD ? (jsonl ? ".jsonl.zst" : ".csv.zst")
                                         : (jsonl ? ".jsonl" : ".csv");
    } else
        uo.file = outpath;
    char what[600];
    snprintf(what, sizeof what, "%s.%s", t.keyspace, table);
    display d = {.p = &prog, .interval = o.progress_interval > 0 ? o.progress_interval : 10,
                 .tty = isatty(2), .start_us = cql_timestamp_now_us(), .what = what};
    atomic_init(&d.stop, 0);
    pthread_t dth;
    int have_display = !o.quiet && pthread_create(&dth, NULL, display_main, &d) == 0;
    unload_result res;
    unload_error ue;
    int64_t t0 = cql_timestamp_now_us();
    int ur = unload_run(s, &ut, &cfg, st, &uo, &res, &ue);
    double secs = (cql_timestamp_now_us() - t0) / 1e6;
    if (have_display) {
        atomic_store(&d.stop, 1);
        pthread_join(dth, NULL);
    }
    job_log(&jb, "unload: rc=%d rows=%lld bytes=%lld files=%d resumed=%d", ur,
            (long long)res.rows, (long long)res.bytes, res.files, res.resumed);
    if (ur < 0) {
        cli_error("%s", ue.msg);
        rc = ue.usage ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
        goto out;
    }
    if (res.legacy_empty && !o.quiet)
        fprintf(stderr, "cqlshift: note: %lld value%s of a non-text type held no bytes (an "
                        "\"empty\" value, which only old clients write); written as null, the "
                        "first in %s\n",
                (long long)res.legacy_empty, res.legacy_empty == 1 ? "" : "s", res.first_empty);
    if (ur == 1) {
        fprintf(stderr, "cqlshift: interrupted after %lld rows; run the same command with "
                        "--resume to go on\n", (long long)prog.rows);
        rc = CLI_EXIT_INTERRUPTED;
        goto out;
    }
    if (st) {
        if (state_set_finished(st, &se)) {
            cli_error("%s", se.msg);
            goto out;
        }
    }
    if (!o.quiet)
        fprintf(stderr, "cqlshift: unload %s: %lld rows, %.1f MB in %.1f s (%.0f rows/s) to %s%s\n",
                what, (long long)atomic_load(&prog.rows), res.bytes / 1e6, secs,
                secs > 0 ? res.rows / secs : 0.0,
                to_stdout ? "standard output" : ua.output,
                to_dir ? "" : "");
    if (o.report_path) {
        json_t *rep = json_pack("{s:s, s:s, s:s, s:I, s:I, s:i, s:f, s:b, s:I}", "command",
                                "unload", "table", what, "output",
                                to_stdout ? "-" : ua.output, "rows",
                                (json_int_t)atomic_load(&prog.rows), "bytes",
                                (json_int_t)res.bytes, "files", res.files, "seconds", secs,
                                "resumed", res.resumed, "legacy_empty",
                                (json_int_t)res.legacy_empty);
        FILE *f = !strcmp(o.report_path, "-") ? stdout : fopen(o.report_path, "w");
        int bad = !rep || !f || json_dumpf(rep, f, JSON_COMPACT) || fputc('\n', f) == EOF;
        if (f && f != stdout)
            bad = fclose(f) || bad;
        json_decref(rep);
        if (bad) {
            cli_error("cannot write the report %s", o.report_path);
            goto out;
        }
    }
    rc = CLI_EXIT_OK;
out:
    if (st)
        state_close(st);
    if (s)
        cql_session_close(s);
    for (int i = 0; cols && i < ncols; i++) {
        free(cols[i].name);
        cql_type_free(cols[i].type);
    }
    free(cols);
    free(names);
    free(pk);
    free(colbuf);
    job_close(&jb);
    return rc;
}
