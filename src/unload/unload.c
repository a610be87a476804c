/* Unload (unload.h): token ranges read in parallel, written in ring order.
 *
 * Ranges and the writer role. Workers take ranges in order (next_take).
 * The output is owned by the range `head` (the first not yet written):
 * only the worker reading it writes, page by page, so the head never waits
 * on anything. A worker whose range is not the head formats into the
 * range's buffer; when the range is read whole the buffer is parked in a
 * slot (a window of UNLOAD_WINDOW ranges past the head), and the worker
 * that finishes the head writes every parked range that follows it. A
 * range whose buffer outgrows UNLOAD_RANGE_MEM before its turn waits for
 * it. All of this under one mutex; the writes themselves happen outside
 * it, by the single worker the protocol makes the writer.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "format/outstream.h"
#include "format/value_out.h"
#include "target/scan.h"
#include "unload/unload.h"
#include "util/buf.h"
#include "util/check.h"
#include "util/fsio.h"

#define UNLOAD_MAX_BITS 16
#define CHECKPOINT_US 1000000

void unload_config_init(unload_config *c)
{
    memset(c, 0, sizeof *c);
    c->workers = 2;
    c->page_size = 5000;
    c->consistency = CQL_LOCAL_ONE;
    c->range_bits = -1;
    c->format = UNLOAD_CSV;
    c->delimiter = ',';
    c->quote = '"';
    c->null_text = "";
    c->header = 1;
    c->state_key = "unload";
}

void unload_part_name(const char *path, char *out, size_t n)
{
    snprintf(out, n, "%s.cqlshift-part", path);
}

/* One range's formatted rows: text, and where each row ends (for cutting
 * files at a row's end). */
typedef struct rbuf {
    cs_buf text;
    size_t *ends;
    size_t nrows, cap;
} rbuf;

typedef struct slot {
    int parked;                 /* the range is read whole; buf holds its rows */
    rbuf buf;
} slot;

typedef struct unloader {
    cql_session *s;
    const unload_table *t;
    const unload_config *cfg;
    state *st;
    const unload_output *out;
    unload_result *res;
    const cql_prepared *select;
    const cql_metadata *meta;   /* the select's result columns */
    int query_ranges;           /* a query with the two token markers */
    int ncols;                  /* output columns */
    const char **colnames;      /* their names */
    int nread;                  /* the columns read as they are (the first nread) */
    int ntimes;                 /* then writetime() and ttl() of each of these columns,
                                 * written as two fields (unload_table.times_cols) */
    int bits;
    int64_t nranges;
    int window;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    int64_t next_take;          /* the next range a worker takes */
    int64_t head;               /* the first range not yet written */
    slot *slots;                /* window of them: range r parks in slots[r % window] */
    int failed;                 /* stop everything */
    char msg[1024];
    int stopped;                /* interrupted */

    /* the output (the writer's alone) */
    FILE *f;
    fmt_out *zo;                /* compresses into f (or passes through) */
    int64_t file_base;          /* bytes the file had when opened (a resume) */
    int file_index;             /* 1-based (directory output) */
    int64_t file_bytes;         /* bytes in the current file */
    int64_t file_rows;          /* rows in it (0: a new file need not start yet) */
    char path[4200];            /* the current file's final name */
    char part[4300];            /* and its temporary one */
    int64_t rows_done;          /* rows written (all runs) */
    atomic_llong rows_read;     /* rows read by this run (for --rate-limit) */
    int64_t start_us;
    int64_t last_ckpt_us;
    cs_buf header;              /* the CSV header line, or empty */
    char **jnames;              /* JSONL: "\"col\":" per column */
} unloader;

__attribute__((format(printf, 2, 3))) static void fail(unloader *U, const char *fmt, ...)
{
    pthread_mutex_lock(&U->mu);
    if (!U->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(U->msg, sizeof U->msg, fmt, ap);
        va_end(ap);
        U->failed = 1;
    }
    pthread_cond_broadcast(&U->cv);
    pthread_mutex_unlock(&U->mu);
}

static int stopping(unloader *U)
{
    if (U->cfg->interrupt && atomic_load(U->cfg->interrupt)) {
        pthread_mutex_lock(&U->mu);
        U->stopped = 1;
        pthread_cond_broadcast(&U->cv);
        pthread_mutex_unlock(&U->mu);
        return 1;
    }
    return U->failed;
}

/* ---- output files ---- */

static void file_names(unloader *U, int index)
{
    if (U->out->file)
        snprintf(U->path, sizeof U->path, "%s", U->out->file);
    else
        snprintf(U->path, sizeof U->path, "%s/%s-%06d%s", U->out->dir, U->out->base, index,
                 U->out->ext);
    unload_part_name(U->path, U->part, sizeof U->part);
}

/* Write n bytes to the current file (through the compressor). 0 or -1
 * (failed set). */
static int put(unloader *U, const void *p, size_t n)
{
    if (fmt_out_write(U->zo, p, n)) {
        fail(U, "cannot write %s: %s", U->out->stream ? "the output" : U->part, strerror(errno));
        return -1;
    }
    int64_t now = U->file_base + fmt_out_bytes(U->zo);
    int64_t grew = now - U->file_bytes;
    U->file_bytes = now;
    U->res->bytes += grew;
    if (U->cfg->progress)
        atomic_fetch_add(&U->cfg->progress->bytes, (long long)grew);
    return 0;
}

static int start_stream(unloader *U)
{
    char e[200];
    U->zo = fmt_out_open(U->f, U->cfg->compression, e, sizeof e);
    if (!U->zo) {
        fail(U, "%s", e);
        return -1;
    }
    return 0;
}

