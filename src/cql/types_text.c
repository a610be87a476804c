/* Text -> wire encoding (CSV fields and the like): scalars go straight into
 * the output buffer without allocating; collections, tuples, UDTs and
 * vectors are read from JSON-like literals with single or double quotes
 * ("['a','b']", "{'k': 1}", "(1, 'x')", "{name: 'x'}").
 */
#include "cql/types_int.h"
#include "util/utf8.h"

#include <stdlib.h>
#include <string.h>

int cqlt_value_end(cs_buf *out, size_t mark, cql_error *err)
{
    size_t n = out->len - mark - 4;
    if (n > INT32_MAX)
        return cql_fail(err, CQL_E_ENCODE, "value of %zu bytes is longer than the protocol allows", n);
    cs_buf_patch_u32(out, mark, (uint32_t)n);
    return 0;
}

int cqlt_vector_fix_element(const cql_type *vec, cs_buf *out, size_t mark, cql_error *err)
{
    int32_t len = (int32_t)cs_be32(out->data + mark);
    char tb[96];
    if (len < 0)
        return cql_fail(err, CQL_E_ENCODE, "expected no null elements in %s", cqlt_type_str(vec, tb, sizeof tb));
    size_t fixed = cql_type_fixed_size(vec->sub[0]);
    if (fixed) {
        if ((size_t)len != fixed)
            return cql_fail(err, CQL_E_ENCODE, "expected %zu-byte elements in %s, got %d bytes", fixed,
                            cqlt_type_str(vec, tb, sizeof tb), len);
        memmove(out->data + mark, out->data + mark + 4, (size_t)len);
        out->len -= 4;
        return 0;
    }
    uint8_t v[9];
    size_t vn = cqlt_uvint_put(v, (uint64_t)len);
    if (vn > 4 && !cs_buf_extend(out, vn - 4))
        return cql_fail(err, CQL_E_NOMEM, "value buffer is full");
    memmove(out->data + mark + vn, out->data + mark + 4, (size_t)len);
    memcpy(out->data + mark, v, vn);
    if (vn < 4)
        out->len -= 4 - vn;
    return 0;
}

/* ---------- literal scanning ---------- */

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static void trim(const char **s, size_t *n)
{
    while (*n && is_blank(**s))
        (*s)++, (*n)--;
    while (*n && is_blank((*s)[*n - 1]))
        (*n)--;
}

/* One element of a literal: a span of the source, quoted or not. */
typedef struct span {
    const char *p;
    size_t n;
    char quote; /* 0, '\'' or '"' (p/n exclude the quotes) */
    int escaped; /* quoted text contains escapes and must be unescaped */
} span;

typedef struct lit {
    const char *s;
    size_t n, i;
    const cql_type *t; /* the type being read, for messages */
    cql_error *err;
} lit;

static int lit_fail(lit *L, const char *what)
{
    char tb[96], q[80];
    return cql_fail(L->err, CQL_E_ENCODE, "expected %s in %s literal at offset %zu, got %s", what,
                    cqlt_type_str(L->t, tb, sizeof tb), L->i, cqlt_quote(L->s, L->n, q, sizeof q));
}

static void lit_ws(lit *L)
{
    while (L->i < L->n && is_blank(L->s[L->i]))
        L->i++;
}

/* Skip a quoted string starting at L->i; sets *escaped. 0 or -1. */
static int skip_quoted(lit *L, int *escaped)
{
    char q = L->s[L->i++];
    *escaped = 0;
    while (L->i < L->n) {
        char c = L->s[L->i++];
        if (q == '"' && c == '\\') {
            *escaped = 1;
            L->i++;
        } else if (c == q) {
            if (q == '\'' && L->i < L->n && L->s[L->i] == '\'') { /* '' is a quote */
                *escaped = 1;
                L->i++;
            } else {
                return 0;
            }
        }
    }
    return -1;
}

/* Read one element: a quoted string, a bracketed literal (returned whole),
 * or bare text up to a top-level terminator in `stops`. */
