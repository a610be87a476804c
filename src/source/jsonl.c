/* JSONL parsing (one JSON object per line) for the file source.
 *
 * Each line is scanned here, not by a general JSON parser, so that scalar
 * values keep their exact text: a number goes on as its literal ("12.50"
 * stays a decimal with scale 2, a 30-digit integer stays a varint), a string
 * as its decoded text, true/false as "true"/"false"; the target column's
 * codec then parses the text (docs/formats.md). Only nested arrays and
 * objects are handed to jansson and go on as SV_JSON, for collections, UDTs
 * and tuples.
 *
 * The scanner is strict JSON (RFC 8259): a line that is not one object, has
 * a syntax error, invalid UTF-8 or a repeated key becomes a row with
 * `problem`, and reading continues on the next line. A key that is not one
 * of the table's columns is a problem too (it would be silently lost
 * otherwise); keys that are absent are null.
 *
 * A file that is one JSON array of objects, or objects one after another
 * across lines (jsonl_detect tells), is read as a document: each record's
 * extent is found by its brackets and strings (jdoc_scan), then it is
 * parsed as a line would be. Resume points are just after a record.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/files_int.h"
#include "util/utf8.h"

typedef enum jv_kind { JV_STRING, JV_NUMBER, JV_TRUE, JV_FALSE, JV_NULL, JV_NESTED } jv_kind;

/* One member of the line's object. The key is decoded into the scratch key
 * buffer; the value is a span of the line (for a string: between the
 * quotes, with `escaped` set if it holds a backslash). */
typedef struct jl_member {
    size_t key_off, key_len;
    jv_kind kind;
    size_t off, len;
    int escaped;
} jl_member;

struct jl_scratch {
    jl_member *m;
    int n, cap;
    char *keys;
    size_t klen, kcap;
    unsigned char *seen;    /* per column, for repeated keys */
    int nseen;
};

typedef struct jl_scratch jl_scratch;

enum { JL_OK = 0, JL_BLANK = 1, JL_BAD = -1, JL_NOMEM = -2 };

static int bad(char *msg, size_t cap, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int bad(char *msg, size_t cap, size_t at, const char *fmt, ...)
{
    int o = snprintf(msg, cap, "invalid JSON at byte %zu: ", at + 1);
    va_list ap;
    va_start(ap, fmt);
    if (o > 0 && (size_t)o < cap)
        vsnprintf(msg + o, cap - (size_t)o, fmt, ap);
    va_end(ap);
    return JL_BAD;
}

static size_t skip_ws(const char *p, size_t i, size_t n)
{
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        i++;
    return i;
}

/* Decode the escapes of a string body already checked by scan_string into
 * dst (at most n bytes: an escape never decodes longer than it is). */
static size_t unescape(const char *s, size_t n, char *dst)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\') {
            dst[o++] = s[i];
            continue;
        }
        char c = s[++i];
        switch (c) {
        case 'b': dst[o++] = '\b'; break;
        case 'f': dst[o++] = '\f'; break;
        case 'n': dst[o++] = '\n'; break;
        case 'r': dst[o++] = '\r'; break;
        case 't': dst[o++] = '\t'; break;
        case 'u': {
            uint32_t cp = 0, lo = 0;
            utf8_hex4(s + i + 1, &cp);
            i += 4;
            if (cp >= 0xD800 && cp < 0xDC00) { /* checked: a low surrogate follows */
                utf8_hex4(s + i + 3, &lo);
                i += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            o += utf8_encode(cp, (uint8_t *)dst + o);
            break;
        }
        default: dst[o++] = c; break; /* " \ / */
        }
    }
    return o;
}

/* Scan a string whose opening quote is at p[i]; on success *end is the
 * index of the closing quote. Checks escapes, control characters and
 * UTF-8. */