/* Open file `index` for writing: new (truncated, with the header) or, on a
 * resume, the temporary file cut to `keep` bytes. 0 or -1. */
static int open_file(unloader *U, int index, int64_t keep)
{
    U->file_index = index;
    U->file_bytes = 0;
    U->file_base = 0;
    U->file_rows = 0;
    if (U->out->stream) {
        U->f = U->out->stream;
        if (start_stream(U))
            return -1;
        return keep > 0 ? 0 : put(U, U->header.data, U->header.len);
    }
    file_names(U, index);
    if (keep > 0) {
        struct stat sb;
        if (stat(U->part, &sb) != 0 && stat(U->path, &sb) == 0 && rename(U->path, U->part)) {
            fail(U, "cannot go on with %s: %s", U->path, strerror(errno));
            return -1;
        }
        if (stat(U->part, &sb) != 0 || sb.st_size < keep) {
            fail(U, "cannot go on: %s is missing or shorter (%lld bytes) than the %lld bytes the "
                    "state says were written; start over with --restart",
                 U->part, stat(U->part, &sb) == 0 ? (long long)sb.st_size : 0LL, (long long)keep);
            return -1;
        }
        if (truncate(U->part, keep)) {
            fail(U, "cannot cut %s back to %lld bytes: %s", U->part, (long long)keep,
                 strerror(errno));
            return -1;
        }
        U->f = fopen(U->part, "ab");
        U->file_bytes = U->file_base = keep;
        U->file_rows = 1;   /* it has its header: a full file may end */
    } else {
        U->f = fopen(U->part, "wb");
    }
    if (!U->f) {
        fail(U, "cannot open %s for writing: %s", U->part, strerror(errno));
        return -1;
    }
    setvbuf(U->f, NULL, _IOFBF, 1 << 20);
    if (start_stream(U))
        return -1;
    return keep > 0 ? 0 : put(U, U->header.data, U->header.len);
}

/* End the compressed member, flush (and sync) the file. 0 or -1. */
static int flush_file(unloader *U, int sync)
{
    int bad = fmt_out_end_member(U->zo);
    int64_t now = U->file_base + fmt_out_bytes(U->zo);
    U->res->bytes += now - U->file_bytes;
    if (U->cfg->progress)
        atomic_fetch_add(&U->cfg->progress->bytes, (long long)(now - U->file_bytes));
    U->file_bytes = now;
    bad = bad || fflush(U->f) || (sync && fdatasync(fileno(U->f)));
    if (bad) {
        fail(U, "cannot write %s: %s", U->out->stream ? "the output" : U->part, strerror(errno));
        return -1;
    }
    return 0;
}

/* Flush the current file to disk (and, finishing, give it its name). */
static int close_file(unloader *U, int finish)
{
    if (!U->f)
        return 0;
    int bad = flush_file(U, !U->out->stream);
    bad = fmt_out_close(U->zo) || bad;
    U->zo = NULL;
    if (U->out->stream) {
        U->f = NULL;
        return bad ? -1 : 0;
    }
    bad = fclose(U->f) || bad;
    U->f = NULL;
    if (bad) {
        fail(U, "cannot write %s: %s", U->part, strerror(errno));
        return -1;
    }
    if (finish) {
        if (cs_rename_durable(U->part, U->path)) {
            fail(U, "cannot rename %s to %s: %s", U->part, U->path, strerror(errno));
            return -1;
        }
        U->res->files++;
    }
    return 0;
}

/* Record where the output stands: the next range to write, the current
 * file, its length and the rows written; the data is synced first. */
static int checkpoint(unloader *U, int64_t next)
{
    if (!U->st || U->out->stream)
        return 0;
    /* the file is complete up to here (its compressed member ended) */
    if (flush_file(U, 1))
        return -1;
    char v[128];
    snprintf(v, sizeof v, "%" PRId64 " %d %" PRId64 " %" PRId64, next, U->file_index,
             U->file_bytes, U->rows_done);
    state_error se;
    char key[600];
    snprintf(key, sizeof key, "%s.pos", U->cfg->state_key);
    if (state_meta_set(U->st, key, v, &se)) {
        fail(U, "cannot save the unload state: %s", se.msg);
        return -1;
    }
    U->last_ckpt_us = cql_timestamp_now_us();
    return 0;
}

/* Write rows [from, to) of b (the writer only). Directory output with a
 * size limit ends a file after the row that reaches the limit and starts
 * the next one before the next row. */
static int write_rows(unloader *U, rbuf *b, size_t from, size_t to)
{
    int limit = U->cfg->max_file_bytes > 0 && U->out->dir;
    size_t start = from ? b->ends[from - 1] : 0;
    for (size_t r = from; r < to;) {
        if (limit && U->file_bytes >= U->cfg->max_file_bytes && U->file_rows > 0 &&
            (close_file(U, 1) || open_file(U, U->file_index + 1, 0)))
            return -1;
        size_t stop = to;
        if (limit) {
            int64_t room = U->cfg->max_file_bytes - U->file_bytes;
            stop = r;
            while (stop < to && (int64_t)(b->ends[stop] - start) < room)
                stop++;
            if (stop < to)
                stop++;     /* the row that reaches the limit ends the file */
        }
        size_t end = b->ends[stop - 1];
        if (put(U, b->text.data + start, end - start))
            return -1;
        int64_t n = (int64_t)(stop - r);
        U->rows_done += n;
        U->file_rows += n;
        U->res->rows += n;
        if (U->cfg->progress)
            atomic_fetch_add(&U->cfg->progress->rows, (long long)n);
        start = end;
        r = stop;
    }
    return 0;
}

/* ---- formatting ---- */

static void rbuf_reset(rbuf *b)
{
    cs_buf_reset(&b->text);
    b->nrows = 0;
}

