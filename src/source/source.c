/* Shared pieces of the source connectors: errors, row batches, schemas,
 * and choosing a connector from a URI. */
#include "source/source.h"

#include <ctype.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "format/instream.h"
#include "util/buf.h"

int source_fail(source_error *err, source_errc code, const char *fmt, ...)
{
    if (err) {
        err->code = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void source_ranges_free(source_range *r, int n)
{
    if (!r)
        return;
    for (int i = 0; i < n; i++) {
        src_pos_free(&r[i].lo);
        src_pos_free(&r[i].hi);
    }
    free(r);
}

void row_batch_init(row_batch *b, int cap)
{
    memset(b, 0, sizeof *b);
    arena_init(&b->mem, 256 * 1024);
    b->cap = cap;
}

void row_batch_clear(row_batch *b)
{
    for (int i = 0; i < b->njson; i++)
        json_decref(b->json_refs[i]);
    b->njson = 0;
    arena_reset(&b->mem);
    b->rows = NULL;
    b->n = 0;
}

void row_batch_release(row_batch *b)
{
    row_batch_clear(b);
    free(b->json_refs);
    b->json_refs = NULL;
    b->json_cap = 0;
    src_pos_free(&b->resume);
    arena_release(&b->mem);
}

src_row *row_batch_add(row_batch *b, int64_t pos, int nvals)
{
    if (b->n >= b->cap)
        return NULL;
    if (!b->rows) {
        b->rows = arena_alloc(&b->mem, (size_t)b->cap * sizeof *b->rows);
        if (!b->rows)
            return NULL;
    }
    src_row *r = &b->rows[b->n];
    memset(r, 0, sizeof *r);
    r->pos = pos;
    r->nvals = nvals;
    if (nvals > 0) {
        r->vals = arena_alloc(&b->mem, (size_t)nvals * sizeof *r->vals);
        if (!r->vals)
            return NULL;
        memset(r->vals, 0, (size_t)nvals * sizeof *r->vals);
    }
    b->n++;
    return r;
}

int src_value_set_bytes(src_value *v, src_kind kind, arena *a, const void *p, size_t n)
{
    char *copy = "";
    if (n) {
        copy = arena_alloc(a, n);
        if (!copy)
            return -1;
        memcpy(copy, p, n);
    }
    v->kind = kind;
    v->u.s.p = copy;
    v->u.s.n = n;
    return 0;
}

int src_value_set_bad(src_value *v, arena *a, const char *fmt, ...)
{
    char buf[300];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof buf)
        n = sizeof buf - 1;
    char *p = arena_alloc(a, (size_t)n + 1);
    v->kind = SV_BAD;
    if (!p) {
        v->u.s.p = "value cannot be represented";
        v->u.s.n = strlen(v->u.s.p);
        return -1;
    }
    memcpy(p, buf, (size_t)n + 1);
    v->u.s.p = p;
    v->u.s.n = (size_t)n;
    return 0;
}

int row_batch_keep_json(row_batch *b, json_t *j)
{
    if (b->njson == b->json_cap) {
        int ncap = b->json_cap ? b->json_cap * 2 : 64;
        json_t **n = realloc(b->json_refs, (size_t)ncap * sizeof *n);
        if (!n)
            return -1;
        b->json_refs = n;
        b->json_cap = ncap;
    }
    b->json_refs[b->njson++] = j;
    return 0;
}

void source_schema_free(source_schema *s)
{
    if (!s)
        return;
    for (int t = 0; t < s->ntables; t++) {
        source_table *tb = &s->tables[t];
        for (int c = 0; c < tb->ncols; c++) {
            source_column *col = &tb->cols[c];
            free(col->name);
            free(col->decl_type);
            for (int l = 0; l < col->nlabels; l++)
                free(col->labels[l]);
            free(col->labels);
            free(col->note);
        }
        free(tb->cols);
        free(tb->name);
        free(tb->schema);
        free(tb->sql_name);
        free(tb->query);
        for (int k = 0; k < tb->nfkeys; k++) {
            source_fkey *fk = &tb->fkeys[k];
            free(fk->name);
            free(fk->cols);
            free(fk->ref_table);
            for (int c = 0; fk->ref_cols && c < fk->ncols; c++)
                free(fk->ref_cols[c]);
            free(fk->ref_cols);
        }
        free(tb->fkeys);
        for (int k = 0; k < tb->nindexes; k++) {
            free(tb->indexes[k].name);
            free(tb->indexes[k].cols);
            free(tb->indexes[k].note);
        }
        free(tb->indexes);
    }
    free(s->tables);
    s->tables = NULL;
    s->ntables = 0;
}

void file_options_init(file_options *o)
{
    memset(o, 0, sizeof *o);
    o->delimiter = ',';
    o->quote = '"';
    o->escape = '"';
    o->null_marker = "";
    o->header = 1;
    o->max_field = (size_t)16 * 1024 * 1024;
}

void file_options_key(const file_options *o, char *out, size_t n)
{
    size_t k = 0;
    out[0] = '\0';
#define KEY_ADD(...)                                                                       \
    do {                                                                                   \
        if (k < n)                                                                         \
            k += (size_t)snprintf(out + k, n - k, __VA_ARGS__);                            \
    } while (0)
    if (o->encoding && *o->encoding)
        KEY_ADD(" encoding=%s", o->encoding);
    if (o->nnull > 0) {
        KEY_ADD(" null=[");
        for (int i = 0; i < o->nnull; i++)
            KEY_ADD("%s%s", i ? "|" : "", o->null_markers[i]);
        KEY_ADD("]");
    } else if (o->null_marker && *o->null_marker) {
        KEY_ADD(" null=[%s]", o->null_marker);
    }
    if (o->skip_rows)
        KEY_ADD(" skip=%lld", o->skip_rows);
    if (o->max_rows)
        KEY_ADD(" max=%lld", o->max_rows);
    if (o->comment)
        KEY_ADD(" comment=%c", o->comment);
#undef KEY_ADD
    if (k >= n && n > 0)
        out[n - 1] = '\0';
}

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcasecmp(s + n - m, suf);
}