static int scan_string(const char *p, size_t i, size_t n, size_t *end, int *escaped, char *msg,
                       size_t cap)
{
    size_t start = ++i;
    *escaped = 0;
    for (;;) {
        while (i < n && p[i] != '"' && p[i] != '\\' && (unsigned char)p[i] >= 0x20)
            i++;
        if (i == n)
            return bad(msg, cap, start - 1, "unterminated string");
        if (p[i] == '"')
            break;
        if (p[i] != '\\')
            return bad(msg, cap, i, "control character 0x%02x inside a string (escape it)",
                       (unsigned char)p[i]);
        *escaped = 1;
        if (i + 1 == n)
            return bad(msg, cap, i, "unterminated string");
        char c = p[i + 1];
        if (strchr("\"\\/bfnrt", c) && c) {
            i += 2;
            continue;
        }
        if (c != 'u')
            return bad(msg, cap, i, "unknown escape \\%c", c);
        uint32_t cp, lo;
        if (i + 6 > n || utf8_hex4(p + i + 2, &cp))
            return bad(msg, cap, i, "\\u must be followed by 4 hex digits");
        if (cp >= 0xDC00 && cp < 0xE000)
            return bad(msg, cap, i, "lone low surrogate \\u%04x", cp);
        if (cp >= 0xD800 && cp < 0xDC00) {
            if (i + 12 > n || p[i + 6] != '\\' || p[i + 7] != 'u' || utf8_hex4(p + i + 8, &lo) ||
                lo < 0xDC00 || lo >= 0xE000)
                return bad(msg, cap, i, "high surrogate \\u%04x without a low surrogate after it",
                           cp);
            i += 12;
        } else {
            i += 6;
        }
    }
    size_t badat = utf8_invalid_at((const uint8_t *)p + start, i - start);
    if (badat != i - start)
        return bad(msg, cap, start + badat, "invalid UTF-8 in a string (byte 0x%02x)",
                   (unsigned char)p[start + badat]);
    *end = i;
    return JL_OK;
}

/* A JSON number at p[i]; *end is one past it. */
static int scan_number(const char *p, size_t i, size_t n, size_t *end, char *msg, size_t cap)
{
    size_t s = i;
    if (i < n && p[i] == '-')
        i++;
    if (i < n && p[i] == '0')
        i++;
    else if (i < n && p[i] >= '1' && p[i] <= '9')
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++;
    else
        return bad(msg, cap, s, "bad number");
    if (i < n && p[i] == '.') {
        i++;
        if (i == n || p[i] < '0' || p[i] > '9')
            return bad(msg, cap, s, "bad number: digits must follow the decimal point");
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++;
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-'))
            i++;
        if (i == n || p[i] < '0' || p[i] > '9')
            return bad(msg, cap, s, "bad number: digits must follow the exponent");
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++;
    }
    *end = i;
    return JL_OK;
}

/* Skip a nested array or object starting at p[i] (brackets matched,
 * strings skipped); jansson checks the rest when it parses the span. */
static int skip_nested(const char *p, size_t i, size_t n, size_t *end, char *msg, size_t cap)
{
    enum { MAX_DEPTH = 64 };
    char open[MAX_DEPTH];
    size_t s = i;
    int depth = 0;
    while (i < n) {
        char c = p[i];
        if (c == '"') {
            size_t e;
            int esc;
            if (scan_string(p, i, n, &e, &esc, msg, cap))
                return JL_BAD;
            i = e + 1;
            continue;
        }
        if (c == '[' || c == '{') {
            if (depth == MAX_DEPTH)
                return bad(msg, cap, i, "nested more than %d levels deep", MAX_DEPTH);
            open[depth++] = c;
        } else if (c == ']' || c == '}') {
            if (open[depth - 1] != (c == ']' ? '[' : '{'))
                return bad(msg, cap, i, "'%c' does not close the '%c' before it", c,
                           open[depth - 1]);
            if (--depth == 0) {
                *end = i + 1;
                return JL_OK;
            }
        }
        i++;
    }
    return bad(msg, cap, s, "unclosed %s", p[s] == '[' ? "array" : "object");
}

static int push_member(jl_scratch *s, jl_member **out)
{
    if (s->n == s->cap) {
        int ncap = s->cap ? s->cap * 2 : 32;
        jl_member *m = realloc(s->m, (size_t)ncap * sizeof *m);
        if (!m)
            return JL_NOMEM;
        s->m = m;
        s->cap = ncap;
    }
    *out = &s->m[s->n++];
    return JL_OK;
}