static void rbuf_release(rbuf *b)
{
    cs_buf_release(&b->text);
    free(b->ends);
    memset(b, 0, sizeof *b);
}

/* A timestamp, date or number column's value in the user's forms
 * (cfg.textfmt) appended to out as bare text, *bare_number set when it is
 * a number in JSON's sense (an epoch count); scratch is clobbered. 0, -1
 * when out is full, 1 when the forms say nothing of this value. */
static int format_custom(const textfmt *tf, const cql_type *ty, const uint8_t *p, int32_t len,
                         cs_buf *out, cs_buf *scratch, int *bare_number)
{
    *bare_number = 0;
    switch (ty->id) {
    case CQL_T_TIMESTAMP: {
        if (len != 8)
            return 1;
        int64_t ms = (int64_t)cs_be64(p);
        char b[40];
        if (tf->epoch_unit) {
            int k;
            if (tf->epoch_unit == 1000000)
                k = snprintf(b, sizeof b, "%" PRId64 "000", ms);
            else if (tf->epoch_unit == 1000 || ms % 1000 == 0)
                k = snprintf(b, sizeof b, "%" PRId64, tf->epoch_unit == 1000 ? ms : ms / 1000);
            else    /* seconds, with the milliseconds as decimals: nothing lost */
                k = snprintf(b, sizeof b, "%s%" PRId64 ".%03d", ms < 0 ? "-" : "",
                             (ms < 0 ? -(ms / 1000) : ms / 1000),
                             (int)(ms < 0 ? -(ms % 1000) : ms % 1000));
            *bare_number = 1;
            return cs_buf_append(out, b, (size_t)k);
        }
        if (tf->timestamp_format)
            return textfmt_write_timestamp_tz(tf->timestamp_format, ms, tf->zone_min, tf->tz, out);
        if (tf->has_zone && (tf->zone_min || tf->tz))
            return textfmt_write_timestamp_tz("%FT%T.%f%Z", ms, tf->zone_min, tf->tz, out);
        return 1;
    }
    case CQL_T_DATE:
        if (len != 4 || !tf->date_format)
            return 1;
        return textfmt_write_date(tf->date_format, (int64_t)cs_be32(p) - (INT64_C(1) << 31), out);
    default: {
        if (!textfmt_number_type(ty->id) || !textfmt_separators(tf))
            return 1;
        cql_error ce;
        cs_buf_reset(scratch);
        int rc = fmt_value_text(ty, p, len, scratch, &ce);
        if (rc)
            return rc < 0 ? 1 : rc;     /* fmt_value_text says why, when asked again */
        return textfmt_number_out((const char *)scratch->data, scratch->len, tf->decimal_sep,
                                  tf->thousands_sep, out);
    }
    }
}

/* Append row i of r to b. 0 or -1 (failed set). */
/* One cell's write time and TTL into the row's totals. */
typedef struct row_times {
    int cells, no_ttl, with_ttl;
    int64_t wt_min, wt_max, exp_min, exp_max;
} row_times;

static void add_cell(row_times *rt, int64_t wt, int has_ttl, int64_t ttl, int64_t now)
{
    if (rt->cells++ == 0)
        rt->wt_min = rt->wt_max = wt;
    rt->wt_min = wt < rt->wt_min ? wt : rt->wt_min;
    rt->wt_max = wt > rt->wt_max ? wt : rt->wt_max;
    if (!has_ttl) {
        rt->no_ttl++;
        return;
    }
    int64_t e = now + ttl;
    if (rt->with_ttl++ == 0)
        rt->exp_min = rt->exp_max = e;
    rt->exp_min = e < rt->exp_min ? e : rt->exp_min;
    rt->exp_max = e > rt->exp_max ? e : rt->exp_max;
}

/* The n-th element of a list value (or the value itself when not a list):
 * its length (-1 null) and bytes, or -2 past the end. */
static int32_t element(const cql_type *ty, const uint8_t *p, int32_t len, int n,
                       const uint8_t **ep)
{
    if (ty->id != CQL_T_LIST) {
        *ep = p;
        return n == 0 ? len : -2;
    }
    if (len < 4)
        return -2;
    int32_t count = (int32_t)cs_be32(p);
    size_t off = 4;
    for (int k = 0; k < count; k++) {
        if (off + 4 > (size_t)len)
            return -2;
        int32_t l = (int32_t)cs_be32(p + off);
        off += 4;
        if (l > 0 && off + (size_t)l > (size_t)len)
            return -2;
        if (k == n) {
            *ep = p + off;
            return l;
        }
        off += l > 0 ? (size_t)l : 0;
    }
    return -2;
}

static int64_t be_int(const uint8_t *p, int32_t len)
{
    return len == 8 ? (int64_t)cs_be64(p) : len == 4 ? (int32_t)cs_be32(p) : 0;
}

/* The row's write time and expiry, from the writetime()/ttl() columns
 * after the first nread, appended as two fields. 0, or -1 out of memory. */
