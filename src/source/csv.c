/* CSV parsing (RFC 4180 and the usual extensions) for the file source.
 *
 * The scanner finds one record's field boundaries in the reader's buffer,
 * skipping runs of text 16 bytes at a time up to the next byte that ends
 * them (delimiter, quote or line end; quote, escape or line end). The
 * batch reader then copies the record into the batch arena once and points
 * every value into that copy; only fields with doubled quotes or escapes get
 * a second, resolved copy. No allocation per field.
 *
 * A record that cannot be split cleanly still ends somewhere definite (the
 * line end after the problem, or EOF for an unterminated quote), becomes a
 * row with `problem` and `raw`, and parsing continues after it.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/files_int.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Index of the first byte at or after i that is a, b or c (or n). Sixteen
 * bytes at a time where SSE2 is there (every x86-64), so long fields cost
 * a fraction of an instruction per byte. */
static inline size_t find3(const char *p, size_t i, size_t n, char a, char b, char c)
{
#ifdef __SSE2__
    const __m128i va = _mm_set1_epi8(a), vb = _mm_set1_epi8(b), vc = _mm_set1_epi8(c);
    while (i + 16 <= n) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(x, vb)),
                                   _mm_cmpeq_epi8(x, vc));
        int m = _mm_movemask_epi8(hit);
        if (m)
            return i + (size_t)__builtin_ctz((unsigned)m);
        i += 16;
    }
#endif
    while (i < n && p[i] != a && p[i] != b && p[i] != c)
        i++;
    return i;
}

void csv_dialect_init(csv_dialect *d, const file_options *o)
{
    memset(d, 0, sizeof *d);
    d->delimiter = o->delimiter;
    d->quote = o->quote;
    d->quoting = o->quote != '\0';
    d->escape = o->escape ? o->escape : o->quote;
    if (o->nnull > 0) {
        d->nnull = o->nnull < FILE_MAX_NULLS ? o->nnull : FILE_MAX_NULLS;
        for (int i = 0; i < d->nnull; i++)
            d->nulls[i] = o->null_markers[i];
    } else {
        d->nnull = 1;
        d->nulls[0] = o->null_marker ? o->null_marker : "";
    }
    for (int i = 0; i < d->nnull; i++)
        d->null_lens[i] = strlen(d->nulls[i]);
    d->max_field = o->max_field ? o->max_field : (size_t)16 << 20;
}

static void problem(csv_record *rec, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(csv_record *rec, const char *fmt, ...)
{
    if (rec->problem[0])
        return; /* the first problem of a record is the one reported */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rec->problem, sizeof rec->problem, fmt, ap);
    va_end(ap);
}

/* The slot for field number nf: stored while there is room (or the array
 * may grow), else a scratch slot, so a line with a million delimiters is
 * counted without being stored. */
static csv_field *field_slot(csv_fields *fs, int nf, csv_field *scratch, int *nomem)
{
    if (nf < fs->cap)
        return &fs->f[nf];
    if (fs->grow) {
        int ncap = fs->cap ? fs->cap * 2 : 16;
        csv_field *n = realloc(fs->f, (size_t)ncap * sizeof *n);
        if (!n) {
            *nomem = 1;
            return scratch;
        }
        fs->f = n;
        fs->cap = ncap;
        return &fs->f[nf];
    }
    return scratch;
}

/* Scan unquoted text from i to the next delimiter or line end, quotes
 * included (after a problem, the rest of the field is taken literally).
 * Returns the index of the stop byte, or n. */
static size_t scan_literal(const csv_dialect *d, const char *p, size_t i, size_t n)
{
    while (i < n && p[i] != d->delimiter && p[i] != '\n')
        i++;
    return i;
}