/* Parse one line p[0..n) (without its '\n') into s->m. */
static int jl_parse(const char *p, size_t n, jl_scratch *s, char *msg, size_t cap)
{
    s->n = 0;
    s->klen = 0;
    size_t i = skip_ws(p, 0, n);
    if (i == n)
        return JL_BLANK;
    if (p[i] != '{')
        return bad(msg, cap, i, "each line must be one JSON object ({...}), this one starts "
                                "with '%c'", p[i]);
    i = skip_ws(p, i + 1, n);
    if (i < n && p[i] == '}') {
        i = skip_ws(p, i + 1, n);
        return i == n ? JL_OK : bad(msg, cap, i, "text after the object");
    }
    for (;;) {
        if (i == n)
            return bad(msg, cap, i, "the object is not closed (missing '}')");
        if (p[i] != '"')
            return bad(msg, cap, i, "expected a key in double quotes");
        size_t kend;
        int kesc;
        if (scan_string(p, i, n, &kend, &kesc, msg, cap))
            return JL_BAD;
        jl_member *m;
        if (push_member(s, &m))
            return JL_NOMEM;
        size_t klen = kend - i - 1;
        if (!s->keys || s->klen + klen > s->kcap) {
            size_t ncap = (s->klen + klen) * 2 + 256;
            char *k = realloc(s->keys, ncap);
            if (!k)
                return JL_NOMEM;
            s->keys = k;
            s->kcap = ncap;
        }
        m->key_off = s->klen;
        m->key_len = kesc ? unescape(p + i + 1, klen, s->keys + s->klen) : klen;
        if (!kesc)
            memcpy(s->keys + s->klen, p + i + 1, klen);
        s->klen += m->key_len;
        i = skip_ws(p, kend + 1, n);
        if (i == n || p[i] != ':')
            return bad(msg, cap, i, "expected ':' after the key");
        i = skip_ws(p, i + 1, n);
        if (i == n)
            return bad(msg, cap, i, "missing value");
        size_t e = 0;
        m->escaped = 0;
        char c = p[i];
        if (c == '"') {
            if (scan_string(p, i, n, &e, &m->escaped, msg, cap))
                return JL_BAD;
            m->kind = JV_STRING;
            m->off = i + 1;
            m->len = e - i - 1;
            e++;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            if (scan_number(p, i, n, &e, msg, cap))
                return JL_BAD;
            m->kind = JV_NUMBER;
            m->off = i;
            m->len = e - i;
        } else if (c == '[' || c == '{') {
            if (skip_nested(p, i, n, &e, msg, cap))
                return JL_BAD;
            m->kind = JV_NESTED;
            m->off = i;
            m->len = e - i;
        } else if (n - i >= 4 && !memcmp(p + i, "true", 4)) {
            m->kind = JV_TRUE;
            e = i + 4;
        } else if (n - i >= 5 && !memcmp(p + i, "false", 5)) {
            m->kind = JV_FALSE;
            e = i + 5;
        } else if (n - i >= 4 && !memcmp(p + i, "null", 4)) {
            m->kind = JV_NULL;
            e = i + 4;
        } else {
            return bad(msg, cap, i, "expected a value (string, number, true, false, null, "
                                    "array or object)");
        }
        i = skip_ws(p, e, n);
        if (i < n && p[i] == ',') {
            i = skip_ws(p, i + 1, n);
            continue;
        }
        if (i < n && p[i] == '}') {
            i = skip_ws(p, i + 1, n);
            return i == n ? JL_OK : bad(msg, cap, i, "text after the object");
        }
        if (i == n)
            return bad(msg, cap, i, "the object is not closed (missing '}')");
        return bad(msg, cap, i, "expected ',' or '}' after a value");
    }
}

static jl_scratch *scratch_get(files_reader *r)
{
    if (!r->jl)
        r->jl = calloc(1, sizeof *r->jl);
    return r->jl;
}

void jsonl_scratch_free(jl_scratch *s)
{
    if (!s)
        return;
    free(s->m);
    free(s->keys);
    free(s->seen);
    free(s);
}

/* ---- JSON documents: an array of objects, or objects one after another -- */