/* A file that starts with SQLite's header string, whatever its name. */
static int is_sqlite_file(const char *path)
{
    char head[16];
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    return n == sizeof head && !memcmp(head, "SQLite format 3", 16);
}

int source_uri_is_db(const char *uri)
{
    return !strncmp(uri, "postgresql://", 13) || !strncmp(uri, "postgres://", 11) ||
           !strncmp(uri, "mysql://", 8) || !strncmp(uri, "mariadb://", 10);
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

void source_uri_redact(const char *uri, char *out, size_t n)
{
    if (!n)
        return;
    snprintf(out, n, "%s", uri);
    /* scheme://user:password@host...: the password is between the first
     * ':' after "//" and the last '@' before the path. libpq looks for that
     * '@' up to the first '/' only, so a '?' or '#' before it is still part
     * of the password. */
    const char *auth = strstr(uri, "://");
    if (!auth)
        return;
    auth += 3;
    size_t hostpart = strcspn(auth, "/");
    const char *at = NULL;
    for (const char *p = auth; p < auth + hostpart; p++)
        if (*p == '@')
            at = p;
    if (at) {
        const char *colon = memchr(auth, ':', (size_t)(at - auth));
        if (colon)
            snprintf(out, n, "%.*s***%s", (int)(colon + 1 - uri), uri, at);
    }
    /* passwords among the query parameters: libpq percent-decodes each
     * key and takes any number of them (the last wins), so every
     * password= and sslpassword= (the client key's passphrase) goes,
     * however its key is spelled */
    char *q = strchr(out, '?');
    while (q && *q) {
        char *key = q + 1;
        char *eq = key + strcspn(key, "=&");
        char *end = eq + (*eq == '=' ? strcspn(eq, "&") : 0);
        char dec[16];
        size_t d = 0, k = 0;
        size_t klen = (size_t)(eq - key);
        while (k < klen && d + 1 < sizeof dec) {
            int hi, lo;
            if (key[k] == '%' && k + 2 < klen && (hi = hexval(key[k + 1])) >= 0 &&
                (lo = hexval(key[k + 2])) >= 0) {
                dec[d++] = (char)(hi << 4 | lo);
                k += 3;
            } else {
                dec[d++] = key[k++];
            }
        }
        dec[d] = 0;
        if (*eq == '=' && k == klen && (!strcmp(dec, "password") || !strcmp(dec, "sslpassword"))) {
            size_t tail = strlen(end);
            size_t vat = (size_t)(eq + 1 - out);
            if (vat + 3 + tail < n) {
                memmove(eq + 4, end, tail + 1);
                memcpy(eq + 1, "***", 3);
                end = eq + 4;
            } else {
                *eq = 0;    /* no room: cut the URI before the value */
                break;
            }
        }
        q = *end == '&' ? end : NULL;
    }
}

/* 1 if the URI carries a password (user:password@, or password=...). */
static int uri_has_password(const char *uri)
{
    char red[2048];
    source_uri_redact(uri, red, sizeof red);
    return strcmp(red, uri) != 0;
}

source *source_open_db(const char *uri, const char *scope, source_error *err)
{
    if (uri_has_password(uri)) {
        char red[1024];
        source_uri_redact(uri, red, sizeof red);
        int pg = !strncmp(uri, "postgres", 8);
        source_fail(err, SRC_E_USAGE,
                    "%s: a password in the URI would be visible in the process list and shell "
                    "history, so it is refused; give it in %s instead",
                    red, pg ? "PGPASSWORD, ~/.pgpass (or PGPASSFILE) or a service file "
                              "(PGSERVICE)"
                            : "MYSQL_PWD or the [client] section of ~/.my.cnf");
        return NULL;
    }
    if (!strncmp(uri, "postgresql://", 13) || !strncmp(uri, "postgres://", 11))
        return source_pg_open(uri, scope, err);
    if (!strncmp(uri, "mysql://", 8) || !strncmp(uri, "mariadb://", 10))
        return source_mysql_open(uri, scope, err);
    source_fail(err, SRC_E_USAGE, "not a database URI: %s", uri);
    return NULL;
}

source *source_open(const char *uri, const char *table_name, const file_options *opts,
                    source_error *err)
{
    if (source_uri_is_db(uri))
        return source_open_db(uri, NULL, err);
    if (!strncmp(uri, "sqlite:", 7))
        return source_sqlite_open(uri + 7 + (!strncmp(uri + 7, "//", 2) ? 2 : 0), err);
    if (!strncmp(uri, "csv:", 4))
        return source_files_open("csv", uri + 4, table_name, opts, err);
    if (!strncmp(uri, "jsonl:", 6))
        return source_files_open("jsonl", uri + 6, table_name, opts, err);
    if (strstr(uri, "://")) {
        source_fail(err, SRC_E_USAGE,
                    "unsupported source '%s': cqlshift reads postgresql://, mysql://, "
                    "mariadb://, sqlite:FILE, csv:PATH and jsonl:PATH",
                    uri);
        return NULL;
    }
    if (has_suffix(uri, ".db") || has_suffix(uri, ".sqlite") || has_suffix(uri, ".sqlite3") ||
        is_sqlite_file(uri))
        return source_sqlite_open(uri, err);
    /* data.jsonl.gz is JSONL: the name without a compression suffix */
    char stem[4096];
    size_t sl;
    instream_compressed_name(uri, &sl);
    snprintf(stem, sizeof stem, "%.*s", (int)(sl < sizeof stem ? sl : sizeof stem - 1), uri);
    if (has_suffix(stem, ".jsonl") || has_suffix(stem, ".ndjson") || has_suffix(stem, ".json"))
        return source_files_open("jsonl", uri, table_name, opts, err);
    return source_files_open("csv", uri, table_name, opts, err);
}

/* ---- queries (add_query) ---- */

/* The end of the quoted text, comment or word starting at p (which is not
 * a blank), for source_query_text's scan; NULL when a quote or comment
 * does not end. */
static const char *skip_token(const char *p, int mysql)
{
    if (p[0] == '-' && p[1] == '-') {
        const char *nl = strchr(p, '\n');
        return nl ? nl + 1 : p + strlen(p);
    }
    if (p[0] == '/' && p[1] == '*') {
        const char *e = strstr(p + 2, "*/");
        return e ? e + 2 : NULL;
    }
    if (*p == '\'' || *p == '"' || (mysql && *p == '`')) {
        char q = *p++;
        for (; *p; p++) {
            if (mysql && *p == '\\' && q != '`' && p[1]) {
                p++;
                continue;
            }
            if (*p == q) {
                if (p[1] == q) {
                    p++;
                    continue;
                }
                return p + 1;
            }
        }
        return NULL;
    }
    return p + 1;
}

char *source_query_text(const char *sql, int mysql, int *at, source_error *err)
{
    *at = -1;
    const char *p = sql;
    /* the first word, after blanks, comments and opening parentheses */
    for (;;) {
        while (isspace((unsigned char)*p) || *p == '(')
            p++;
        if ((p[0] == '-' && p[1] == '-') || (p[0] == '/' && p[1] == '*')) {
            const char *e = skip_token(p, mysql);
            if (!e)
                break;
            p = e;
            continue;
        }
        break;
    }
    size_t wl = 0;
    while (isalpha((unsigned char)p[wl]))
        wl++;
    if (!((wl == 6 && !strncasecmp(p, "select", 6)) || (wl == 4 && !strncasecmp(p, "with", 4)))) {
        *at = (int)(p - sql);
        source_fail(err, SRC_E_USAGE,
                    "a query must be one read-only SELECT (or WITH ... SELECT), not %s%.*s%s: "
                    "write a SELECT whose columns feed the target table",
                    wl ? "'" : "an empty text", (int)(wl > 40 ? 40 : wl), p, wl ? "...'" : "");
        return NULL;
    }
    /* one statement: nothing but blanks, comments and semicolons after a ; */
    const char *end = p, *last = p; /* last: after the last character that counts */
    int semi = 0;
    while (*end) {
        if (isspace((unsigned char)*end)) {
            end++;
            continue;
        }
        const char *e = skip_token(end, mysql);
        if (!e) {
            *at = (int)(end - sql);
            source_fail(err, SRC_E_USAGE, "the query has %s that does not end: close it",
                        *end == '-' || *end == '/' ? "a comment" : "a quoted text");
            return NULL;
        }
        int comment = (end[0] == '-' && end[1] == '-') || (end[0] == '/' && end[1] == '*');
        if (*end == ';') {
            semi = 1;
        } else if (!comment) {
            if (semi) {
                *at = (int)(end - sql);
                source_fail(err, SRC_E_USAGE, "a query is one statement: remove what follows "
                                              "the semicolon");
                return NULL;
            }
            last = e;
        }
        end = e;
    }
    size_t n = (size_t)(last - sql);
    char *out = malloc(n + 1);
    if (!out) {
        source_fail(err, SRC_E_NOMEM, "out of memory");
        return NULL;
    }
    memcpy(out, sql, n);
    out[n] = 0;
    return out;
}

int source_quote_ident(const source *s, const char *name, char *out, size_t n)
{
    char q = s && s->ops && !strcmp(s->ops->name, "mysql") ? '`' : '"';
    size_t o = 0;
    if (n < 3)
        return -1;
    out[o++] = q;
    for (const char *p = name; *p; p++) {
        if (o + (*p == q ? 2 : 1) + 2 > n) {
            out[0] = 0;
            return -1;
        }
        if (*p == q)
            out[o++] = q;
        out[o++] = *p;
    }
    out[o++] = q;
    out[o] = 0;
    return 0;
}
