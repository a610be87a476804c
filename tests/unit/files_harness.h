/* Shared by the file source unit tests (test_csv.c, test_jsonl.c): a
 * temporary directory, files written into it, and every row of a range read
 * through the connector's ops exactly as the loader does, copied out of the
 * batches (SV_JSON values as "json:" + their compact JSON). Include once,
 * after cmocka.h. */
#ifndef CQLSHIFT_TESTS_FILES_HARNESS_H
#define CQLSHIFT_TESTS_FILES_HARNESS_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "source/source.h"
#include "pos_harness.h"

static char tmpdir[256];

static inline int make_tmpdir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_files.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static inline int remove_tmpdir(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Write bytes to tmpdir/name; returns the (static) full path. */
static inline const char *put(const char *name, const char *data, size_t n)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    mkdir(path, 0700);
    *slash = '/';
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
    return path;
}

static inline const char *puts_(const char *name, const char *text)
{
    return put(name, text, strlen(text));
}

/* All rows of a source, copied out of the batches. */
typedef struct rowc {
    int64_t pos;
    int nvals;
    char **vals;        /* NULL = SV_NULL */
    size_t *lens;
    char *problem;
    char *raw;
} rowc;

typedef struct rows {
    rowc *r;
    int n;
    int64_t *resume;    /* resume point after each batch */
    int *batch_end;     /* rows read when that batch ended */
    int nb;
} rows;

static inline void rows_free(rows *rs)
{
    for (int i = 0; i < rs->n; i++) {
        for (int c = 0; c < rs->r[i].nvals; c++)
            free(rs->r[i].vals[c]);
        free(rs->r[i].vals);
        free(rs->r[i].lens);
        free(rs->r[i].problem);
        free(rs->r[i].raw);
    }
    free(rs->r);
    free(rs->resume);
    free(rs->batch_end);
    memset(rs, 0, sizeof *rs);
}

static inline char *dupn(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* Read range `range` from `after` with batches of `batch` rows into *out. */
static inline int read_range(source *s, int range, int64_t after, int batch, rows *out,
                             source_error *err)
{
    memset(out, 0, sizeof *out);
    source_range *rg;
    int nr;
    assert_int_equal(s->ops->split(s, 0, 4, &rg, &nr, err), 0);
    assert_true(range < nr);
    source_reader *rd = s->ops->open_range(s, &rg[range], AT(after), err);
    source_ranges_free(rg, nr);
    if (!rd)
        return -1;
    row_batch b;
    row_batch_init(&b, batch);
    int n, rc = 0;
    while ((n = s->ops->read(rd, &b, batch, err)) > 0) {
        assert_int_equal(n, b.n);
        out->r = realloc(out->r, (size_t)(out->n + n) * sizeof *out->r);
        for (int i = 0; i < n; i++) {
            const src_row *r = &b.rows[i];
            rowc *c = &out->r[out->n++];
            memset(c, 0, sizeof *c);
            c->pos = r->pos;
            if (r->problem) {
                c->problem = strdup(r->problem);
                c->raw = r->raw ? dupn(r->raw, r->raw_len) : NULL;
                continue;
            }
            c->nvals = r->nvals;
            c->vals = calloc((size_t)r->nvals + 1, sizeof *c->vals);
            c->lens = calloc((size_t)r->nvals + 1, sizeof *c->lens);
            for (int v = 0; v < r->nvals; v++) {
                if (r->vals[v].kind == SV_NULL)
                    continue;
                if (r->vals[v].kind == SV_JSON) {
                    char *j = json_dumps(r->vals[v].u.j, JSON_COMPACT | JSON_ENCODE_ANY);
                    size_t jn = strlen(j);
                    c->vals[v] = malloc(jn + 6);
                    memcpy(c->vals[v], "json:", 5);
                    memcpy(c->vals[v] + 5, j, jn + 1);
                    c->lens[v] = jn + 5;
                    free(j);
                    continue;
                }
                assert_int_equal(r->vals[v].kind, SV_TEXT);
                c->vals[v] = dupn(r->vals[v].u.s.p, r->vals[v].u.s.n);
                c->lens[v] = r->vals[v].u.s.n;
            }
        }
        out->resume = realloc(out->resume, (size_t)(out->nb + 1) * sizeof *out->resume);
        out->batch_end = realloc(out->batch_end, (size_t)(out->nb + 1) * sizeof *out->batch_end);
        out->resume[out->nb] = pos_i64(&b.resume);
        out->batch_end[out->nb++] = out->n;
    }
    if (n < 0)
        rc = -1;
    s->ops->close_range(rd);
    row_batch_release(&b);
    return rc;
}

/* Open `path` as a files source of `kind` ("csv", "jsonl"), table "t". */
static inline source *open_files(const char *kind, const char *path, const file_options *o)
{
    source_error err;
    source *s = source_files_open(kind, path, "t", o, &err);
    if (!s)
        fail_msg("open %s: %s", path, err.msg);
    return s;
}

/* Read every row of a one-file source. */
static inline void read_all_kind(const char *kind, const char *path, const file_options *o,
                                 int batch, rows *out)
{
    source *s = open_files(kind, path, o);
    source_error err;
    if (read_range(s, 0, INT64_MIN, batch, out, &err))
        fail_msg("read %s: %s", path, err.msg);
    s->ops->close(s);
}

#define assert_val(row, c, text) assert_string_equal((row).vals[c], text)
#define assert_nullv(row, c) assert_null_ptr((row).vals[c])
static inline void assert_null_ptr(const void *p)
{
    if (p)
        fail_msg("expected NULL, got \"%s\"", (const char *)p);
}

static inline void expect_problem(const rowc *r, int64_t pos, const char *problem)
{
    if (!r->problem)
        fail_msg("row at line %lld: expected problem \"%s\", got none", (long long)r->pos,
                 problem);
    assert_int_equal(r->pos, pos);
    assert_string_equal(r->problem, problem);
}

#endif