/* End (exclusive) of the JSON value that starts at p[i] (not a blank), or
 * 0 if it goes on past n (a scalar ends at n when eof). Only strings and
 * the nesting are followed; the value's syntax is jl_parse's. */
static size_t value_end(const char *p, size_t i, size_t n, int eof)
{
    if (p[i] == '{' || p[i] == '[' || p[i] == '"') {
        int depth = 0;
        for (size_t j = i; j < n; j++) {
            char c = p[j];
            if (c == '"') {
                for (j++; j < n && p[j] != '"'; j++)
                    if (p[j] == '\\')
                        j++;
                if (j >= n)
                    return 0;
                if (depth == 0)
                    return j + 1;
            } else if (c == '{' || c == '[') {
                depth++;
            } else if ((c == '}' || c == ']') && --depth == 0) {
                return j + 1;
            }
        }
        return 0;
    }
    size_t j = i;
    while (j < n && p[j] != ' ' && p[j] != '\t' && p[j] != '\r' && p[j] != '\n' &&
           p[j] != ',' && p[j] != ']' && p[j] != '}')
        j++;
    return j < n || eof ? (j > i ? j : j + 1) : 0;
}

enum { JD_RECORD = 1, JD_NEED_MORE = 0, JD_END = 2, JD_BAD = -1 };

/* The next record of a document in p[0..n): its value is p[*vs..*ve).
 * *consumed is always set (the structural bytes taken, with the record);
 * JD_BAD gives the problem in msg and the bytes to reject as p[*vs..*ve). */
static int jdoc_scan(int mode, int *state, const char *p, size_t n, int eof, size_t *vs,
                     size_t *ve, size_t *consumed, char *msg, size_t cap)
{
    size_t i = skip_ws(p, 0, n);
    *consumed = i;
    *vs = *ve = i;
    while (mode == JD_ARRAY) {
        if (*state == JA_JUNK) {
            *consumed = n;
            return eof ? JD_END : JD_NEED_MORE;
        }
        if (i == n) {
            if (!eof)
                return JD_NEED_MORE;
            if (*state == JA_CLOSED)
                return JD_END;
            snprintf(msg, cap, "the array is not closed (no ']' at the end of the data; every "
                               "record before it was read)");
            *state = JA_CLOSED;
            return JD_BAD;
        }
        if (*state == JA_OPEN && p[i] == '[') {
            *state = JA_VALUE;
        } else if (*state == JA_VALUE && p[i] == ']') {
            *state = JA_CLOSED;
        } else if (*state == JA_NEXT && (p[i] == ',' || p[i] == ']')) {
            *state = p[i] == ',' ? JA_VALUE : JA_CLOSED;
        } else if (*state == JA_CLOSED) {
            snprintf(msg, cap, "text after the end of the array ('%c'): the rest of the data is "
                               "left out", p[i]);
            *state = JA_JUNK;
            *ve = i + 1;
            *consumed = i + 1;
            return JD_BAD;
        } else {
            break; /* a record (also one where a ',' is missing) */
        }
        i = skip_ws(p, i + 1, n);
        *consumed = *vs = *ve = i;
    }
    if (i == n) {
        if (!eof)
            return JD_NEED_MORE;
        return JD_END;
    }
    size_t e = value_end(p, i, n, eof);
    if (!e) {
        if (!eof)
            return JD_NEED_MORE;
        snprintf(msg, cap, "the %s is not closed: it goes on to the end of the data%s",
                 p[i] == '{' ? "object" : "value",
                 mode == JD_ARRAY ? ", and the array with it" : "");
        *ve = *consumed = n;
        if (mode == JD_ARRAY)
            *state = JA_CLOSED;
        return JD_BAD;
    }
    if (mode == JD_ARRAY)
        *state = JA_NEXT;
    *vs = i;
    *ve = *consumed = e;
    return JD_RECORD;
}