int csv_scan_record(const csv_dialect *d, const char *p, size_t n, int eof, int64_t first_line,
                    csv_fields *fs, csv_record *rec)
{
    rec->problem[0] = '\0';
    rec->nfields = 0;
    rec->newlines = 0;
    rec->blank = 0;
    if (n == 0)
        return eof ? CSV_END : CSV_NEED_MORE;
    /* an empty line is no record */
    if (p[0] == '\n' || (p[0] == '\r' && (n > 1 || eof) && (n == 1 || p[1] == '\n'))) {
        rec->blank = 1;
        rec->len = 0;
        rec->consumed = p[0] == '\r' && n > 1 ? 2 : 1;
        rec->newlines = p[rec->consumed - 1] == '\n';
        return CSV_RECORD;
    }
    if (p[0] == '\r' && n == 1)
        return CSV_NEED_MORE;

    /* what ends a run of unquoted / quoted text */
    const char u1 = d->delimiter, u2 = '\n', u3 = d->quoting ? d->quote : '\n';
    const char q1 = d->quote, q2 = d->escape, q3 = '\n';
    size_t i = 0;
    int nf = 0, nomem = 0;
    int64_t nl = 0;
    csv_field scratch;
    for (;;) {
        csv_field *f = field_slot(fs, nf, &scratch, &nomem);
        if (nomem)
            return CSV_NOMEM;
        nf++;
        f->quoted = 0;
        f->unescape = 0;
        if (i == n) {
            /* an empty last field after a delimiter */
            if (!eof)
                return CSV_NEED_MORE;
            f->off = i;
            f->len = 0;
            rec->len = rec->consumed = i;
            goto done;
        }
        if (d->quoting && p[i] == d->quote) {
            size_t start = ++i, end;
            int64_t open_line = first_line + nl;
            for (;;) {
                i = find3(p, i, n, q1, q2, q3);
                if (i == n) {
                    if (!eof)
                        return CSV_NEED_MORE;
                    problem(rec, "unterminated quoted field starting at line %" PRId64,
                            open_line);
                    f->off = start;
                    f->len = n - start;
                    rec->len = rec->consumed = n;
                    if (n && p[n - 1] == '\n')
                        rec->len--;
                    goto done;
                }
                char c = p[i];
                if (c == '\n') {
                    nl++;
                    i++;
                } else if (c == d->quote) {
                    if (i + 1 == n && !eof)
                        return CSV_NEED_MORE;
                    if (i + 1 < n && p[i + 1] == d->quote) {
                        f->unescape = 1;
                        i += 2;
                        continue;
                    }
                    end = i++;
                    break;
                } else { /* the escape character, when it differs from the quote */
                    if (i + 1 == n && !eof)
                        return CSV_NEED_MORE;
                    if (i + 1 < n && (p[i + 1] == d->quote || p[i + 1] == d->escape)) {
                        f->unescape = 1;
                        i += 2;
                    } else {
                        i++; /* a lone escape character is literal */
                    }
                }
            }
            f->off = start;
            f->len = end - start;
            f->quoted = 1;
            if (i == n) {
                if (!eof)
                    return CSV_NEED_MORE;
                rec->len = rec->consumed = i;
                goto done;
            }
            char c = p[i];
            if (c == d->delimiter) {
                i++;
                continue;
            }
            if (c == '\n') {
                rec->len = i;
                rec->consumed = i + 1;
                nl++;
                goto done;
            }
            if (c == '\r') {
                if (i + 1 == n) {
                    if (!eof)
                        return CSV_NEED_MORE;
                    rec->len = i;
                    rec->consumed = i + 1;
                    goto done;
                }
                if (p[i + 1] == '\n') {
                    rec->len = i;
                    rec->consumed = i + 2;
                    nl++;
                    goto done;
                }
            }
            problem(rec, "text after the closing quote of field %d", nf);
            i = scan_literal(d, p, i, n);
        } else {
            size_t start = i;
            i = find3(p, i, n, u1, u2, u3);
            if (i < n && p[i] == d->quote && d->quoting) {
                problem(rec, "quote character in unquoted field %d (quote the whole field and "
                             "double the quotes inside)", nf);
                i = scan_literal(d, p, i, n);
            }
            f->off = start;
            f->len = i - start;
        }
        /* i is at a delimiter, a line end, or n */
        if (i == n) {
            if (!eof)
                return CSV_NEED_MORE;
            if (!f->quoted && f->len && p[i - 1] == '\r')
                f->len--;
            rec->len = rec->consumed = i;
            if (i && p[i - 1] == '\r')
                rec->len--;
            goto done;
        }
        if (p[i] == d->delimiter) {
            i++;
            continue;
        }
        /* '\n' */
        if (!f->quoted && f->len && p[i - 1] == '\r')
            f->len--;
        rec->len = i && p[i - 1] == '\r' ? i - 1 : i;
        rec->consumed = i + 1;
        nl++;
        goto done;
    }
done:
    rec->nfields = nf;
    rec->newlines = nl;
    return CSV_RECORD;
}

size_t csv_unescape(const csv_dialect *d, const char *src, size_t n, char *dst)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        if (i + 1 < n && ((c == d->quote && src[i + 1] == d->quote) ||
                          (c == d->escape && (src[i + 1] == d->quote || src[i + 1] == d->escape)))) {
            dst[o++] = src[++i];
            continue;
        }
        dst[o++] = c;
    }
    return o;
}

enum { SK_FIELD, SK_UNQUOTED, SK_QUOTED, SK_QUOTE_SEEN, SK_ESCAPE };