static int lit_elem(lit *L, const char *stops, span *sp)
{
    lit_ws(L);
    memset(sp, 0, sizeof *sp);
    if (L->i >= L->n)
        return lit_fail(L, "a value");
    char c = L->s[L->i];
    if (c == '\'' || c == '"') {
        size_t b = L->i;
        if (skip_quoted(L, &sp->escaped))
            return lit_fail(L, "a closing quote");
        sp->p = L->s + b + 1;
        sp->n = L->i - b - 2;
        sp->quote = c;
        return 0;
    }
    size_t b = L->i;
    int depth = 0;
    while (L->i < L->n) {
        c = L->s[L->i];
        if (c == '\'' || c == '"') {
            int esc;
            if (skip_quoted(L, &esc))
                return lit_fail(L, "a closing quote");
            continue;
        }
        if (c == '[' || c == '{' || c == '(')
            depth++;
        else if (c == ']' || c == '}' || c == ')') {
            if (depth == 0)
                break;
            depth--;
        } else if (depth == 0 && strchr(stops, c)) {
            break;
        }
        L->i++;
    }
    if (depth)
        return lit_fail(L, "a closing bracket");
    sp->p = L->s + b;
    sp->n = L->i - b;
    trim(&sp->p, &sp->n);
    if (sp->n == 0)
        return lit_fail(L, "a value");
    return 0;
}

static int utf8_put(cs_buf *b, uint32_t cp)
{
    uint8_t u[4];
    return cs_buf_append(b, u, utf8_encode(cp, u));
}

/* Resolve escapes of a quoted span into scratch; 0 or -1. */
static int unescape(lit *L, const span *sp, cs_buf *scratch)
{
    cs_buf_reset(scratch);
    const char *p = sp->p;
    size_t n = sp->n;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (sp->quote == '\'' && c == '\'') {
            i++; /* '' -> ' */
        } else if (sp->quote == '"' && c == '\\' && i + 1 < n) {
            char e = p[++i];
            uint32_t cp;
            switch (e) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'u':
                if (i + 4 >= n || utf8_hex4(p + i + 1, &cp))
                    return lit_fail(L, "\\u and 4 hex digits");
                i += 4;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    uint32_t lo;
                    if (i + 6 >= n || p[i + 1] != '\\' || p[i + 2] != 'u' || utf8_hex4(p + i + 3, &lo) || lo < 0xDC00 ||
                        lo > 0xDFFF)
                        return lit_fail(L, "a low surrogate after a high one");
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    return lit_fail(L, "no lone low surrogate");
                }
                if (utf8_put(scratch, cp))
                    return cql_fail(L->err, CQL_E_NOMEM, "out of memory");
                continue;
            default: c = e; break; /* \" \\ \/ and anything else literally */
            }
        }
        if (cs_buf_put_u8(scratch, (uint8_t)c))
            return cql_fail(L->err, CQL_E_NOMEM, "out of memory");
    }
    return 0;
}

static int is_null_word(const span *sp)
{
    return !sp->quote && sp->n == 4 && (memcmp(sp->p, "null", 4) == 0 || memcmp(sp->p, "NULL", 4) == 0);
}

/* Encode one element span as type t with its [int32] prefix. */
static int encode_span(lit *L, const cql_type *t, const span *sp, int nullable, cs_buf *out, cs_buf *scratch,
                       int depth)
{
    if (is_null_word(sp)) {
        if (!nullable)
            return lit_fail(L, "no null elements (collections cannot hold null)");
        return cql_value_put_null(out) ? cql_fail(L->err, CQL_E_NOMEM, "value buffer is full") : 0;
    }
    if (sp->escaped) {
        if (unescape(L, sp, scratch))
            return -1;
        /* Nested compound values get their own scratch, so this one stays
         * intact while it is being encoded. */
        return cqlt_encode_text(t, (const char *)scratch->data, scratch->len, out, L->err, depth + 1);
    }
    return cqlt_encode_text(t, sp->p, sp->n, out, L->err, depth + 1);
}

/* Expect one of the closing characters, then the end of the literal. */
static int lit_close(lit *L, char close)
{
    lit_ws(L);
    if (L->i >= L->n || L->s[L->i] != close) {
        char w[24];
        w[0] = '\'', w[1] = close, w[2] = '\'', w[3] = 0;
        return lit_fail(L, w);
    }
    L->i++;
    lit_ws(L);
    if (L->i != L->n)
        return lit_fail(L, "the end of the literal");
    return 0;
}