int jsonl_detect(files_in *in, const char *label, size_t max_field, source_error *err)
{
    for (;;) {
        const char *p = in->buf + in->pos;
        size_t n = in->len - in->pos;
        size_t i = skip_ws(p, 0, n);
        if (i < n && p[i] == '[')
            return JD_ARRAY;
        if (i < n && p[i] != '{')
            return JD_LINES;
        if (i < n) {
            size_t e = value_end(p, i, n, in->eof);
            if (e) {
                if (memchr(p + i, '\n', e - i))
                    return JD_SEQ;
                while (e < n && (p[e] == ' ' || p[e] == '\t' || p[e] == '\r'))
                    e++;
                if (e < n && p[e] != '\n')
                    return JD_SEQ;
                if (e < n || in->eof)
                    return JD_LINES;
            }
        }
        if (in->eof || n > max_field + 2)
            return JD_LINES; /* the line reader says what is wrong */
        int m = files_in_more(in, label, err);
        if (m < 0)
            return -1;
        if (m == 0 && !in->eof)
            return JD_LINES;
    }
}

/* ---- the sample of keys -------------------------------------------------- */

/* Add the keys of the object parsed into s that out[0..*nout) lacks. 0,
 * or -1 out of memory. */
static int add_keys(const jl_scratch *s, char ***out, int *nout, int *cap)
{
    for (int k = 0; k < s->n; k++) {
        const char *key = s->keys + s->m[k].key_off;
        size_t kl = s->m[k].key_len;
        int found = 0;
        for (int j = 0; j < *nout && !found; j++)
            found = strlen((*out)[j]) == kl && !memcmp((*out)[j], key, kl);
        if (found || memchr(key, '\0', kl))
            continue; /* known, or cannot name a column */
        if (*nout == *cap) {
            int ncap = *cap ? *cap * 2 : 16;
            char **no = realloc(*out, (size_t)ncap * sizeof *no);
            if (!no)
                return -1;
            *out = no;
            *cap = ncap;
        }
        if (!((*out)[*nout] = strndup(key, kl)))
            return -1;
        (*nout)++;
    }
    return 0;
}

/* The keys of the first JSONL_SAMPLE_LINES records of a JSON document at
 * in->pos, reading more as needed (up to the buffer's cap), without
 * consuming them. */
static int sample_doc(files_in *in, const char *label, int mode, jl_scratch *s, char ***out,
                      int *nout, int *cap, source_error *err)
{
    size_t off = 0; /* from in->pos, which files_in_more keeps at the same data */
    int state = JA_OPEN;
    char msg[320];
    for (int rec = 0; rec < JSONL_SAMPLE_LINES;) {
        size_t vs, ve, used;
        int st = jdoc_scan(mode, &state, in->buf + in->pos + off, in->len - in->pos - off,
                           in->eof, &vs, &ve, &used, msg, sizeof msg);
        if (st == JD_NEED_MORE) {
            off += used;
            int m = files_in_more(in, label, err);
            if (m < 0)
                return -1;
            if (m == 0 && !in->eof)
                return 0; /* the buffer is full: the sample is what it holds */
            continue;
        }
        if (st != JD_RECORD)
            return 0;
        const char *p = in->buf + in->pos + off;
        off += used;
        rec++;
        int rc = jl_parse(p + vs, ve - vs, s, msg, sizeof msg);
        if (rc == JL_NOMEM || (rc == JL_OK && add_keys(s, out, nout, cap)))
            return source_fail(err, SRC_E_NOMEM, "out of memory reading %s", label);
    }
    return 0;
}

