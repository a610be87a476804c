/* hotpath: the loader's per-row work without a server, for instruction
 * counts under callgrind (tests/perf/hotpath.sh).
 *
 *   hotpath gen FILE N     write N deterministic rows of the benchmark table
 *                          (uuid, bigint, int, timestamp, ~20 and ~200 byte
 *                          texts, decimal, double, boolean, date, set<text>)
 *                          as CSV with a header
 *   hotpath run FILE       read FILE through the CSV source in batches of 500
 *                          and convert every value to its CQL type into one
 *                          value buffer per row, as the loader does; prints
 *                          rows and bytes encoded
 *
 * Exit 0, or 1 with a message. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load/loader.h"
#include "source/source.h"

static const char *const TYPES[] = {"uuid",   "bigint",  "int",     "timestamp",
                                    "text",   "text",    "decimal", "double",
                                    "boolean", "date",   "set<text>"};
enum { NCOLS = 11 };

/* A small deterministic generator (xorshift64*). */
static uint64_t rng = 0x9E3779B97F4A7C15u;
static uint64_t next(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717u;
}

static void text(FILE *f, size_t n)
{
    static const char alpha[] = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    for (size_t i = 0; i < n; i++)
        fputc(alpha[next() % (sizeof alpha - 1)], f);
}

static int gen(const char *path, long n)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    fputs("id,big,small,ts,short_text,long_text,amount,ratio,flag,day,tags\n", f);
    for (long i = 0; i < n; i++) {
        uint64_t a = next(), b = next();
        fprintf(f, "%08x-%04x-4%03x-8%03x-%012" PRIx64 ",", (unsigned)(a >> 32),
                (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff, (unsigned)(b >> 52) & 0xfff,
                b & 0xffffffffffffu);
        fprintf(f, "%" PRId64 ",%d,", (int64_t)next(), (int)(next() % 2000000) - 1000000);
        fprintf(f, "2024-%02d-%02dT%02d:%02d:%02d.%03dZ,", (int)(next() % 12) + 1,
                (int)(next() % 28) + 1, (int)(next() % 24), (int)(next() % 60),
                (int)(next() % 60), (int)(next() % 1000));
        text(f, 20);
        fputc(',', f);
        text(f, 200);
        fprintf(f, ",%d.%02d,%.6f,%s,2023-%02d-%02d,\"['%s','tag%d']\"\n",
                (int)(next() % 100000), (int)(next() % 100), (double)(next() % 1000000) / 7.0,
                next() % 2 ? "true" : "false", (int)(next() % 12) + 1, (int)(next() % 28) + 1,
                next() % 2 ? "red" : "blue", (int)(next() % 100));
    }
    return fclose(f) ? 1 : 0;
}

static int run(const char *path)
{
    cql_type *types[NCOLS];
    cql_error e;
    for (int c = 0; c < NCOLS; c++)
        if (!(types[c] = cql_type_parse(TYPES[c], &e))) {
            fprintf(stderr, "hotpath: %s: %s\n", TYPES[c], e.msg);
            return 1;
        }
    source_error se;
    source *s = source_open(path, "t", NULL, &se);
    if (!s) {
        fprintf(stderr, "hotpath: %s\n", se.msg);
        return 1;
    }
    source_range *rg;
    int nr;
    if (s->ops->split(s, 0, 1, &rg, &nr, &se)) {
        fprintf(stderr, "hotpath: %s\n", se.msg);
        return 1;
    }
    src_pos start = {0};
    source_reader *rd = s->ops->open_range(s, &rg[0], &start, &se);
    source_ranges_free(rg, nr);
    if (!rd) {
        fprintf(stderr, "hotpath: %s\n", se.msg);
        return 1;
    }
    /* the loader converts through load_convert_column (epoch units,
     * rounded-value counts), so this does too */
    static load_column_info info[NCOLS];
    const char *names[NCOLS];
    for (int c = 0; c < NCOLS; c++)
        names[c] = TYPES[c];
    load_table lt = {.name = "t", .keyspace = "ks", .ncols = NCOLS,
                     .types = (const cql_type *const *)types, .col_names = names, .info = info};
    row_batch b;
    row_batch_init(&b, 500);
    cs_buf out;
    cs_buf_init(&out, 1 << 20);
    long rows = 0, bad = 0;
    int64_t bytes = 0;
    int n;
    while ((n = s->ops->read(rd, &b, 500, &se)) > 0) {
        for (int i = 0; i < b.n; i++) {
            const src_row *r = &b.rows[i];
            rows++;
            if (r->problem || r->nvals != NCOLS) {
                bad++;
                continue;
            }
            cs_buf_reset(&out);
            for (int c = 0; c < NCOLS; c++)
                if (load_convert_column(&lt, c, &r->vals[c], r->pos, &out, &e)) {
                    fprintf(stderr, "hotpath: row %ld column %d: %s\n", rows, c, e.msg);
                    bad++;
                    break;
                }
            bytes += (int64_t)out.len;
        }
    }
    int rc = n < 0 || bad ? 1 : 0;
    if (n < 0)
        fprintf(stderr, "hotpath: %s\n", se.msg);
    printf("rows %ld bad %ld encoded_bytes %" PRId64 "\n", rows, bad, bytes);
    cs_buf_release(&out);
    row_batch_release(&b);
    s->ops->close_range(rd);
    s->ops->close(s);
    for (int c = 0; c < NCOLS; c++)
        cql_type_free(types[c]);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "gen"))
        return gen(argv[2], atol(argv[3]));
    if (argc == 3 && !strcmp(argv[1], "run"))
        return run(argv[2]);
    fprintf(stderr, "usage: hotpath gen FILE N | hotpath run FILE\n");
    return 2;
}