/* list, set, vector, tuple: "[a, b]" (also "{a, b}" for sets, "(a, b)" for tuples). */
static int encode_seq(lit *L, const cql_type *t, cs_buf *out, cs_buf *scratch, int depth)
{
    char open = L->s[L->i];
    char close = open == '[' ? ']' : open == '{' ? '}' : open == '(' ? ')' : 0;
    int ok = open == '[' || (open == '{' && t->id == CQL_T_SET) || (open == '(' && t->id == CQL_T_TUPLE);
    if (!ok)
        return lit_fail(L, t->id == CQL_T_TUPLE ? "'(' or '['" : t->id == CQL_T_SET ? "'[' or '{'" : "'['");
    L->i++;
    int is_vec = t->id == CQL_T_VECTOR, is_tuple = t->id == CQL_T_TUPLE;
    size_t count_at = out->len;
    if (!is_vec && !is_tuple && cs_buf_put_u32(out, 0))
        return cql_fail(L->err, CQL_E_NOMEM, "value buffer is full");
    uint32_t count = 0;
    char stops[3] = {',', close, 0};
    lit_ws(L);
    if (L->i < L->n && L->s[L->i] == close) {
        /* empty */
    } else {
        for (;;) {
            const cql_type *et = is_tuple ? (count < t->nsub ? t->sub[count] : NULL) : t->sub[0];
            if (!et || (is_vec && count >= t->dimension)) {
                char tb[96];
                return cql_fail(L->err, CQL_E_ENCODE, "expected %u elements for %s, got more",
                                is_vec ? t->dimension : t->nsub, cqlt_type_str(t, tb, sizeof tb));
            }
            span sp;
            if (lit_elem(L, stops, &sp))
                return -1;
            size_t mark = out->len;
            if (encode_span(L, et, &sp, is_tuple, out, scratch, depth))
                return -1;
            if (is_vec && cqlt_vector_fix_element(t, out, mark, L->err))
                return -1;
            count++;
            lit_ws(L);
            if (L->i < L->n && L->s[L->i] == ',') {
                L->i++;
                continue;
            }
            break;
        }
    }
    if (lit_close(L, close))
        return -1;
    if ((is_vec && count != t->dimension) || (is_tuple && count != t->nsub)) {
        char tb[96];
        return cql_fail(L->err, CQL_E_ENCODE, "expected %u elements for %s, got %u",
                        is_vec ? t->dimension : t->nsub, cqlt_type_str(t, tb, sizeof tb), count);
    }
    if (!is_vec && !is_tuple)
        cs_buf_patch_u32(out, count_at, count);
    return 0;
}

/* map: "{k: v, ...}" or "[[k, v], ...]". */
static int encode_map(lit *L, const cql_type *t, cs_buf *out, cs_buf *scratch, int depth)
{
    char open = L->s[L->i];
    if (open != '{' && open != '[')
        return lit_fail(L, "'{'");
    L->i++;
    size_t count_at = out->len;
    if (cs_buf_put_u32(out, 0))
        return cql_fail(L->err, CQL_E_NOMEM, "value buffer is full");
    uint32_t count = 0;
    char close = open == '{' ? '}' : ']';
    lit_ws(L);
    if (!(L->i < L->n && L->s[L->i] == close)) {
        for (;;) {
            span k, v;
            lit_ws(L);
            if (open == '[') {
                if (L->i >= L->n || L->s[L->i] != '[')
                    return lit_fail(L, "a [key, value] pair");
                L->i++;
                if (lit_elem(L, ",]", &k))
                    return -1;
                lit_ws(L);
                if (L->i >= L->n || L->s[L->i] != ',')
                    return lit_fail(L, "',' between key and value");
                L->i++;
                if (lit_elem(L, ",]", &v))
                    return -1;
                lit_ws(L);
                if (L->i >= L->n || L->s[L->i] != ']')
                    return lit_fail(L, "']' after a [key, value] pair");
                L->i++;
            } else {
                if (lit_elem(L, ":,}", &k))
                    return -1;
                lit_ws(L);
                if (L->i >= L->n || L->s[L->i] != ':')
                    return lit_fail(L, "':' after a map key (quote keys that contain ':')");
                L->i++;
                if (lit_elem(L, ",}", &v))
                    return -1;
            }
            if (encode_span(L, t->sub[0], &k, 0, out, scratch, depth) ||
                encode_span(L, t->sub[1], &v, 0, out, scratch, depth))
                return -1;
            count++;
            lit_ws(L);
            if (L->i < L->n && L->s[L->i] == ',') {
                L->i++;
                continue;
            }
            break;
        }
    }
    if (lit_close(L, close))
        return -1;
    cs_buf_patch_u32(out, count_at, count);
    return 0;
}