static int format_times(unloader *U, const cql_result *r, int32_t i, rbuf *b, cs_buf *scratch,
                        int *first)
{
    const unload_config *c = U->cfg;
    row_times rt;
    memset(&rt, 0, sizeof rt);
    int64_t now = (int64_t)time(NULL);
    for (int j = 0; j < U->ntimes; j++) {
        int kw = U->nread + 2 * j, kt = kw + 1;
        const uint8_t *pw, *pt;
        int32_t lw = cql_result_value(r, i, kw, &pw), lt = cql_result_value(r, i, kt, &pt);
        if (lw < 0)
            continue;   /* a null cell */
        for (int n = 0;; n++) {
            const uint8_t *ew, *et = NULL;
            int32_t l = element(U->meta->cols[kw].type, pw, lw, n, &ew);
            if (l == -2)
                break;
            if (l != 8)
                continue;
            int32_t tl = lt >= 0 ? element(U->meta->cols[kt].type, pt, lt, n, &et) : -1;
            add_cell(&rt, be_int(ew, l), tl == 4, tl == 4 ? be_int(et, tl) : 0, now);
        }
    }
    int bad = 0;
    if (rt.cells && (rt.wt_min != rt.wt_max || (rt.no_ttl && rt.with_ttl) ||
                     rt.exp_min != rt.exp_max)) {
        pthread_mutex_lock(&U->mu);
        if (U->res->mixed_times++ == 0) {
            const uint8_t *p;
            int32_t len = cql_result_value(r, i, 0, &p);
            cql_error ce;
            cs_buf_reset(scratch);
            if (len >= 0 && fmt_value_text(U->meta->cols[0].type, p, len, scratch, &ce) == 0)
                snprintf(U->res->first_mixed, sizeof U->res->first_mixed, "%s = %.*s",
                         U->colnames[0], (int)(scratch->len < 200 ? scratch->len : 200),
                         (const char *)scratch->data);
        }
        pthread_mutex_unlock(&U->mu);
    }
    int64_t v[2] = {rt.wt_max, rt.exp_max};
    int has[2] = {rt.cells > 0, rt.cells > 0 && !rt.no_ttl};
    for (int k = 0; k < 2; k++) {
        char num[32];
        snprintf(num, sizeof num, "%" PRId64, v[k]);
        if (c->format == UNLOAD_CSV) {
            bad |= cs_buf_put_u8(&b->text, (uint8_t)c->delimiter);
            bad |= has[k] ? cs_buf_append(&b->text, num, strlen(num))
                          : cs_buf_append(&b->text, c->null_text, strlen(c->null_text));
        } else {
            /* written even when null: a reader (restore) finds the key in every line */
            if (!*first)
                bad |= cs_buf_put_u8(&b->text, ',');
            *first = 0;
            const char *jn = U->jnames[U->nread + k];
            bad |= cs_buf_append(&b->text, jn, strlen(jn));
            bad |= has[k] ? cs_buf_append(&b->text, num, strlen(num))
                          : cs_buf_append(&b->text, "null", 4);
        }
    }
    return bad ? -1 : 0;
}

static int format_row(unloader *U, const cql_result *r, int32_t i, rbuf *b, cs_buf *scratch)
{
    const unload_config *c = U->cfg;
    int nc = U->nread;
    int bad = 0;
    if (c->format == UNLOAD_JSONL)
        bad |= cs_buf_put_u8(&b->text, '{');
    int first = 1;
    for (int k = 0; k < nc; k++) {
        const uint8_t *p;
        int32_t len = cql_result_value(r, i, k, &p);
        const cql_type *ty = U->meta->cols[k].type;
        cql_error ce;
        int rc = 0;
        if (c->format == UNLOAD_CSV) {
            if (k)
                bad |= cs_buf_put_u8(&b->text, (uint8_t)c->delimiter);
            if (len >= 0) {
                /* straight into the row; quoted afterwards when it must be */
                size_t at = b->text.len;
                int bare;
                rc = c->textfmt ? format_custom(c->textfmt, ty, p, len, &b->text, scratch, &bare)
                                : 1;
                if (rc < 0)
                    bad = 1;
                if (rc)
                    rc = fmt_value_text(ty, p, len, &b->text, &ce);
                const char *v = (const char *)b->text.data + at;
                size_t vn = b->text.len - at;
                /* a value spelled like the null marker is quoted, so it reads back as text
                 * (the default marker, the empty field, is quoted by the rule above) */
                if (rc == 0 && (fmt_csv_needs_quotes(v, vn, c->delimiter, c->quote) ||
                                (c->null_text[0] && vn == strlen(c->null_text) &&
                                 !memcmp(v, c->null_text, vn)))) {
                    cs_buf_reset(scratch);
                    bad |= cs_buf_append(scratch, v, vn);
                    b->text.len = at;
                    bad |= fmt_csv_quoted((const char *)scratch->data, scratch->len, c->quote,
                                          &b->text);
                }
            }
            if (len < 0 || rc == 1)
                bad |= cs_buf_append(&b->text, c->null_text, strlen(c->null_text));
        } else {
            if (len < 0)
                continue;   /* a missing key is null */
            size_t mark = b->text.len;
            if (!first)
                bad |= cs_buf_put_u8(&b->text, ',');
            bad |= cs_buf_append(&b->text, U->jnames[k], strlen(U->jnames[k]));
            rc = 1;
            if (c->textfmt) {
                /* the user's form, as a JSON string unless it is a count */
                size_t at = b->text.len;
                int bare;
                rc = format_custom(c->textfmt, ty, p, len, &b->text, scratch, &bare);
                if (rc < 0)
                    bad = 1;
                if (rc == 0 && !bare) {
                    cs_buf_reset(scratch);
                    bad |= cs_buf_append(scratch, b->text.data + at, b->text.len - at);
                    b->text.len = at;
                    bad |= fmt_json_string((const char *)scratch->data, scratch->len, &b->text);
                }
            }
            if (rc)
                rc = fmt_value_json(ty, p, len, &b->text, &ce);
            if (rc == 1)
                b->text.len = mark;     /* legacy empty: left out (null) */
            else
                first = 0;
        }
        if (rc < 0) {
            fail(U, "%s.%s: column %s holds a value this version cannot write: %s",
                 U->t->keyspace, U->t->table, U->colnames[k], ce.msg);
            return -1;
        }
        if (rc == 1) {
            pthread_mutex_lock(&U->mu);
            if (U->res->legacy_empty++ == 0)
                snprintf(U->res->first_empty, sizeof U->res->first_empty, "column %s",
                         U->colnames[k]);
            pthread_mutex_unlock(&U->mu);
        }
    }
    if (U->ntimes && format_times(U, r, i, b, scratch, &first))
        bad = 1;
    if (c->format == UNLOAD_JSONL)
        bad |= cs_buf_put_u8(&b->text, '}');
    bad |= cs_buf_put_u8(&b->text, '\n');
    if (!bad && b->nrows == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 1024;
        size_t *e = realloc(b->ends, cap * sizeof *e);
        if (!e)
            bad = 1;
        else {
            b->ends = e;
            b->cap = cap;
        }
    }
    if (bad) {
        fail(U, "out of memory formatting %s.%s", U->t->keyspace, U->t->table);
        return -1;
    }
    b->ends[b->nrows++] = b->text.len;
    return 0;
}