int jsonl_sample_keys(files_source *fs, files_in *in, const char *label, char ***names, int *n,
                      source_error *err)
{
    *names = NULL;
    *n = 0;
    if (files_skip_bom(in, label, err))
        return -1;
    jl_scratch s = {0};
    char msg[256];
    char **out = NULL;
    int nout = 0, cap = 0, rc = 0;
    int mode = jsonl_detect(in, label, fs->max_field, err);
    if (mode < 0)
        return -1;
    if (mode != JD_LINES) {
        rc = sample_doc(in, label, mode, &s, &out, &nout, &cap, err);
        goto done;
    }
    /* get up to JSONL_SAMPLE_LINES lines into the buffer */
    for (;;) {
        int lines = 0;
        for (size_t i = in->pos; i < in->len && lines < JSONL_SAMPLE_LINES; i++)
            lines += in->buf[i] == '\n';
        if (lines >= JSONL_SAMPLE_LINES || in->eof)
            break;
        int m = files_in_more(in, label, err);
        if (m < 0)
            return -1;
        if (m == 0)
            break;
    }
    const char *p = in->buf + in->pos, *end = in->buf + in->len;
    for (int line = 0; line < JSONL_SAMPLE_LINES && p < end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (!nl && !in->eof)
            break; /* a partial last line */
        int prc = jl_parse(p, len, &s, msg, sizeof msg);
        if (prc == JL_NOMEM || (prc == JL_OK && add_keys(&s, &out, &nout, &cap))) {
            rc = source_fail(err, SRC_E_NOMEM, "out of memory reading %s", label);
            break;
        }
        p = nl ? nl + 1 : end;
    }
done:
    free(s.m);
    free(s.keys);
    if (rc) {
        for (int j = 0; j < nout; j++)
            free(out[j]);
        free(out);
        return -1;
    }
    *names = out;
    *n = nout;
    return 0;
}

/* ---- batches ------------------------------------------------------------- */

static long line_end(void *ctx, const char *p, size_t n)
{
    (void)ctx;
    const char *nl = memchr(p, '\n', n);
    return nl ? (long)(nl - p + 1) : -1;
}

static int column_of(const source_table *t, const char *key, size_t kl, int hint)
{
    if (hint >= 0 && hint < t->ncols && strlen(t->cols[hint].name) == kl &&
        !memcmp(t->cols[hint].name, key, kl))
        return hint;
    for (int c = 0; c < t->ncols; c++)
        if (strlen(t->cols[c].name) == kl && !memcmp(t->cols[c].name, key, kl))
            return c;
    return -1;
}

/* Fill the row's values from the parsed members; a problem text in msg and
 * 1 if the line cannot be taken. */
static int fill_row(files_reader *r, row_batch *b, src_row *row, const char *copy, jl_scratch *s,
                    char *msg, size_t cap)
{
    const source_table *t = &r->src->schema.tables[0];
    memset(s->seen, 0, (size_t)t->ncols);
    for (int k = 0; k < s->n; k++) {
        const jl_member *m = &s->m[k];
        const char *key = s->keys + m->key_off;
        int c = column_of(t, key, m->key_len, k);
        if (c < 0) {
            int kl = (int)(m->key_len > 100 ? 100 : m->key_len);
            if (r->src->columns_given)
                snprintf(msg, cap, "key \"%.*s\" is not one of the columns given (--columns)",
                         kl, key);
            else if (r->src->late_given)
                snprintf(msg, cap, "key \"%.*s\" is not a column of the table (nor a key of "
                         "the first %d lines)", kl, key, JSONL_SAMPLE_LINES);
            else
                snprintf(msg, cap,
                         "key \"%.*s\" is not a column: the columns come from the keys of the "
                         "first %d lines; name them all with --columns",
                         kl, key, JSONL_SAMPLE_LINES);
            return 1;
        }
        if (s->seen[c]) {
            snprintf(msg, cap, "key \"%s\" appears twice in the object", t->cols[c].name);
            return 1;
        }
        s->seen[c] = 1;
        src_value *v = &row->vals[c];
        switch (m->kind) {
        case JV_NULL:
            break;
        case JV_TRUE:
        case JV_FALSE:
            v->kind = SV_TEXT;
            v->u.s.p = m->kind == JV_TRUE ? "true" : "false";
            v->u.s.n = m->kind == JV_TRUE ? 4 : 5;
            break;
        case JV_NUMBER:
            v->kind = SV_TEXT;
            v->u.s.p = copy + m->off;
            v->u.s.n = m->len;
            break;
        case JV_STRING:
            v->kind = SV_TEXT;
            if (m->escaped) {
                char *u = arena_alloc(&b->mem, m->len + 1);
                if (!u)
                    return -1;
                v->u.s.p = u;
                v->u.s.n = unescape(copy + m->off, m->len, u);
            } else {
                v->u.s.p = copy + m->off;
                v->u.s.n = m->len;
            }
            break;
        case JV_NESTED: {
            json_error_t je;
            json_t *j = json_loadb(copy + m->off, m->len, JSON_ALLOW_NUL, &je);
            if (!j) {
                snprintf(msg, cap, "invalid JSON in the value of \"%s\": %s", t->cols[c].name,
                         je.text);
                return 1;
            }
            if (row_batch_keep_json(b, j)) {
                json_decref(j);
                return -1;
            }
            v->kind = SV_JSON;
            v->u.j = j;
            break;
        }
        }
    }
    return 0;
}