/* UDT: "{field: value, ...}" in any order; missing fields are null. */
static int encode_udt(lit *L, const cql_type *t, cs_buf *out, cs_buf *scratch, int depth)
{
    char tb[96];
    if (!t->field_names)
        return cql_fail(L->err, CQL_E_ENCODE, "the fields of user type %s are not known (use bind metadata)",
                        cqlt_type_str(t, tb, sizeof tb));
    if (L->s[L->i] != '{')
        return lit_fail(L, "'{'");
    L->i++;
    span small[16];
    span *vals = t->nsub <= 16 ? small : calloc(t->nsub, sizeof *vals);
    if (!vals)
        return cql_fail(L->err, CQL_E_NOMEM, "out of memory");
    memset(vals, 0, (t->nsub <= 16 ? 16 : t->nsub) * sizeof *vals);
    int rc = -1;
    lit_ws(L);
    if (!(L->i < L->n && L->s[L->i] == '}')) {
        for (;;) {
            span k;
            if (lit_elem(L, ":,}", &k))
                goto out;
            if (k.escaped && unescape(L, &k, scratch))
                goto out;
            const char *kp = k.escaped ? (const char *)scratch->data : k.p;
            size_t kn = k.escaped ? scratch->len : k.n;
            uint16_t f;
            for (f = 0; f < t->nsub; f++)
                if (strlen(t->field_names[f]) == kn && memcmp(t->field_names[f], kp, kn) == 0)
                    break;
            if (f == t->nsub) {
                char q[80];
                cql_fail(L->err, CQL_E_ENCODE, "expected a field of %s, got %s", cqlt_type_str(t, tb, sizeof tb),
                         cqlt_quote(kp, kn, q, sizeof q));
                goto out;
            }
            lit_ws(L);
            if (L->i >= L->n || L->s[L->i] != ':') {
                lit_fail(L, "':' after a field name");
                goto out;
            }
            L->i++;
            if (lit_elem(L, ",}", &vals[f]))
                goto out;
            lit_ws(L);
            if (L->i < L->n && L->s[L->i] == ',') {
                L->i++;
                continue;
            }
            break;
        }
    }
    if (lit_close(L, '}'))
        goto out;
    for (uint16_t f = 0; f < t->nsub; f++) {
        if (!vals[f].p) {
            if (cql_value_put_null(out)) {
                cql_fail(L->err, CQL_E_NOMEM, "value buffer is full");
                goto out;
            }
        } else if (encode_span(L, t->sub[f], &vals[f], 1, out, scratch, depth)) {
            goto out;
        }
    }
    rc = 0;
out:
    if (vals != small)
        free(vals);
    return rc;
}

static int encode_compound(const cql_type *t, const char *s, size_t n, cs_buf *out, cql_error *err, int depth)
{
    lit L = {s, n, 0, t, err};
    cs_buf scratch;
    cs_buf_init(&scratch, out->max);
    int rc;
    if (n == 0)
        rc = lit_fail(&L, "a literal");
    else if (t->id == CQL_T_MAP)
        rc = encode_map(&L, t, out, &scratch, depth);
    else if (t->id == CQL_T_UDT)
        rc = encode_udt(&L, t, out, &scratch, depth);
    else
        rc = encode_seq(&L, t, out, &scratch, depth);
    cs_buf_release(&scratch);
    return rc;
}

int cqlt_encode_text(const cql_type *t, const char *s, size_t n, cs_buf *out, cql_error *err, int depth)
{
    if (depth > CQLT_MAX_DEPTH)
        return cql_fail(err, CQL_E_ENCODE, "value nested more than %d levels deep", CQLT_MAX_DEPTH);
    size_t mark;
    if (cqlt_value_begin(out, &mark))
        return cql_fail(err, CQL_E_NOMEM, "value buffer is full");
    int rc;
    if (t->id != CQL_T_VARCHAR && t->id != CQL_T_ASCII)
        trim(&s, &n); /* blanks around a number or date in a CSV field are noise */
    switch (t->id) {
    case CQL_T_LIST:
    case CQL_T_SET:
    case CQL_T_MAP:
    case CQL_T_TUPLE:
    case CQL_T_UDT:
    case CQL_T_VECTOR:
        if (t->nsub == 0 && t->id != CQL_T_UDT)
            rc = cql_fail(err, CQL_E_USAGE, "compound type without element types");
        else
            rc = encode_compound(t, s, n, out, err, depth);
        break;
    default:
        rc = cqlt_scalar_from_text(t, s, n, out, err);
    }
    if (rc == 0)
        rc = cqlt_value_end(out, mark, err);
    return rc;
}

int cql_value_encode_text(const cql_type *t, const char *s, size_t n, cs_buf *out, cql_error *err)
{
    size_t start = out->len;
    if (cqlt_encode_text(t, s, n, out, err, 0)) {
        out->len = start;
        return -1;
    }
    return 0;
}