long csv_skip_feed(const csv_dialect *d, csv_skip *sk, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        switch (sk->state) {
        case SK_FIELD:
        case SK_UNQUOTED:
        case SK_QUOTE_SEEN:
            if (c == '\n') {
                sk->newlines++;
                sk->state = SK_FIELD;
                return (long)(i + 1);
            }
            if (c == d->delimiter)
                sk->state = SK_FIELD;
            else if (sk->state == SK_FIELD && d->quoting && c == d->quote)
                sk->state = SK_QUOTED;
            else if (sk->state == SK_QUOTE_SEEN && c == d->quote)
                sk->state = SK_QUOTED; /* a doubled quote */
            else
                sk->state = SK_UNQUOTED;
            break;
        case SK_QUOTED:
            if (c == '\n')
                sk->newlines++;
            else if (c == d->quote)
                sk->state = SK_QUOTE_SEEN;
            else if (c == d->escape)
                sk->state = SK_ESCAPE;
            break;
        case SK_ESCAPE:
            if (c == '\n')
                sk->newlines++;
            sk->state = SK_QUOTED;
            break;
        }
    }
    return -1;
}

int csv_skip_in_quotes(const csv_skip *sk)
{
    return sk->state == SK_QUOTED || sk->state == SK_ESCAPE;
}

/* ---- header ------------------------------------------------------------ */

int csv_read_header(files_source *fs, files_in *in, const char *label, char ***names, int *n,
                    int64_t *lines, source_error *err)
{
    const csv_dialect *d = &fs->dialect;
    csv_fields flds = {.grow = 1};
    csv_record rec;
    *names = NULL;
    *n = 0;
    *lines = 0;
    if (files_skip_bom(in, label, err))
        return -1;
    int64_t comments = 0; /* comment lines before the header */
    for (;;) {
        if (fs->comment && in->pos < in->len && in->buf[in->pos] == fs->comment) {
            if (files_skip_line(in, label, err)) {
                free(flds.f);
                return -1;
            }
            comments++;
            continue;
        }
        int st = csv_scan_record(d, in->buf + in->pos, in->len - in->pos, in->eof, 1, &flds, &rec);
        if (st == CSV_NOMEM) {
            free(flds.f);
            return source_fail(err, SRC_E_NOMEM, "out of memory reading the header of %s", label);
        }
        if (st == CSV_END) {
            free(flds.f);
            return 0;
        }
        if (st == CSV_RECORD)
            break;
        if (in->len - in->pos > d->max_field + 2) {
            free(flds.f);
            return source_fail(err, SRC_E_FORMAT,
                               "%s: the header line is longer than %zu bytes (max_field); is it "
                               "a CSV file with a header?",
                               label, d->max_field);
        }
        int m = files_in_more(in, label, err);
        if (m < 0) {
            free(flds.f);
            return -1;
        }
        if (m == 0 && !in->eof) {
            free(flds.f);
            return source_fail(err, SRC_E_FORMAT, "%s: the header line is too long", label);
        }
    }
    if (rec.blank) {
        free(flds.f);
        return source_fail(err, SRC_E_FORMAT,
                           "%s: the first line is empty; it should name the columns (or use "
                           "--no-header with --columns)",
                           label);
    }
    if (rec.problem[0]) {
        free(flds.f);
        return source_fail(err, SRC_E_FORMAT, "%s: the header line: %s", label, rec.problem);
    }
    const char *p = in->buf + in->pos;
    char **out = calloc((size_t)rec.nfields, sizeof *out);
    if (!out) {
        free(flds.f);
        return source_fail(err, SRC_E_NOMEM, "out of memory reading the header of %s", label);
    }
    for (int i = 0; i < rec.nfields; i++) {
        const csv_field *f = &flds.f[i];
        out[i] = malloc(f->len + 1);
        if (!out[i]) {
            for (int j = 0; j < i; j++)
                free(out[j]);
            free(out);
            free(flds.f);
            return source_fail(err, SRC_E_NOMEM, "out of memory reading the header of %s", label);
        }
        size_t k = f->unescape ? csv_unescape(d, p + f->off, f->len, out[i]) : f->len;
        if (!f->unescape)
            memcpy(out[i], p + f->off, f->len);
        out[i][k] = '\0';
    }
    in->pos += rec.consumed;
    *names = out;
    *n = rec.nfields;
    *lines = comments + rec.newlines;
    free(flds.f);
    return 0;
}

/* ---- batches ----------------------------------------------------------- */

/* files_end_fn over csv_skip_feed. */
typedef struct csv_end_ctx {
    const csv_dialect *d;
    csv_skip sk;
} csv_end_ctx;

static long csv_end(void *ctx, const char *p, size_t n)
{
    csv_end_ctx *c = ctx;
    return csv_skip_feed(c->d, &c->sk, p, n);
}

/* The record at the reader's position is longer than max_field: skip it
 * and add a row saying so. */