/* ---- workers ---- */

typedef struct worker {
    unloader *U;
    rbuf buf;
    cs_buf scratch;
} worker;

/* Called by the worker of range `range` after each page (done: the range
 * is read whole). Head: write what it holds and go on. Not head: park it
 * when done, or wait for its turn when its buffer is full. 0, or -1 to
 * stop. */
static int after_page(worker *w, int64_t range, int done)
{
    unloader *U = w->U;
    pthread_mutex_lock(&U->mu);
    for (;;) {
        if (U->failed || U->stopped) {
            pthread_mutex_unlock(&U->mu);
            return -1;
        }
        if (U->head == range)
            break;
        if (done) {
            slot *sl = &U->slots[range % U->window];
            CS_CHECK(!sl->parked);
            rbuf tmp = sl->buf;     /* a spare buffer for the next range */
            sl->buf = w->buf;
            sl->parked = 1;
            w->buf = tmp;
            rbuf_reset(&w->buf);
            pthread_cond_broadcast(&U->cv);
            pthread_mutex_unlock(&U->mu);
            return 0;
        }
        if (w->buf.text.len < UNLOAD_RANGE_MEM) {
            pthread_mutex_unlock(&U->mu);
            return 0;
        }
        pthread_cond_wait(&U->cv, &U->mu);
    }
    pthread_mutex_unlock(&U->mu);
    /* the head: the output is this worker's */
    if (write_rows(U, &w->buf, 0, w->buf.nrows))
        return -1;
    rbuf_reset(&w->buf);
    if (!done)
        return 0;
    int64_t next = range + 1;
    for (;;) {
        if (U->cfg->progress)
            atomic_fetch_add(&U->cfg->progress->ranges_done, 1);
        if (next == U->nranges || cql_timestamp_now_us() - U->last_ckpt_us >= CHECKPOINT_US)
            if (checkpoint(U, next))
                return -1;
        pthread_mutex_lock(&U->mu);
        U->head = next;
        slot *sl = &U->slots[next % U->window];
        int parked = next < U->nranges && sl->parked && !U->failed;
        pthread_cond_broadcast(&U->cv);
        pthread_mutex_unlock(&U->mu);
        if (!parked)
            return 0;
        /* a later range is waiting whole: write it (its slot is ours until
         * head moves past it) */
        if (write_rows(U, &sl->buf, 0, sl->buf.nrows))
            return -1;
        pthread_mutex_lock(&U->mu);
        rbuf_reset(&sl->buf);
        sl->parked = 0;
        pthread_mutex_unlock(&U->mu);
        next++;
    }
}

typedef struct range_ctx {
    worker *w;
    int64_t range;
    int failed;                 /* a row or after_page failed (U->failed set) */
} range_ctx;

/* Before each page: stop when asked; --rate-limit: wait while this run has
 * read more rows than it may by now. */
static int before_page(void *ctx)
{
    unloader *U = ((range_ctx *)ctx)->w->U;
    while (U->cfg->rate_limit > 0 && !stopping(U)) {
        double ahead = (double)atomic_load(&U->rows_read) -
                       U->cfg->rate_limit * (cql_timestamp_now_us() - U->start_us) / 1e6;
        if (ahead <= 0)
            break;
        double wait_s = ahead / U->cfg->rate_limit;
        struct timespec ts = {0, (long)((wait_s < 0.05 ? wait_s : 0.05) * 1e9)};
        nanosleep(&ts, NULL);
    }
    return stopping(U);
}

static int on_page(void *ctx, const cql_result *r, int last)
{
    range_ctx *rc = ctx;
    worker *w = rc->w;
    unloader *U = w->U;
    int32_t nrows = cql_result_row_count(r);
    atomic_fetch_add(&U->rows_read, nrows);
    for (int32_t i = 0; i < nrows; i++)
        if (format_row(U, r, i, &w->buf, &w->scratch))
            return rc->failed = 1;
    if (after_page(w, rc->range, last))
        return rc->failed = 1;
    return 0;
}

