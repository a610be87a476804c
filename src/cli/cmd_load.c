/* cqlshift load FILE|DIR|- TARGET TABLE: load CSV or JSONL into an
 * existing Cassandra table, matching columns by name. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "cli/job.h"
#include "cli/load_map.h"
#include "map/rowmap.h"

/* Read the target table's columns from system_schema.columns. */
/* A column name as CQL quotes it: "a""b" for a"b. */
static void put_col(cs_buf *q, const char *name)
{
    cs_buf_put_u8(q, '"');
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            cs_buf_put_u8(q, '"');
        cs_buf_put_u8(q, (uint8_t)*p);
    }
    cs_buf_put_u8(q, '"');
}

static int plain_name(const char *s)
{
    if (!*s || strlen(s) > 200)
        return 0;
    for (; *s; s++)
        if (!(*s == '_' || (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
              (*s >= 'A' && *s <= 'Z')))
            return 0;
    return 1;
}

static void fold_lower(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
    for (char *c = dst; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
}

/* Read the target table's columns. Unquoted CQL names are stored in lower
 * case, so a keyspace or table typed with capitals is looked up as typed
 * first, then folded; ks (a buffer of ks_cap bytes) and found_name get the
 * names that exist. */
int cli_read_table(cql_session *s, char *ks, size_t ks_cap, const char *table, table_col **out,
                   int *n, char *found_name, size_t found_cap, int verify)
{
    if (!plain_name(ks) || !plain_name(table)) {
        cli_error("'%s.%s' is not a keyspace and table name this version can load into (letters, "
                  "digits and _ only)",
                  ks, table);
        return -1;
    }
    char kss[2][256], tbs[2][256]; /* plain_name: at most 200 bytes */
    snprintf(kss[0], sizeof kss[0], "%.200s", ks);
    fold_lower(kss[1], sizeof kss[1], ks);
    snprintf(tbs[0], sizeof tbs[0], "%.200s", table);
    fold_lower(tbs[1], sizeof tbs[1], table);
    cql_error e;
    cql_result *r = NULL;
    int rows = 0;
    for (int k = 0; k < 2 && rows == 0; k++) {
        if (k && !strcmp(kss[0], kss[1]))
            break;
        for (int t = 0; t < 2 && rows == 0; t++) {
            if (t && !strcmp(tbs[0], tbs[1]))
                break;
            char q[1200];
            snprintf(q, sizeof q,
                     "SELECT column_name, kind, type, position FROM system_schema.columns WHERE "
                     "keyspace_name = '%.200s' AND table_name = '%.200s'",
                     kss[k], tbs[t]);
            cql_result_free(r);
            r = cql_session_simple(s, q, &e);
            if (!r) {
                cli_error("cannot read the columns of %s.%s: %s", kss[k], tbs[t], e.msg);
                return -1;
            }
            rows = cql_result_row_count(r);
            if (rows) {
                snprintf(ks, ks_cap, "%.200s", kss[k]);
                snprintf(found_name, found_cap, "%.200s", tbs[t]);
            }
        }
    }
    if (rows == 0) {
        cql_result_free(r);
        char q[600];
        snprintf(q, sizeof q,
                 "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name IN "
                 "('%.200s', '%.200s')",
                 kss[0], kss[1]);
        r = cql_session_simple(s, q, &e);
        if (r && cql_result_row_count(r) == 0)
            cli_error(verify == 2 ? "keyspace %s does not exist: there is nothing to unload"
                      : verify    ? "keyspace %s does not exist: there is no table to compare the "
                                    "files with (load them first)"
                                  : "keyspace %s does not exist; create it and the table first "
                                    "(cqlshift load writes into an existing table)",
                      ks);
        else
            cli_error(verify == 2 ? "table %s.%s does not exist: there is nothing to unload"
                      : verify    ? "table %s.%s does not exist: there is nothing to compare the "
                                    "files with (load them first)"
                                  : "table %s.%s does not exist; create it first (cqlshift load "
                                    "writes into an existing table)",
                      ks, table);
        cql_result_free(r);
        return -1;
    }
    table_col *cols = calloc((size_t)rows, sizeof *cols);
    for (int i = 0; cols && i < rows; i++) {
        const uint8_t *p[4];
        int32_t l[4];
        for (int c = 0; c < 4; c++)
            l[c] = cql_result_value(r, i, c, &p[c]);
        cols[i].position = l[3] == 4 ? (int)cs_be32(p[3]) : -1;
        cols[i].name = strndup((const char *)p[0], (size_t)(l[0] > 0 ? l[0] : 0));
        char kind[32] = "", type[512] = "";
        snprintf(kind, sizeof kind, "%.*s", l[1] > 0 ? l[1] : 0, (const char *)p[1]);
        snprintf(type, sizeof type, "%.*s", l[2] > 0 ? l[2] : 0, (const char *)p[2]);
        cols[i].kind = !strcmp(kind, "partition_key") ? 1 : !strcmp(kind, "clustering") ? 2 : 0;
        cols[i].is_static = !strcmp(kind, "static");
        cols[i].type = cql_type_parse(type, &e);
        if (!cols[i].type) {
            cli_error("column %s of %s.%s has type %s, which this version cannot load: %s",
                      cols[i].name, ks, table, type, e.msg);
            *out = cols;
            *n = i + 1;
            cql_result_free(r);
            return -1;
        }
    }
    cql_result_free(r);
    *out = cols;
    *n = rows;
    return 0;
}

int cli_parse_char(void *field, const char *opt, const char *v)
{
    char *out = field;
    if (!strcmp(v, "\\t") || !strcmp(v, "tab")) {
        *out = '\t';
        return 0;
    }
    if (strlen(v) != 1) {
        cli_error("--%s takes one character (or tab), not '%s'", opt, v);
        return -1;
    }
    *out = v[0];
    return 0;
}

int cli_parse_text(void *field, const char *opt, const char *v)
{
    (void)opt;
    *(const char **)field = v;
    return 0;
}

/* A format option into one of two process-wide buffers (a command parses
 * its options once). */
static int parse_format(void *field, const char *opt, const char *v, int ts)
{
    static char bufs[2][512];
    char why[300];
    if (textfmt_translate(v, bufs[ts], sizeof bufs[ts], why, sizeof why) ||
        textfmt_check(bufs[ts], ts, why, sizeof why)) {
        cli_error("--%s '%s': %s", opt, v, why);
        return -1;
    }
    *(const char **)field = bufs[ts];
    return 0;
}

int cli_parse_ts_format(void *field, const char *opt, const char *v)
{
    return parse_format(field, opt, v, 1);
}

int cli_parse_date_format(void *field, const char *opt, const char *v)
{
    return parse_format(field, opt, v, 0);
}

/* the field is textfmt.zone_min; has_zone is set too */
int cli_parse_time_zone(void *field, const char *opt, const char *v)
{
    textfmt *tf = (textfmt *)(void *)((char *)field - offsetof(textfmt, zone_min));
    tf->tz = NULL;
    if (textfmt_parse_zone(v, &tf->zone_min)) {
        char why[600];
        tf->zone_min = 0;
        if (!(tf->tz = cs_tz_open(v, why, sizeof why))) {
            cli_error("--%s: %s", opt, why);
            return -1;
        }
    }
    tf->has_zone = 1;
    return 0;
}

int cli_parse_tf_epoch(void *field, const char *opt, const char *v)
{
    int *u = field;
    *u = !strcmp(v, "s") ? 1 : !strcmp(v, "ms") ? 1000 : !strcmp(v, "us") ? 1000000 : 0;
    if (!*u) {
        cli_error("--%s takes s, ms or us, not '%s'", opt, v);
        return -1;
    }
    return 0;
}

int cli_textfmt_check(const textfmt *tf)
{
    static const char bad[] = "0123456789+-eE";
    if ((tf->decimal_sep && strchr(bad, tf->decimal_sep)) ||
        (tf->thousands_sep && strchr(bad, tf->thousands_sep))) {
        cli_error("--decimal-separator and --thousands-separator cannot be a digit, a sign or e: "
                  "numbers are made of those");
        return -1;
    }
    if (tf->thousands_sep && tf->thousands_sep == (tf->decimal_sep ? tf->decimal_sep : '.')) {
        cli_error("--thousands-separator '%c' is also the decimal separator: give another one "
                  "(--decimal-separator , --thousands-separator . for 1.234,5)",
                  tf->thousands_sep);
        return -1;
    }
    return 0;
}

int cli_textfmt_used(const textfmt *tf)
{
    return tf->timestamp_format || tf->date_format || tf->has_zone || tf->epoch_unit ||
           tf->decimal_sep || tf->thousands_sep;
}

void cli_textfmt_key(const textfmt *tf, char *out, size_t n)
{
    if (!cli_textfmt_used(tf)) {
        if (n)
            out[0] = 0;
        return;
    }
    snprintf(out, n, " tsf=%.200s df=%.200s tz=%d/%d%s%.100s eu=%d dec=%d thou=%d",
             tf->timestamp_format ? tf->timestamp_format : "", tf->date_format ? tf->date_format : "",
             tf->has_zone, tf->zone_min, tf->tz ? "/" : "", tf->tz ? cs_tz_name(tf->tz) : "",
             tf->epoch_unit, tf->decimal_sep, tf->thousands_sep);
}

/* --null S, repeatable: appended to load_args.nulls (the field). */
static int parse_null(void *field, const char *opt, const char *v)
{
    load_args *la = (load_args *)(void *)((char *)field - offsetof(load_args, nulls));
    if (la->nnull == FILE_MAX_NULLS) {
        cli_error("--%s: at most %d null markers", opt, FILE_MAX_NULLS);
        return -1;
    }
    la->nulls[la->nnull++] = v;
    return 0;
}

#define LOAD_OPT(field) offsetof(load_args, field)
const cli_opt load_opts[] = {
    {"format", 0, OPT_CHOICE, LOAD_OPT(format), "csv|jsonl",
     "input format (default: from the file name: .csv; .jsonl, .ndjson, .json for JSONL; csv "
     "for -)", 0, 0, 0, "csv|jsonl", NULL},
    {"delimiter", 0, OPT_CUSTOM, LOAD_OPT(fo.delimiter), "C",
     "field delimiter (default ,; \\t or tab for a tab)", 0, 0, 0, NULL, cli_parse_char},
    {"quote", 0, OPT_CUSTOM, LOAD_OPT(fo.quote), "C", "quote character (default \")", 0, 0, 0,
     NULL, cli_parse_char},
    {"escape", 0, OPT_CUSTOM, LOAD_OPT(fo.escape), "C",
     "escape character inside quotes (default: a doubled quote)", 0, 0, 0, NULL, cli_parse_char},
    {"null", 0, OPT_CUSTOM, LOAD_OPT(nulls), "S",
     "unquoted field that means null (default: an empty field); give it again for several "
     "(--null '' --null N/A: an empty field and N/A are null)", 0, 0, 0, NULL,
     parse_null},
    {"encoding", 0, OPT_TEXT, LOAD_OPT(fo.encoding), "E",
     "the files' character set (default UTF-8, or UTF-16 when the file starts with its byte "
     "order mark): latin1, windows-1252, UTF-16LE... any name iconv -l lists; the text is "
     "converted to UTF-8 as it is read. Compressed files (gzip, zstd) are recognized by their "
     "first bytes whatever the name, and decompressed as they are read", 0, 0, 0, NULL, NULL},
    {"skip-rows", 0, OPT_LLONG, LOAD_OPT(fo.skip_rows), "N",
     "leave out the first N data rows of each file (after the header); they count as read "
     "and filtered", 0, 9e18, 1, NULL, NULL},
    {"max-rows", 0, OPT_LLONG, LOAD_OPT(fo.max_rows), "N",
     "read at most N data rows of each file (after --skip-rows; rejected rows count)", 1, 9e18,
     1, NULL, NULL},
    {"comment", 0, OPT_CUSTOM, LOAD_OPT(fo.comment), "C",
     "lines that start with C are comments: left out (counted as filtered in the summary); "
     "in a CSV file they may come before the header too", 0, 0, 0, NULL, cli_parse_char},
    {"no-header", 0, OPT_FLAG, LOAD_OPT(no_header), NULL, "the first line is data; give --columns",
     0, 0, 0, NULL, NULL},
    {"columns", 0, OPT_TEXT, LOAD_OPT(columns), "A,B,C",
     "column names, in file order (CSV with a header: they replace its names; JSONL: the keys, "
     "another key is rejected)", 0, 0, 0, NULL, NULL},
    {"map", 0, OPT_TEXT, LOAD_OPT(map), "SPEC",
     "which table column gets what: 'col=EXPR,...', the table's column on the left, an "
     "expression over the file's fields on the right (col=field renames; a constant such as "
     "'EU' or 42; upper(name), to_timestamp(...)...); a bare name takes the field of that name, "
     "* every other column from the field of its name; fields not named are skipped", 0, 0, 0,
     NULL, NULL},
    {"where", 0, OPT_TEXT, LOAD_OPT(where), "EXPR",
     "load only the rows for which EXPR, an expression over the file's fields, is true "
     "(\"amount > 0 and country = 'FR'\"); the others count as filtered. Without --map, "
     "--map '*' is implied", 0, 0, 0, NULL, NULL},
    {"writetime", 0, OPT_TEXT, LOAD_OPT(writetime), "EXPR",
     "each row's write time: an expression giving a timestamp or microseconds since 1970 "
     "(default: the run's start; a null one rejects the row)", 0, 0, 0, NULL, NULL},
    {"ttl", 0, OPT_TEXT, LOAD_OPT(ttl), "EXPR",
     "each row's time to live in seconds, 0 to 630720000: a number (86400) or an expression; "
     "null: the table's default", 0, 0, 0, NULL, NULL},
    CLI_TEXTFMT_OPTS(LOAD_OPT(tf), "read"),
    {"plan", 0, OPT_TEXT, LOAD_OPT(plan), "PLAN.yaml",
     "load with a plan file's mappings (as migrate PLAN.yaml does): the file is the table their "
     "`from` names; every enabled table they feed (or only TABLE, when given) is created if "
     "missing and written from one read of the file", 0, 0, 0, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, 0, NULL, NULL},
};

static const char *const load_pos[] = {"FILE", "TARGET", "TABLE", NULL};
static const char *const load_notes[] = {target_options_help, NULL};

static const cli_spec load_spec = {
    .name = "load",
    .usage = "FILE|DIR|- cassandra://[USER@]HOST[,HOST][:PORT]/KEYSPACE TABLE [OPTIONS]",
    .positionals = load_pos,
    .npos_required = 2,
    .description =
        "Load CSV (RFC 4180) or JSONL (one object per line) into an existing table. CSV header "
        "names (or JSONL keys) are matched to the table's columns by name, or --map says which "
        "column gets which field or expression. With --plan PLAN.yaml the plan's mappings run "
        "instead (TABLE and the target's KEYSPACE may be left out): the tables they feed are "
        "created if missing and written from one read of the file. The format follows "
        "the file name or --format. HOST may be a comma-separated list of contact points. Every "
        "run writes into its own folder under --out-dir; an interrupted run goes on with the "
        "same command and --resume.",
    .notes = load_notes,
};

/* --map: parse it against the table and the file (load_map.h), refuse an
 * unmapped key column, and write the INSERT of the mapped columns (in the
 * text's order) into q. 0, or the exit code after printing why. */
static int map_columns(const load_args *la, const source_table *st, const table_col *tcols,
                       int ntcols, const char *ks, const char *table, const char *file,
                       load_map_spec *spec, cs_buf *q)
{
    const char **tnames = calloc((size_t)ntcols + 1, sizeof *tnames);
    const char **fnames = calloc((size_t)st->ncols + 1, sizeof *fnames);
    if (!tnames || !fnames) {
        free(tnames);
        free(fnames);
        cli_error("out of memory");
        return CLI_EXIT_FAILED;
    }
    for (int k = 0; k < ntcols; k++)
        tnames[k] = tcols[k].name;
    for (int i = 0; i < st->ncols; i++)
        fnames[i] = st->cols[i].name;
    char label[600];
    snprintf(label, sizeof label, "%s.%s", ks, table);
    int rc = load_map_parse(la->map, tnames, ntcols, fnames, st->ncols, label, spec)
                 ? CLI_EXIT_USAGE
                 : 0;
    for (int k = 0; rc == 0 && k < ntcols; k++) {
        if (tcols[k].kind == 0)
            continue;
        int mapped = 0;
        for (int c = 0; c < spec->nitems; c++)
            mapped |= spec->items[c].col == k;
        if (!mapped) {
            cs_buf list;
            cs_buf_init(&list, 1 << 16);
            for (int i = 0; i < st->ncols; i++)
                cs_buf_printf(&list, "%s%s", i ? ", " : "", fnames[i]);
            cs_buf_put_u8(&list, 0);
            cli_error("--map: position %d: %s, part of the primary key of %s, is not mapped: add "
                      "%s=EXPR (the fields of %s: %s)",
                      (int)strlen(la->map) + 1, tcols[k].name, label, tcols[k].name, file,
                      (const char *)list.data);
            cs_buf_release(&list);
            rc = CLI_EXIT_USAGE;
        }
    }
    free(tnames);
    free(fnames);
    if (rc)
        return rc;
    cs_buf_printf(q, "INSERT INTO \"%s\".\"%s\" (", ks, table);
    for (int c = 0; c < spec->nitems; c++) {
        cs_buf_printf(q, "%s", c ? ", " : "");
        put_col(q, tcols[spec->items[c].col].name);
    }
    cs_buf_printf(q, ") VALUES (");
    for (int c = 0; c < spec->nitems; c++)
        cs_buf_printf(q, "%s?", c ? ", " : "");
    cs_buf_printf(q, ") USING TIMESTAMP ?%s", la->ttl ? " AND TTL ?" : "");
    cs_buf_put_u8(q, 0);
    return 0;
}

/* --map: compile the expressions for the INSERT's bind types (types[0..
 * spec->nitems)), fill src_cols, and note the fields nothing names. The
 * row map, or NULL after printing "--map: position N: sentence". */
static map_rowmap *map_compile(const load_args *la, const source_table *st,
                               const load_map_spec *spec, const cql_type **types,
                               const char **names, int *src_cols, const char *file, int quiet)
{
    int n = spec->nitems;
    const char **fnames = calloc((size_t)st->ncols + 1, sizeof *fnames);
    map_type *ftypes = calloc((size_t)st->ncols + 1, sizeof *ftypes);
    const char **exprs = calloc((size_t)n + 1, sizeof *exprs);
    unsigned char *used = calloc((size_t)st->ncols + 1, 1);
    map_rowmap *rm = NULL;
    if (!fnames || !ftypes || !exprs || !used) {
        cli_error("out of memory");
        goto done;
    }
    for (int i = 0; i < st->ncols; i++) {
        fnames[i] = st->cols[i].name;
        ftypes[i] = map_type_of_column(&st->cols[i]);
    }
    for (int c = 0; c < n; c++)
        exprs[c] = spec->items[c].expr;
    map_env env = {.ncols = st->ncols, .names = fnames, .types = ftypes};
    map_rowmap_exprs x = {.ncols = n, .names = names, .exprs = exprs, .where = la->where,
                          .writetime = la->writetime, .ttl = la->ttl};
    map_rowmap_error re;
    rm = map_rowmap_compile_exprs(&env, &x, (const cql_type *const *)types, &re);
    if (!rm) {
        if (re.what >= 0 || re.what == MAP_RM_NONE) {
            int off = re.what >= 0 ? spec->items[re.what].expr_off + (re.offset > 0 ? re.offset : 0)
                                   : 0;
            cli_error("--map: position %d: %s", off + 1, re.msg);
        } else {
            const char *opt = re.what == MAP_RM_WHERE ? "where"
                              : re.what == MAP_RM_TTL ? "ttl"
                                                      : "writetime";
            if (re.offset >= 0)
                cli_error("--%s: position %d: %s", opt, re.offset + 1, re.msg);
            else
                cli_error("--%s: %s", opt, re.msg);
        }
        goto done;
    }
    for (int c = 0; c < n; c++)
        src_cols[c] = map_rowmap_src_col(rm, c);
    map_rowmap_uses(rm, used, st->ncols);
    cs_buf list;
    cs_buf_init(&list, 1 << 16);
    int skipped = 0;
    for (int i = 0; i < st->ncols; i++)
        if (!used[i])
            cs_buf_printf(&list, "%s%s", skipped++ ? ", " : "", fnames[i]);
    if (skipped)
        cli_note(quiet, "--map names no column for %d field%s of %s, which %s skipped: %.*s",
                 skipped, skipped == 1 ? "" : "s", file, skipped == 1 ? "is" : "are",
                 (int)list.len, (const char *)list.data);
    cs_buf_release(&list);
done:
    free(fnames);
    free(ftypes);
    free(exprs);
    free(used);
    return rm;
}

void cmd_load_doc(FILE *out, int man)
{
    cli_opt_group g[1] = {{"File options", load_opts, NULL}};
    run_doc(out, man, &load_spec, g, 1, NULL);
}

int cmd_load(int argc, char **argv)
{
    run_options o;
    run_options_init(&o);
    load_args la;
    load_args_init(&la);
    const char *pos[3] = {NULL, NULL, NULL};
    cli_opt_group g[1] = {{"File options", load_opts, &la}};
    int pr = run_parse(&load_spec, g, 1, NULL, &o, argc, argv, pos);
    if (pr)
        return pr > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    return load_main(&la, &o, pos);
}

void load_args_init(load_args *la)
{
    memset(la, 0, sizeof *la);
    file_options_init(&la->fo);
    la->format = -1;
}

int load_main(const load_args *lap, run_options *op, const char **pos)
{
    load_args la = *lap;
    if (cli_textfmt_check(&la.tf))
        return CLI_EXIT_USAGE;
    if (!la.map && !la.plan && (la.where || la.writetime || la.ttl))
        la.map = "*";   /* the expressions need the row map */
    run_options o = *op;
    file_options fo = la.fo;
    if (la.no_header)
        fo.header = 0;
    if (la.nnull > 0) {
        fo.null_markers = lap->nulls;
        fo.nnull = la.nnull;
        fo.null_marker = lap->nulls[0];
    }
    const char *format = la.format < 0 ? NULL : la.format == 0 ? "csv" : "jsonl";
    const char *columns = la.columns;
    char *colbuf = NULL;
    const char *collist[1024];
    if (columns) {
        colbuf = strdup(columns);
        int n = 0;
        for (char *save = NULL, *tok = strtok_r(colbuf, ",", &save); tok && n < 1024;
             tok = strtok_r(NULL, ",", &save))
            collist[n++] = tok;
        fo.columns = collist;
        fo.ncolumns = n;
    }
    if (!fo.header && !columns && (!format || !strcmp(format, "csv"))) {
        cli_error("--no-header needs --columns A,B,C to name the fields");
        free(colbuf);
        return CLI_EXIT_USAGE;
    }
    char uri[4200];
    if (format)
        snprintf(uri, sizeof uri, "%s:%s", format, pos[0]);
    else if (!strcmp(pos[0], "-"))
        snprintf(uri, sizeof uri, "csv:-");
    else
        snprintf(uri, sizeof uri, "%s", pos[0]);
    if (la.plan || !pos[2]) {
        int prc = CLI_EXIT_USAGE;
        if (!la.plan)
            cli_error("missing TABLE: name the table to %s, or give --plan PLAN.yaml "
                      "(see cqlshift %s --help)", o.verify ? "compare with" : "load into",
                      o.verify ? "verify" : "load");
        else if (la.map)
            cli_error("--map and --plan exclude each other: --map maps the file into TABLE, "
                      "--plan takes the mappings of the plan file");
        else if (!strcmp(pos[0], "-") && o.resume)
            cli_error("standard input cannot be resumed; load from a file to use --resume");
        else if (la.where || la.writetime || la.ttl)
            cli_error("--where, --writetime and --ttl apply to a load into TABLE; a plan's "
                      "mappings have their own where, writetime and ttl");
        else if (cli_textfmt_used(&la.tf))
            cli_error("--timestamp-format, --date-format, --time-zone, --epoch-unit and the "
                      "separators apply to a load into TABLE, not to --plan: in a plan, convert "
                      "the field with an expression (to_timestamp(field, 'FORMAT'), ...)");
        else {
            if (!strcmp(pos[0], "-"))
                o.restart = o.no_resume = 1;
            migrate_plan_args pa = {.epoch_unit = -1, .file_uri = uri, .file_opts = &fo,
                                    .only_table = pos[2]};
            prc = migrate_plan(la.plan, pos[1], &pa, &o);
        }
        free(colbuf);
        return prc;
    }
    target t;
    if (target_parse(&t, pos[1], o.password_file, &o.loader.consistency)) {
        free(colbuf);
        return CLI_EXIT_USAGE;
    }
    const char *table = pos[2];

    int rc = CLI_EXIT_FAILED;
    table_col *tcols = NULL;
    int ntcols = 0;
    source *src = NULL;
    load_table lt = {0};
    const cql_type **types = NULL;
    const char **names = NULL;
    int *src_cols = NULL, *is_key = NULL;
    unsigned char *in_static = NULL;
    load_column_info *info = NULL;
    const char **late = NULL; /* fo.late_columns (verify reopens the source with fo) */
    load_map_spec spec = {0};
    map_rowmap *rm = NULL;
    cs_buf q;
    cs_buf_init(&q, 1 << 20);
    job jb;
    memset(&jb, 0, sizeof jb);
    cql_session *s = NULL;
    if (!strcmp(pos[0], "-") && o.resume) {
        cli_error("standard input cannot be resumed; load from a file to use --resume");
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    /* An unfinished stdin run can never be resumed: a new one gives it up
     * rather than asking for --resume. */
    if (!strcmp(pos[0], "-"))
        o.restart = o.no_resume = 1;
    {
        char key[8192], name[600], fkey[1024];
        /* the mapping and the options that change what is read are part
         * of the job: a resume with another --map or --encoding is another
         * job (the rows written so far followed the first ones) */
        char tkey[600];
        file_options_key(&fo, fkey, sizeof fkey);
        cli_textfmt_key(&la.tf, tkey, sizeof tkey);
        char xkey[1600];
        snprintf(xkey, sizeof xkey, "%s%.500s%s%.500s%s%.500s", la.where ? " where " : "",
                 la.where ? la.where : "", la.writetime ? " wt " : "",
                 la.writetime ? la.writetime : "", la.ttl ? " ttl " : "", la.ttl ? la.ttl : "");
        snprintf(key, sizeof key, "load %.1000s -> %.500s/%s.%s%s%.2000s%s%s%s", uri, t.hosts,
                 t.keyspace, table, la.map ? " map " : "", la.map ? la.map : "", fkey, tkey,
                 xkey);
        snprintf(name, sizeof name, "%s.%s", t.keyspace, table);
        int done = 0;
        rc = run_prepare(&jb, &o, o.verify ? "verify" : "load", name, key, &done);
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
    if (cli_read_table(s, t.keyspace, sizeof t.keyspace, table, &tcols, &ntcols, table_name,
                   sizeof table_name, o.verify != NULL))
        goto out;
    table = table_name;
    /* JSONL, its columns from the keys of its first lines: a key first seen
     * later may still be one of the table's regular columns (key columns
     * must be in every row, so in the first lines too) */
    late = calloc((size_t)ntcols + 1, sizeof *late);
    if (!late)
        goto out;
    if (!columns && !la.map) {
        for (int k = 0; k < ntcols; k++)
            if (tcols[k].kind == 0)
                late[fo.nlate++] = tcols[k].name;
        fo.late_columns = late;
    }
    source_error se;
    src = source_open(uri, table, &fo, &se);
    if (!src) {
        cli_error("%s", se.msg);
        rc = se.code == SRC_E_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
        goto out;
    }
    const source_schema *schema = src->ops->describe(src, &se);
    if (!schema) {
        cli_error("%s", se.msg);
        goto out;
    }
    const source_table *st = &schema->tables[0];
    int n, counter = 0;
    for (int k = 0; k < ntcols; k++)
        counter |= tcols[k].type->id == CQL_T_COUNTER;
    if (counter && (la.map || la.where || la.writetime || la.ttl)) {
        cli_error("%s.%s is a counter table: it loads its file's columns as they are (no --map, "
                  "--where, --writetime or --ttl: Cassandra takes counters only as increments)",
                  t.keyspace, table);
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    if (counter && o.verify && o.verify->repair) {
        cli_error("%s.%s is a counter table: verify --repair cannot set counters (it could only "
                  "add to them); compare without --repair", t.keyspace, table);
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    if (counter && jb.resume && !o.verify) {
        cli_error("%s.%s is a counter table, whose load cannot go on where it stopped: the "
                  "increments written so far would be added again. TRUNCATE %s.%s and load it "
                  "again with --restart", t.keyspace, table, t.keyspace, table);
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    if (la.map) {
        int mrc = map_columns(&la, st, tcols, ntcols, t.keyspace, table, pos[0], &spec, &q);
        if (mrc) {
            rc = mrc;
            goto out;
        }
        n = spec.nitems + 1 + (la.ttl != NULL);
        types = calloc((size_t)n, sizeof *types);
        names = calloc((size_t)n, sizeof *names);
        src_cols = calloc((size_t)n, sizeof *src_cols);
        is_key = calloc((size_t)n, sizeof *is_key);
        if (!types || !names || !src_cols || !is_key)
            goto out;
        for (int c = 0; c < spec.nitems; c++) {
            types[c] = tcols[spec.items[c].col].type;
            names[c] = tcols[spec.items[c].col].name;
            is_key[c] = tcols[spec.items[c].col].kind;
        }
    } else {
        n = st->ncols + !counter;
        types = calloc((size_t)n, sizeof *types);
        names = calloc((size_t)n, sizeof *names);
        src_cols = calloc((size_t)n, sizeof *src_cols);
        is_key = calloc((size_t)n, sizeof *is_key);
        int *covered = calloc((size_t)ntcols, sizeof *covered);
        if (!types || !names || !src_cols || !is_key || !covered) {
            free(covered);
            goto out;
        }
        cs_buf_printf(&q, "INSERT INTO \"%s\".\"%s\" (", t.keyspace, table);
        /* a counter table: UPDATE ... SET c = c + ? ... WHERE k = ? ...,
         * bound in that order (its counters, then its key) */
        cs_buf set, where;
        cs_buf_init(&set, 1 << 20);
        cs_buf_init(&where, 1 << 20);
        int nb = 0;
        for (int pass = 0; pass < 1 + counter; pass++) {
            for (int c = 0; c < st->ncols; c++) {
                int found = -1;
                for (int k = 0; k < ntcols && found < 0; k++)
                    if (!strcmp(tcols[k].name, st->cols[c].name))
                        found = k;
                for (int k = 0; k < ntcols && found < 0; k++)
                    if (!strcasecmp(tcols[k].name, st->cols[c].name))
                        found = k;
                if (found < 0) {
                    cs_buf list;
                    cs_buf_init(&list, 1 << 16);
                    for (int k = 0; k < ntcols; k++)
                        cs_buf_printf(&list, "%s%s", k ? ", " : "", tcols[k].name);
                    cs_buf_put_u8(&list, 0);
                    cli_error("%s: column '%s' is not a column of %s.%s (its columns: %s)", pos[0],
                              st->cols[c].name, t.keyspace, table, (const char *)list.data);
                    cs_buf_release(&list);
                    cs_buf_release(&set);
                    cs_buf_release(&where);
                    free(covered);
                    rc = CLI_EXIT_USAGE;
                    goto out;
                }
                if (counter && (tcols[found].kind != 0) != pass)
                    continue;
                if (covered[found]) {
                    cli_error("%s: two fields ('%s' and an earlier one) name column '%s' of "
                              "%s.%s; rename one in the header (or --columns), or say which "
                              "goes where with --map",
                              pos[0], st->cols[c].name, tcols[found].name, t.keyspace, table);
                    cs_buf_release(&set);
                    cs_buf_release(&where);
                    free(covered);
                    rc = CLI_EXIT_USAGE;
                    goto out;
                }
                covered[found] = 1;
                types[nb] = tcols[found].type;
                names[nb] = tcols[found].name;
                src_cols[nb] = c;
                is_key[nb] = tcols[found].kind;
                nb++;
                if (!counter) {
                    cs_buf_printf(&q, "%s", c ? ", " : "");
                    put_col(&q, tcols[found].name);
                } else if (pass == 0) {
                    cs_buf_printf(&set, "%s", set.len ? ", " : "");
                    put_col(&set, tcols[found].name);
                    cs_buf_printf(&set, " = ");
                    put_col(&set, tcols[found].name);
                    cs_buf_printf(&set, " + ?");
                } else {
                    cs_buf_printf(&where, "%s", where.len ? " AND " : "");
                    put_col(&where, tcols[found].name);
                    cs_buf_printf(&where, " = ?");
                }
            }
        }
        for (int k = 0; k < ntcols; k++) {
            if (tcols[k].kind != 0 && !covered[k]) {
                cli_error("%s has no column '%s', which is part of the primary key of %s.%s", pos[0],
                          tcols[k].name, t.keyspace, table);
                cs_buf_release(&set);
                cs_buf_release(&where);
                free(covered);
                rc = CLI_EXIT_USAGE;
                goto out;
            }
        }
        free(covered);
        if (counter) {
            n = nb;
            if (!set.len) {
                cli_error("%s has none of the counters of %s.%s: there is nothing to add", pos[0],
                          t.keyspace, table);
                cs_buf_release(&set);
                cs_buf_release(&where);
                rc = CLI_EXIT_USAGE;
                goto out;
            }
            cs_buf_reset(&q);
            cs_buf_printf(&q, "UPDATE \"%s\".\"%s\" SET %.*s WHERE %.*s", t.keyspace, table,
                          (int)set.len, (const char *)set.data, (int)where.len,
                          (const char *)where.data);
        } else {
            cs_buf_printf(&q, ") VALUES (");
            for (int c = 0; c < st->ncols; c++)
                cs_buf_printf(&q, "%s?", c ? ", " : "");
            cs_buf_printf(&q, ") USING TIMESTAMP ?");
        }
        cs_buf_release(&set);
        cs_buf_release(&where);
        cs_buf_put_u8(&q, 0);
    }
    cql_error ce;
    const cql_prepared *ins = cql_session_prepare(s, (const char *)q.data, &ce);
    if (!ins) {
        cli_error("cannot prepare the insert into %s.%s: %s", t.keyspace, table, ce.msg);
        goto out;
    }
    /* The server's bind metadata has the full types (a user type's fields,
     * which system_schema.columns names only by type name). */
    const cql_metadata *bm = cql_prepared_bind(ins);
    if (bm && bm->cols && bm->ncols == n)
        for (int c = 0; c < n - !counter; c++)
            types[c] = bm->cols[c].type;
    lt.counter = counter;
    if (!counter) {
        int ts = la.map && la.ttl ? n - 2 : n - 1;   /* USING TIMESTAMP ? [AND TTL ?] */
        src_cols[ts] = -1;
        names[ts] = "[timestamp]";
        if (ts != n - 1) {
            src_cols[n - 1] = -1;
            names[n - 1] = "[ttl]";
        }
    }
    if (la.map) {
        rm = map_compile(&la, st, &spec, types, names, src_cols, pos[0], o.quiet);
        if (!rm) {
            rc = CLI_EXIT_USAGE;
            goto out;
        }
        lt.map = map_rowmap_ops(rm);
    }
    if (!counter) {
        /* static columns: a row of a partition's static values alone (its
         * clustering columns null) is written by a second INSERT of the
         * partition key and the static columns (the loader's insert_static) */
        int nv = n - 1 - (la.map && la.ttl ? 1 : 0), has_static = 0;
        in_static = calloc((size_t)nv + 1, 1);
        if (!in_static)
            goto out;
        cs_buf sq;
        cs_buf_init(&sq, 1 << 24);
        cs_buf_printf(&sq, "INSERT INTO \"%s\".\"%s\" (", t.keyspace, table);
        int k = 0;
        for (int c = 0; c < nv; c++)
            for (int j = 0; j < ntcols; j++)
                if (!strcmp(tcols[j].name, names[c]) && (tcols[j].kind == 1 || tcols[j].is_static)) {
                    in_static[c] = 1;
                    has_static |= tcols[j].is_static;
                    cs_buf_printf(&sq, "%s", k++ ? ", " : "");
                    put_col(&sq, tcols[j].name);
                    break;
                }
        cs_buf_printf(&sq, ") VALUES (");
        for (int c = 0; c < k; c++)
            cs_buf_printf(&sq, "%s?", c ? ", " : "");
        cs_buf_printf(&sq, ") USING TIMESTAMP ?%s", la.map && la.ttl ? " AND TTL ?" : "");
        cs_buf_put_u8(&sq, 0);
        if (has_static) {
            lt.insert_static = cql_session_prepare(s, (const char *)sq.data, &ce);
            if (!lt.insert_static) {
                cli_error("cannot prepare the insert of static columns into %s.%s: %s",
                          t.keyspace, table, ce.msg);
                cs_buf_release(&sq);
                goto out;
            }
            lt.in_static = in_static;
        }
        cs_buf_release(&sq);
    }
    lt.src_table = 0;
    lt.name = table;
    lt.keyspace = t.keyspace;
    lt.ncols = n;
    lt.types = types;
    lt.col_names = names;
    lt.src_cols = src_cols;
    lt.is_key = is_key;
    lt.insert = ins;
    lt.textfmt = cli_textfmt_used(&la.tf) ? &la.tf : NULL;
    lt.info = info = calloc((size_t)n, sizeof *info);
    if (!info) {
        cli_error("out of memory");
        goto out;
    }
    {
        /* the files' size over the bytes per line of a sample: an estimate
         * for the bar and ETA (the summary checks counts, not this) */
        int64_t total = schema->tables[0].row_estimate;
        if (o.verify) {
            source_reopen ro = {.uri = uri, .table = table, .fo = &fo};
            rc = run_verify(src, s, &lt, 1, &t, &o, &jb, uri, strcmp(pos[0], "-") ? &ro : NULL);
        } else {
            rc = run_load(src, s, &lt, 1, &total, &t, &o, &jb, uri);
            if (!o.quiet)
                load_print_value_notes(&lt, stderr);
        }
    }
out:
    job_close(&jb);
    free(late);
    free(in_static);
    map_rowmap_free(rm);
    load_map_release(&spec);
    cs_buf_release(&q);
    free(types);
    free(names);
    free(src_cols);
    free(is_key);
    free(info);
    for (int k = 0; k < ntcols; k++) {
        free(tcols[k].name);
        cql_type_free(tcols[k].type);
    }
    free(tcols);
    if (s)
        cql_session_close(s);
    if (src)
        src->ops->close(src);
    free(colbuf);
    return rc;
}