/* Add the row of the object p[0..len) that jl_parse just parsed into s
 * (raw_len of it is its raw text), or a row with the problem that keeps
 * fill_row from taking it. 0, or -1 out of memory. */
static int add_record(files_reader *r, row_batch *b, jl_scratch *s, int64_t line, const char *p,
                      size_t len, size_t raw_len, source_error *err)
{
    char msg[320], text[400];
    /* the values point into this copy of the record */
    char *copy = arena_alloc(&b->mem, len + 1);
    if (!copy)
        return files_nomem(r, err);
    memcpy(copy, p, len);
    copy[len] = '\0';
    src_row *row = row_batch_add(b, line, r->src->schema.tables[0].ncols);
    if (!row)
        return files_nomem(r, err);
    row->raw = copy;
    row->raw_len = raw_len;
    int fr = fill_row(r, b, row, copy, s, msg, sizeof msg);
    if (fr < 0)
        return files_nomem(r, err);
    if (fr > 0) {
        snprintf(text, sizeof text, "line %" PRId64 ": %s", line, msg);
        if (!(row->problem = arena_strndup(&b->mem, text, strlen(text))))
            return files_nomem(r, err);
        row->nvals = 0;
    }
    return 0;
}

static int count_nl(const char *p, size_t n)
{
    int k = 0;
    for (const char *e = p + n; (p = memchr(p, '\n', (size_t)(e - p))); p++)
        k++;
    return k;
}

/* A batch of a JSON document (an array, or objects one after another). */
static int doc_read_batch(files_reader *r, row_batch *b, int max_rows, jl_scratch *s,
                          source_error *err)
{
    files_source *fs = r->src;
    files_in *in = &r->in;
    size_t bytes = 0;
    char msg[320], text[600];
    int64_t last_end = files_in_offset(in);
    while (b->n < max_rows && bytes < FILES_BATCH_BYTES && !r->done) {
        const char *p = in->buf + in->pos;
        size_t n = in->len - in->pos, vs, ve, used;
        int st = jdoc_scan(r->jmode, &r->jstate, p, n, in->eof, &vs, &ve, &used, msg,
                           sizeof msg);
        const int64_t line = r->line + count_nl(p, vs);
        in->pos += used;
        r->line += count_nl(p, used);
        if (st == JD_END)
            break;
        if (st == JD_NEED_MORE) {
            int m = files_need_more(r, fs->max_field + 2, err);
            if (m < 0)
                return files_read_failed(r, b, err);
            if (m > 0)
                continue;
            /* one record fills the buffer: it cannot be held, nor its end found */
            snprintf(msg, sizeof msg, "a record longer than %zu bytes (max_field): the rest of "
                                      "the data is left out", fs->max_field);
            st = JD_BAD;
            p = in->buf + in->pos;
            vs = 0;
            ve = in->len - in->pos;
            in->pos = in->len;
            r->jmode = JD_ARRAY;
            r->jstate = JA_JUNK;
        }
        if (st == JD_BAD) {
            size_t raw = ve - vs < FILES_RAW_PREFIX ? ve - vs : FILES_RAW_PREFIX;
            snprintf(text, sizeof text, "%s: line %" PRId64 ": %s", r->label, line, msg);
            if (files_add_problem(r, b, line, p + vs, raw, text, err))
                return -1;
            bytes += raw;
            last_end = files_in_offset(in);
            continue;
        }
        int rc = jl_parse(p + vs, ve - vs, s, msg, sizeof msg);
        if (rc == JL_NOMEM)
            return files_nomem(r, err);
        int cr = files_count_row(r, b, line, err);
        if (cr < 0)
            return -1;
        if (cr == 2)
            last_end = files_in_offset(in);
        if (cr > 0)
            continue;
        if (rc != JL_OK) {
            snprintf(text, sizeof text, "line %" PRId64 ": %s", line, msg);
            size_t raw = ve - vs < FILES_RAW_PREFIX ? ve - vs : FILES_RAW_PREFIX;
            if (files_add_problem(r, b, line, p + vs, raw, text, err))
                return -1;
            bytes += raw;
            last_end = files_in_offset(in);
            continue;
        }
        if (add_record(r, b, s, line, p + vs, ve - vs, ve - vs, err))
            return -1;
        bytes += ve - vs;
        last_end = files_in_offset(in);
    }
    /* the resume point is just after the last record (a ',' or ']' after
     * it is read again), so a resumed reader is always after a record */
    if (files_set_resume_at(r, b, last_end, err))
        return -1;
    return b->n;
}