static int read_range(worker *w, int64_t range)
{
    unloader *U = w->U;
    /* 2^bits equal ranges of the unsigned ring, shifted to signed tokens */
    uint64_t first = U->bits ? (uint64_t)range << (64 - U->bits) : 0;
    uint64_t last = U->bits ? first + ((UINT64_C(1) << (64 - U->bits)) - 1) : UINT64_MAX;
    range_ctx ctx = {.w = w, .range = range};
    target_scan sc = {.s = U->s, .select = U->select, .bounded = !U->t->query || U->query_ranges,
                      .lo = (int64_t)(first ^ (UINT64_C(1) << 63)),
                      .hi = (int64_t)(last ^ (UINT64_C(1) << 63)),
                      .consistency = U->cfg->consistency, .page_size = U->cfg->page_size,
                      .before_page = before_page, .on_page = on_page, .ctx = &ctx};
    cql_error ce;
    int rc = target_scan_run(&sc, &ce);
    if (rc < 0)
        fail(U, "cannot read %s.%s (tokens %" PRId64 "..%" PRId64 "): %s", U->t->keyspace,
             U->t->table, sc.lo, sc.hi, ce.msg);
    return rc ? -1 : 0;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    unloader *U = w->U;
    for (;;) {
        pthread_mutex_lock(&U->mu);
        /* stay within the window of parked ranges past the head */
        while (!U->failed && !U->stopped && U->next_take < U->nranges &&
               U->next_take >= U->head + U->window)
            pthread_cond_wait(&U->cv, &U->mu);
        int64_t r = U->failed || U->stopped ? U->nranges : U->next_take;
        if (r < U->nranges)
            U->next_take++;
        pthread_mutex_unlock(&U->mu);
        if (r >= U->nranges)
            break;
        rbuf_reset(&w->buf);
        if (read_range(w, r))
            break;
    }
    return NULL;
}

/* ---- setup ---- */

static int quote_ident(cs_buf *b, const char *name)
{
    int bad = cs_buf_put_u8(b, '"');
    for (const char *c = name; *c; c++) {
        if (*c == '"')
            bad |= cs_buf_put_u8(b, '"');
        bad |= cs_buf_put_u8(b, (uint8_t)*c);
    }
    return bad | cs_buf_put_u8(b, '"');
}

static int prepare_query(unloader *U, unload_error *err)
{
    cql_error ce;
    U->select = cql_session_prepare(U->s, U->t->query, &ce);
    if (!U->select) {
        snprintf(err->msg, sizeof err->msg, "the server refuses the query: %s", ce.msg);
        err->usage = 1;
        return -1;
    }
    const cql_metadata *bind = cql_prepared_bind(U->select);
    U->meta = cql_prepared_result(U->select);
    int nb = bind ? bind->ncols : 0;
    if (nb != 0 && nb != 2) {
        snprintf(err->msg, sizeof err->msg, "the query has %d bind markers: give none (it is read "
                 "whole) or two, the first and last token of a range (... WHERE token(k) >= ? "
                 "AND token(k) <= ?: it is read in parallel)", nb);
        err->usage = 1;
        return -1;
    }
    for (int i = 0; i < nb; i++)
        if (!bind->cols || bind->cols[i].type->id != CQL_T_BIGINT) {
            snprintf(err->msg, sizeof err->msg, "the query's bind marker %d is not a token "
                     "(bigint): write ... WHERE token(k) >= ? AND token(k) <= ?", i + 1);
            err->usage = 1;
        return -1;
        }
    if (!U->meta || !U->meta->cols || U->meta->ncols < 1) {
        snprintf(err->msg, sizeof err->msg, "the query returns no columns: give a SELECT");
        err->usage = 1;
        return -1;
    }
    U->query_ranges = nb == 2;
    return 0;
}

static int prepare(unloader *U, unload_error *err)
{
    const unload_table *t = U->t;
    if (t->query)
        return prepare_query(U, err);
    cs_buf tk, q;
    cs_buf_init(&tk, 1 << 20);
    cs_buf_init(&q, 1 << 24);
    int bad = cs_buf_printf(&tk, "token(");
    for (int k = 0; k < t->npk; k++) {
        bad |= k ? cs_buf_printf(&tk, ", ") : 0;
        bad |= quote_ident(&tk, t->pk[k]);
    }
    bad |= cs_buf_printf(&tk, ")") | cs_buf_put_u8(&tk, 0);
    bad |= cs_buf_printf(&q, "SELECT ");
    for (int c = 0; c < t->ncols; c++) {
        bad |= c ? cs_buf_printf(&q, ", ") : 0;
        bad |= quote_ident(&q, t->columns[c]);
    }
    for (int c = 0; c < U->ntimes; c++) {
        bad |= cs_buf_printf(&q, ", writetime(");
        bad |= quote_ident(&q, t->times_cols[c]);
        bad |= cs_buf_printf(&q, "), ttl(");
        bad |= quote_ident(&q, t->times_cols[c]);
        bad |= cs_buf_printf(&q, ")");
    }
    bad |= cs_buf_printf(&q, " FROM ");
    bad |= quote_ident(&q, t->keyspace);
    bad |= cs_buf_printf(&q, ".");
    bad |= quote_ident(&q, t->table);
    if (!bad)
        bad |= cs_buf_printf(&q, " WHERE %s >= ? AND %s <= ?", (const char *)tk.data,
                             (const char *)tk.data);
    bad |= cs_buf_put_u8(&q, 0);
    cql_error ce;
    U->select = bad ? NULL : cql_session_prepare(U->s, (const char *)q.data, &ce);
    cs_buf_release(&tk);
    cs_buf_release(&q);
    if (!U->select && !bad && U->ntimes && ce.code == CQL_E_SERVER && ce.server_code == 0x2200) {
        /* an older server refuses writetime() of a multi-cell collection:
         * the single-cell columns' times, else none, said to the caller */
        snprintf(U->res->times_why, sizeof U->res->times_why, "%.250s", ce.msg);
        U->ntimes = U->ntimes > t->ntimes_single ? t->ntimes_single : 0;
        U->res->times_used = U->ntimes;
        return prepare(U, err);
    }
    if (!U->select) {
        snprintf(err->msg, sizeof err->msg, "cannot read %s.%s: %s", t->keyspace, t->table,
                 bad ? "out of memory" : ce.msg);
        return -1;
    }
    U->meta = cql_prepared_result(U->select);
    if (!U->meta || U->meta->ncols != t->ncols + 2 * U->ntimes || !U->meta->cols) {
        snprintf(err->msg, sizeof err->msg,
                 "cannot read %s.%s: the server did not describe the columns of the SELECT",
                 t->keyspace, t->table);
        return -1;
    }
    return 0;
}

