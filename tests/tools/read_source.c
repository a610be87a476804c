/* read_source: print the rows a source connector reads, for debugging and
 * end-to-end tests.
 *
 *   read_source URI TABLE [--after N] [--batch N] [--range I] [--describe]
 *               [--no-header] [--columns A,B,C] [--delimiter C] [--quote C]
 *               [--escape C] [--null S] [--max-field N] [--quiet]
 *
 * URI is what source_open accepts (csv:PATH, jsonl:PATH, sqlite:PATH or a
 * bare path). Each row is one JSON line on stdout:
 *   {"pos":N,"values":[...],"problem":null|"...","raw":"..."}
 * (text values as JSON strings, or {"hex":"..."} when not valid UTF-8; JSON
 * values as themselves; "raw" only for rows with a problem). After each
 * batch, "resume_after N" goes to stderr. Without --range every range of the
 * table is read in order; --after needs --range (default 0) since resume
 * points belong to one range. --describe prints the table's columns first
 * (as {"table":..,"columns":[..],"ranges":N}). --quiet prints no rows, only
 * a summary on stderr (rows, problems, time, ns/row, MB/s) - the parse
 * benchmark. Exit 0, or 1 with the source's message on stderr.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "load/loader.h"
#include "source/source.h"

static void usage(void)
{
    fprintf(stderr,
            "usage: read_source URI TABLE [--after N] [--batch N] [--range I] [--describe]\n"
            "       [--no-header] [--columns A,B,C] [--delimiter C] [--quote C] [--escape C]\n"
            "       [--null S] [--max-field N] [--quiet]\n");
    exit(2);
}

static char parse_char(const char *v)
{
    if (!strcmp(v, "\\t") || !strcmp(v, "tab"))
        return '\t';
    if (!*v || !strcmp(v, "none"))
        return '\0';
    return v[0];
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, min = 0x10000;
    else
        return 0;
    if (n < len)
        return 0;
    unsigned cp = c & (0x3F >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

static void put_string(FILE *o, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_len(p + i, n - i);
        if (!k) {
            fputs("{\"hex\":\"", o);
            for (size_t j = 0; j < n; j++)
                fprintf(o, "%02x", p[j]);
            fputs("\"}", o);
            return;
        }
        i += k;
    }
    putc('"', o);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\')
            fprintf(o, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", o);
        else if (c == '\r')
            fputs("\\r", o);
        else if (c == '\t')
            fputs("\\t", o);
        else if (c < 0x20)
            fprintf(o, "\\u%04x", c);
        else
            putc(c, o);
    }
    putc('"', o);
}

static void put_value(FILE *o, const src_value *v)
{
    switch (v->kind) {
    case SV_NULL: fputs("null", o); break;
    case SV_INT: fprintf(o, "%" PRId64, v->u.i); break;
    case SV_DOUBLE: fprintf(o, "%.17g", v->u.d); break;
    case SV_TEXT: put_string(o, v->u.s.p, v->u.s.n); break;
    case SV_BLOB:
        fputs("{\"hex\":\"", o);
        for (size_t j = 0; j < v->u.s.n; j++)
            fprintf(o, "%02x", (unsigned char)v->u.s.p[j]);
        fputs("\"}", o);
        break;
    case SV_JSON: {
        char *t = json_dumps(v->u.j, JSON_COMPACT | JSON_ENCODE_ANY);
        fputs(t ? t : "null", o);
        free(t);
        break;
    }
    default: {
        /* typed database values: {"<kind>": text form} */
        static const char *const kinds[] = {
            [SV_BOOL] = "bool", [SV_UINT] = "uint", [SV_DECIMAL] = "decimal",
            [SV_TIMESTAMP] = "timestamp", [SV_DATE] = "date", [SV_TIME] = "time",
            [SV_DURATION] = "duration", [SV_UUID] = "uuid", [SV_INET] = "inet",
            [SV_LIST] = "list", [SV_BAD] = "bad"};
        cs_buf b;
        cs_buf_init(&b, SIZE_MAX);
        fprintf(o, "{\"%s\":", (size_t)v->kind < sizeof kinds / sizeof *kinds && kinds[v->kind]
                                   ? kinds[v->kind] : "?");
        if (load_value_text(v, &b) == 0)
            put_string(o, b.len ? (const char *)b.data : "", b.len);
        else
            fputs("null", o);
        putc('}', o);
        cs_buf_release(&b);
        break;
    }
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        usage();
    const char *uri = argv[1], *table = argv[2];
    int64_t after = INT64_MIN;
    int batch = 500, range = -1, describe = 0, quiet = 0;
    file_options fo;
    file_options_init(&fo);
    char *colbuf = NULL;
    const char *cols[1024];
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--describe")) {
            describe = 1;
            continue;
        }
        if (!strcmp(a, "--quiet")) {
            quiet = 1;
            continue;
        }
        if (!strcmp(a, "--no-header")) {
            fo.header = 0;
            continue;
        }
        if (!v)
            usage();
        i++;
        if (!strcmp(a, "--after"))
            after = strtoll(v, NULL, 10);
        else if (!strcmp(a, "--batch"))
            batch = atoi(v);
        else if (!strcmp(a, "--range"))
            range = atoi(v);
        else if (!strcmp(a, "--delimiter"))
            fo.delimiter = parse_char(v);
        else if (!strcmp(a, "--quote"))
            fo.quote = parse_char(v);
        else if (!strcmp(a, "--escape"))
            fo.escape = parse_char(v);
        else if (!strcmp(a, "--null"))
            fo.null_marker = v;
        else if (!strcmp(a, "--max-field"))
            fo.max_field = (size_t)strtoull(v, NULL, 10);
        else if (!strcmp(a, "--columns")) {
            colbuf = strdup(v);
            int n = 0;
            for (char *s = colbuf, *tok; n < 1024 && (tok = strsep(&s, ","));)
                cols[n++] = tok;
            fo.columns = cols;
            fo.ncolumns = n;
        } else
            usage();
    }
    if (batch < 1)
        usage();
    if (after != INT64_MIN && range < 0)
        range = 0;

    source_error err;
    source *src = source_open(uri, table, &fo, &err);
    if (!src) {
        fprintf(stderr, "read_source: %s\n", err.msg);
        free(colbuf);
        return 1;
    }
    int rc = 1;
    source_range *ranges = NULL;
    int nranges = 0;
    const source_schema *sc = src->ops->describe(src, &err);
    if (!sc)
        goto out;
    int t = 0;
    while (t < sc->ntables && strcmp(sc->tables[t].name, table))
        t++;
    if (t == sc->ntables) {
        snprintf(err.msg, sizeof err.msg, "no table %s in %s", table, uri);
        goto out;
    }
    if (src->ops->split(src, t, 1, &ranges, &nranges, &err))
        goto out;
    if (describe) {
        const source_table *tb = &sc->tables[t];
        printf("{\"table\":");
        put_string(stdout, tb->name, strlen(tb->name));
        printf(",\"columns\":[");
        for (int c = 0; c < tb->ncols; c++) {
            if (c)
                putchar(',');
            put_string(stdout, tb->cols[c].name, strlen(tb->cols[c].name));
        }
        printf("],\"row_estimate\":%" PRId64 ",\"ranges\":%d}\n", tb->row_estimate, nranges);
    }
    if (range >= nranges) {
        snprintf(err.msg, sizeof err.msg, "no range %d (the table has %d)", range, nranges);
        goto out;
    }
    row_batch b;
    row_batch_init(&b, batch);
    int64_t rows = 0, problems = 0, bytes = 0, batches = 0;
    double t0 = now();
    int failed = 0;
    for (int r = range < 0 ? 0 : range; r < (range < 0 ? nranges : range + 1) && !failed; r++) {
        int64_t hi = 0;
        if (src_pos_get_i64(&ranges[r].hi, 0, &hi) == 0 && hi > 0)
            bytes += hi;
        src_pos at = {0};
        if (after != INT64_MIN && src_pos_set_i64(&at, after)) {
            failed = 1;
            break;
        }
        source_reader *rd = src->ops->open_range(src, &ranges[r], &at, &err);
        src_pos_free(&at);
        if (!rd) {
            failed = 1;
            break;
        }
        int n;
        while ((n = src->ops->read(rd, &b, batch, &err)) > 0) {
            batches++;
            rows += n;
            for (int i = 0; i < b.n; i++) {
                const src_row *row = &b.rows[i];
                problems += row->problem != NULL;
                if (quiet)
                    continue;
                printf("{\"pos\":%" PRId64 ",\"values\":[", row->pos);
                for (int c = 0; c < (row->problem ? 0 : row->nvals); c++) {
                    if (c)
                        putchar(',');
                    put_value(stdout, &row->vals[c]);
                }
                printf("],\"problem\":");
                if (row->problem)
                    put_string(stdout, row->problem, strlen(row->problem));
                else
                    fputs("null", stdout);
                if (row->raw && row->problem) {
                    printf(",\"raw\":");
                    put_string(stdout, row->raw, row->raw_len);
                }
                printf("}\n");
            }
            if (!quiet) {
                fflush(stdout);
                int64_t ra;
                if (src_pos_get_i64(&b.resume, INT64_MIN, &ra) == 0)
                    fprintf(stderr, "resume_after %" PRId64 "\n", ra);
                else
                    fprintf(stderr, "resume_after (%zu bytes)\n", b.resume.n);
            }
        }
        if (n < 0)
            failed = 1;
        src->ops->close_range(rd);
    }
    double secs = now() - t0;
    row_batch_release(&b);
    if (quiet)
        fprintf(stderr,
                "rows %" PRId64 " problems %" PRId64 " batches %" PRId64 " bytes %" PRId64
                " seconds %.3f ns/row %.1f MB/s %.1f\n",
                rows, problems, batches, bytes, secs, rows ? secs * 1e9 / (double)rows : 0.0,
                secs > 0 ? (double)bytes / secs / 1e6 : 0.0);
    if (!failed)
        rc = 0;
out:
    if (rc)
        fprintf(stderr, "read_source: %s\n", err.msg);
    source_ranges_free(ranges, nranges);
    src->ops->close(src);
    free(colbuf);
    return rc;
}