int jsonl_read_batch(files_reader *r, row_batch *b, int max_rows, source_error *err)
{
    files_source *fs = r->src;
    files_in *in = &r->in;
    const int ncols = fs->schema.tables[0].ncols;
    size_t bytes = 0;
    char msg[320], text[400];
    jl_scratch *s = scratch_get(r);
    if (!s)
        return files_nomem(r, err);
    if (s->nseen < ncols) {
        free(s->seen);
        if (!(s->seen = calloc((size_t)ncols + 1, 1)))
            return files_nomem(r, err);
        s->nseen = ncols;
    }

    row_batch_clear(b);
    if (files_take_failed(r, err))
        return -1;
    if (max_rows > b->cap)
        max_rows = b->cap;
    if (r->jmode != JD_LINES)
        return doc_read_batch(r, b, max_rows, s, err);
    while (b->n < max_rows && bytes < FILES_BATCH_BYTES && !r->done) {
        int cm = files_comment(r, b, err);
        if (cm < 0)
            return files_read_failed(r, b, err);
        if (cm > 0)
            continue;
        const char *p = in->buf + in->pos;
        size_t avail = in->len - in->pos;
        const char *nl = memchr(p, '\n', avail);
        if (!nl && !in->eof) {
            int m = files_need_more(r, fs->max_field + 2, err);
            if (m < 0)
                return files_read_failed(r, b, err);
            if (m == 0) {
                int64_t line = r->line;
                src_row *row = files_skip_record(r, b, line_end, NULL, err);
                if (!row)
                    return -1;
                r->line++;
                snprintf(text, sizeof text,
                         "line %" PRId64 ": line longer than %zu bytes (max_field); skipped",
                         line, fs->max_field);
                if (!(row->problem = arena_strndup(&b->mem, text, strlen(text))))
                    return files_nomem(r, err);
                bytes += FILES_RAW_PREFIX;
            }
            continue;
        }
        if (!nl && avail == 0)
            break; /* EOF */
        size_t len = nl ? (size_t)(nl - p) : avail;
        const int64_t line = r->line;
        in->pos += nl ? len + 1 : len;
        r->line++;
        int rc = jl_parse(p, len, s, msg, sizeof msg);
        if (rc == JL_BLANK)
            continue;
        int cr = files_count_row(r, b, line, err);
        if (cr < 0)
            return -1;
        if (cr > 0)
            continue; /* skipped; or --max-rows reached (the loop ends) */
        if (rc == JL_NOMEM)
            return files_nomem(r, err);
        size_t raw_len = len > FILES_RAW_PREFIX && len > fs->max_field ? FILES_RAW_PREFIX : len;
        if (len > 0 && p[len - 1] == '\r' && raw_len == len)
            raw_len--;
        if (rc == JL_BAD || len > fs->max_field) {
            if (rc != JL_BAD)
                snprintf(msg, sizeof msg, "line longer than %zu bytes (max_field); skipped",
                         fs->max_field);
            snprintf(text, sizeof text, "line %" PRId64 ": %s", line, msg);
            if (files_add_problem(r, b, line, p, raw_len, text, err))
                return -1;
            bytes += raw_len;
            continue;
        }
        if (add_record(r, b, s, line, p, len, raw_len, err))
            return -1;
        bytes += len;
    }
    if (files_set_resume(r, b, err))
        return -1;
    return b->n;
}