static int make_header(unloader *U)
{
    const unload_config *c = U->cfg;
    int bad = 0;
    if (c->format == UNLOAD_CSV) {
        for (int k = 0; c->header && k < U->ncols; k++) {
            if (k)
                bad |= cs_buf_put_u8(&U->header, (uint8_t)c->delimiter);
            bad |= fmt_csv_field(U->colnames[k], strlen(U->colnames[k]), c->delimiter,
                                 c->quote, &U->header);
        }
        if (c->header)
            bad |= cs_buf_put_u8(&U->header, '\n');
        return bad;
    }
    U->jnames = calloc((size_t)U->ncols, sizeof *U->jnames);
    if (!U->jnames)
        return -1;
    cs_buf b;
    cs_buf_init(&b, 1 << 20);
    for (int k = 0; !bad && k < U->ncols; k++) {
        cs_buf_reset(&b);
        bad |= fmt_json_string(U->colnames[k], strlen(U->colnames[k]), &b);
        bad |= cs_buf_put_u8(&b, ':') | cs_buf_put_u8(&b, 0);
        if (!bad && !(U->jnames[k] = strdup((const char *)b.data)))
            bad = 1;
    }
    cs_buf_release(&b);
    return bad;
}

/* The range count for a table of about `bytes` bytes: about 1 MB a range
 * (so a range waiting for its turn rarely fills UNLOAD_RANGE_MEM), at
 * least 2^10 ranges, at most 2^16. */
static int bits_for_size(int64_t bytes)
{
    int bits = 10;
    while (bits < UNLOAD_MAX_BITS && (bytes >> bits) > (INT64_C(1) << 20))
        bits++;
    return bits;
}

/* The table's size from every node's system.size_estimates (each node
 * reports the ranges it is primary for, so their sum is the table once);
 * -1 when unknown (a node did not answer, or no estimate yet). */
static int64_t table_bytes(unloader *U)
{
    char q[1200];
    snprintf(q, sizeof q,
             "SELECT mean_partition_size, partitions_count FROM system.size_estimates WHERE "
             "keyspace_name = '%.500s' AND table_name = '%.500s'",
             U->t->keyspace, U->t->table);
    if (strchr(U->t->keyspace, '\'') || strchr(U->t->table, '\''))
        return -1;
    int64_t total = 0;
    int n = cql_session_node_count(U->s);
    for (int i = 0; i < n; i++) {
        cql_statement st = {0};
        st.query = q;
        st.has_node = 1;
        st.node = i;
        st.consistency = CQL_ONE;
        cql_error ce;
        cql_result *r = cql_session_query_sync(U->s, &st, &ce);
        if (!r)
            return -1;
        for (int32_t k = 0; k < cql_result_row_count(r); k++) {
            const uint8_t *a, *b;
            if (cql_result_value(r, k, 0, &a) == 8 && cql_result_value(r, k, 1, &b) == 8) {
                int64_t mean = (int64_t)cs_be64(a), cnt = (int64_t)cs_be64(b);
                if (mean > 0 && cnt > 0 && cnt < (INT64_C(1) << 40))
                    total += mean * cnt;
            }
        }
        cql_result_free(r);
    }
    return total;
}

/* The saved position, or a fresh start (bits saved). 1 resumed, 0 fresh,
 * -1 with err. */
static int load_position(unloader *U, int64_t *next, int *file, int64_t *bytes,
                         unload_error *err)
{
    *next = 0;
    *file = 1;
    *bytes = 0;
    if (!U->st || U->out->stream)
        return 0;
    char v[128], kbits[600], kpos[600];
    snprintf(kbits, sizeof kbits, "%s.bits", U->cfg->state_key);
    snprintf(kpos, sizeof kpos, "%s.pos", U->cfg->state_key);
    state_error se;
    int found = state_meta_get(U->st, kbits, v, sizeof v, &se);
    if (found < 0) {
        snprintf(err->msg, sizeof err->msg, "%s", se.msg);
        return -1;
    }
    if (found) {
        U->bits = atoi(v);
    } else {
        snprintf(v, sizeof v, "%d", U->bits);
        if (state_meta_set(U->st, kbits, v, &se)) {
            snprintf(err->msg, sizeof err->msg, "%s", se.msg);
            return -1;
        }
    }
    found = state_meta_get(U->st, kpos, v, sizeof v, &se);
    if (found < 0) {
        snprintf(err->msg, sizeof err->msg, "%s", se.msg);
        return -1;
    }
    if (!found)
        return 0;
    long long n, b, rows;
    int f;
    if (sscanf(v, "%lld %d %lld %lld", &n, &f, &b, &rows) != 4 || n < 0 || f < 1 || b < 0 ||
        rows < 0) {
        snprintf(err->msg, sizeof err->msg, "the state's unload position '%s' is not one this "
                 "version wrote; start over with --restart", v);
        return -1;
    }
    *next = n;
    *file = f;
    *bytes = b;
    U->rows_done = rows;
    return 1;
}

/* A resume starts where the state says: files past the current one are
 * left over from after the last checkpoint. */
static void drop_later_files(unloader *U, int from)
{
    if (!U->out->dir)
        return;
    for (int i = from;; i++) {
        file_names(U, i);
        int a = unlink(U->part), b = unlink(U->path);
        if (a && b)
            break;
    }
}