static int skip_oversized(files_reader *r, row_batch *b, source_error *err)
{
    const csv_dialect *d = &r->src->dialect;
    int64_t line = r->line;
    csv_end_ctx ctx = {.d = d};
    src_row *row = files_skip_record(r, b, csv_end, &ctx, err);
    if (!row)
        return -1;
    r->line += ctx.sk.newlines;
    char text[256];
    if (r->in.eof && r->in.pos == r->in.len && csv_skip_in_quotes(&ctx.sk))
        snprintf(text, sizeof text,
                 "line %" PRId64 ": unterminated quoted field: the rest of the file (more than "
                 "%zu bytes, max_field) is inside quotes",
                 line, d->max_field);
    else
        snprintf(text, sizeof text,
                 "line %" PRId64 ": record longer than %zu bytes (max_field); skipped", line,
                 d->max_field);
    row->problem = arena_strndup(&b->mem, text, strlen(text));
    return row->problem ? 0 : files_nomem(r, err);
}

/* An unquoted field equal to one of the null markers. */
static inline int is_null(const csv_dialect *d, const char *p, size_t n)
{
    for (int i = 0; i < d->nnull; i++)
        if (n == d->null_lens[i] && (n == 0 || !memcmp(p, d->nulls[i], n)))
            return 1;
    return 0;
}

int csv_read_batch(files_reader *r, row_batch *b, int max_rows, source_error *err)
{
    files_source *fs = r->src;
    const csv_dialect *d = &fs->dialect;
    files_in *in = &r->in;
    const int ncols = fs->schema.tables[0].ncols;
    size_t bytes = 0;
    char text[512];

    row_batch_clear(b);
    if (files_take_failed(r, err))
        return -1;
    if (max_rows > b->cap)
        max_rows = b->cap;
    while (b->n < max_rows && bytes < FILES_BATCH_BYTES && !r->done) {
        int cm = files_comment(r, b, err);
        if (cm < 0)
            return files_read_failed(r, b, err);
        if (cm > 0)
            continue;
        csv_record rec;
        const char *p = in->buf + in->pos;
        int st = csv_scan_record(d, p, in->len - in->pos, in->eof, r->line, &r->fields, &rec);
        if (st == CSV_END)
            break;
        if (st == CSV_NOMEM)
            return files_nomem(r, err);
        if (st == CSV_NEED_MORE) {
            int m = files_need_more(r, d->max_field + 2, err);
            if (m < 0)
                return files_read_failed(r, b, err);
            if (m == 0) {
                if (skip_oversized(r, b, err))
                    return -1;
                bytes += FILES_RAW_PREFIX;
            }
            continue;
        }
        const int64_t line = r->line;
        int cr = rec.blank ? 0 : files_count_row(r, b, line, err);
        if (cr < 0)
            return -1;
        if (cr == 1)
            break; /* --max-rows: the record stays unread */
        in->pos += rec.consumed;
        r->line += rec.newlines;
        if (rec.blank || cr == 2)
            continue;
        if (rec.problem[0] || rec.nfields != ncols || rec.len > d->max_field) {
            size_t raw_len = rec.len;
            if (rec.len > d->max_field && raw_len > FILES_RAW_PREFIX)
                raw_len = FILES_RAW_PREFIX;
            if (rec.problem[0])
                snprintf(text, sizeof text, "line %" PRId64 ": %s", line, rec.problem);
            else if (rec.len > d->max_field)
                snprintf(text, sizeof text,
                         "line %" PRId64 ": record longer than %zu bytes (max_field); skipped",
                         line, d->max_field);
            else
                snprintf(text, sizeof text,
                         fs->header ? "line %" PRId64 ": %d field%s, the header has %d"
                                    : "line %" PRId64 ": %d field%s, expected %d (the columns "
                                      "given)",
                         line, rec.nfields, rec.nfields == 1 ? "" : "s", ncols);
            if (files_add_problem(r, b, line, p, raw_len, text, err))
                return -1;
            bytes += raw_len;
            continue;
        }
        src_row *row = row_batch_add(b, line, ncols);
        char *copy = row ? arena_alloc(&b->mem, rec.len + 1) : NULL;
        if (!copy)
            return files_nomem(r, err);
        memcpy(copy, p, rec.len);
        copy[rec.len] = '\0';
        row->raw = copy;
        row->raw_len = rec.len;
        bytes += rec.len;
        const csv_field *f = r->fields.f;
        src_value *v = row->vals;
        for (int c = 0; c < ncols; c++, f++, v++) {
            if (!f->quoted && is_null(d, p + f->off, f->len))
                continue; /* SV_NULL (the values are zeroed) */
            v->kind = SV_TEXT;
            if (f->unescape) {
                char *u = arena_alloc(&b->mem, f->len);
                if (!u)
                    return files_nomem(r, err);
                v->u.s.p = u;
                v->u.s.n = csv_unescape(d, p + f->off, f->len, u);
            } else {
                v->u.s.p = copy + f->off;
                v->u.s.n = f->len;
            }
        }
    }
    if (files_set_resume(r, b, err))
        return -1;
    return b->n;
}