int unload_run(cql_session *s, const unload_table *t, const unload_config *cfg, state *st,
               const unload_output *out, unload_result *res, unload_error *err)
{
    memset(res, 0, sizeof *res);
    err->msg[0] = 0;
    err->usage = 0;
    unloader U;
    memset(&U, 0, sizeof U);
    U.s = s;
    U.t = t;
    U.cfg = cfg;
    U.st = st;
    U.out = out;
    U.res = res;
    U.bits = cfg->range_bits < 0 ? 10 : cfg->range_bits > UNLOAD_MAX_BITS ? UNLOAD_MAX_BITS
                                                                           : cfg->range_bits;
    int workers = cfg->workers < 1 ? 1 : cfg->workers > 256 ? 256 : cfg->workers;
    U.window = workers + 2;
    pthread_mutex_init(&U.mu, NULL);
    pthread_cond_init(&U.cv, NULL);
    cs_buf_init(&U.header, (size_t)1 << 24);
    int rc = -1;
    worker *w = NULL;
    pthread_t *th = NULL;
    int started = 0;
    U.ntimes = t->query ? 0 : t->ntimes;
    res->times_used = U.ntimes;
    if (prepare(&U, err))
        goto out;
    U.nread = t->query ? U.meta->ncols : t->ncols;
    U.ncols = U.nread + (U.ntimes ? 2 : 0);
    U.colnames = calloc((size_t)U.ncols, sizeof *U.colnames);
    if (!U.colnames) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        goto out;
    }
    for (int k = 0; k < U.nread; k++)
        U.colnames[k] = t->query ? U.meta->cols[k].name : t->columns[k];
    if (U.ntimes) {
        U.colnames[U.nread] = t->times_names[0];
        U.colnames[U.nread + 1] = t->times_names[1];
    }
    if (t->query && !U.query_ranges) {
        U.bits = 0;     /* read whole: one range */
    } else if (cfg->range_bits < 0) {
        /* a resume reads the count back from the state; only a fresh run sizes it */
        int64_t bytes = t->query ? -1 : table_bytes(&U);
        U.bits = bits_for_size(bytes);
    }
    if (make_header(&U)) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        goto out;
    }
    int64_t next, keep;
    int file;
    int resumed = load_position(&U, &next, &file, &keep, err);
    if (resumed < 0)
        goto out;
    if (U.bits < 0 || U.bits > UNLOAD_MAX_BITS) {
        snprintf(err->msg, sizeof err->msg, "the state's range count is not one this version "
                 "wrote; start over with --restart");
        goto out;
    }
    res->resumed = resumed;
    U.nranges = (int64_t)1 << U.bits;
    if (next > U.nranges) {
        snprintf(err->msg, sizeof err->msg, "the state's unload position is past the last "
                 "range; start over with --restart");
        goto out;
    }
    /* a directory output: the files after the resumed one, or, in a fresh
     * run, every file of this name an earlier unload left (the new set
     * replaces it, as a new single file replaces the old one) */
    drop_later_files(&U, resumed ? file + 1 : file);
    if (open_file(&U, file, resumed ? keep : 0)) {
        snprintf(err->msg, sizeof err->msg, "%s", U.msg);
        goto out;
    }
    U.head = U.next_take = next;
    U.last_ckpt_us = U.start_us = cql_timestamp_now_us();
    if (cfg->progress) {
        atomic_store(&cfg->progress->ranges_total, (long long)U.nranges);
        atomic_store(&cfg->progress->ranges_done, (long long)next);
        atomic_store(&cfg->progress->rows, (long long)U.rows_done);
    }
    U.slots = calloc((size_t)U.window, sizeof *U.slots);
    w = calloc((size_t)workers, sizeof *w);
    th = calloc((size_t)workers, sizeof *th);
    if (!U.slots || !w || !th) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        goto out;
    }
    for (int i = 0; i < U.window; i++)
        cs_buf_init(&U.slots[i].buf.text, SIZE_MAX / 2);
    for (int i = 0; i < workers; i++) {
        w[i].U = &U;
        cs_buf_init(&w[i].buf.text, SIZE_MAX / 2);
        cs_buf_init(&w[i].scratch, SIZE_MAX / 2);
    }
    for (; started < workers; started++)
        if (pthread_create(&th[started], NULL, worker_main, &w[started])) {
            fail(&U, "cannot start a reader thread");
            break;
        }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    if (U.failed) {
        snprintf(err->msg, sizeof err->msg, "%s", U.msg);
        goto out;
    }
    CS_CHECK(U.head == U.nranges || U.stopped);
    if (U.head < U.nranges) {
        /* interrupted: what was written stays (the state says how much) */
        res->interrupted = 1;
        rc = 1;
        if (U.f) {
            fmt_out_close(U.zo);    /* what the state does not count is cut on resume */
            U.zo = NULL;
            if (!out->stream)
                fclose(U.f);
            else
                fflush(U.f);
            U.f = NULL;
        }
        goto out;
    }
    if (close_file(&U, 1)) {
        snprintf(err->msg, sizeof err->msg, "%s", U.msg);
        goto out;
    }
    rc = 0;
out:
    fmt_out_close(U.zo);
    if (U.f && !out->stream)
        fclose(U.f);
    for (int i = 0; w && i < workers; i++) {
        rbuf_release(&w[i].buf);
        cs_buf_release(&w[i].scratch);
    }
    for (int i = 0; U.slots && i < U.window; i++)
        rbuf_release(&U.slots[i].buf);
    free(U.slots);
    free(w);
    free(th);
    for (int k = 0; U.jnames && k < U.ncols; k++)
        free(U.jnames[k]);
    free(U.colnames);
    free(U.jnames);
    cs_buf_release(&U.header);
    pthread_cond_destroy(&U.cv);
    pthread_mutex_destroy(&U.mu);
    return rc;
}
