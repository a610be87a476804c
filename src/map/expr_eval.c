/* Mapping expressions: evaluation of a compiled tree for one row.
 *
 * Values at run time may be of another kind than the static type says
 * (SQLite stores what it is given: an INTEGER column can hold text, a
 * DATETIME column holds text), so every operator looks at the kinds it
 * gets: numbers compare as numbers, text met by a typed value is read as
 * that type, anything else compares by its text form.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cql/types_int.h"
#include "map/expr_int.h"

static int rt_fail(map_error *err, int off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int rt_fail(map_error *err, int off, const char *fmt, ...)
{
    if (err) {
        err->offset = off;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static const char *func_name(int id)
{
    static const char *const names[] = {
        [F_LOWER] = "lower", [F_UPPER] = "upper", [F_TRIM] = "trim", [F_COALESCE] = "coalesce",
        [F_CAST] = "cast", [F_TO_TIMESTAMP] = "to_timestamp", [F_FROM_EPOCH] = "from_epoch",
        [F_UUID_FROM_BYTES] = "uuid_from_bytes", [F_NAME_UUID] = "name_uuid",
        [F_JSON_PATH] = "json_path", [F_UNIX_TIME] = "unix_time",
    };
    return names[id];
}

static void set_bool(src_value *out, int b)
{
    out->kind = SV_BOOL;
    out->u.i = b ? 1 : 0;
}

/* A short printable quote of a value's text for messages. */
static const char *show(const src_value *v, arena *a, char *buf, size_t n)
{
    const char *p;
    size_t len;
    char msg[8];
    if (v->kind == SV_NULL)
        return "null";
    if (map_text_form(v, a, &p, &len, msg, sizeof msg))
        return "(a value without a text form)";
    return cqlt_quote(p, len, buf, n);
}

/* true/false of a value for and/or/not: booleans, integers (SQLite has
 * no booleans: 0 is false) and their text forms. 0, or -1 if it is none. */
static int truth(const src_value *v, int *b)
{
    switch (v->kind) {
    case SV_BOOL: case SV_INT: *b = v->u.i != 0; return 0;
    case SV_UINT: *b = v->u.u != 0; return 0;
    case SV_TEXT: {
        static const char *const t[] = {"true", "t", "yes", "y", "1"};
        static const char *const f[] = {"false", "f", "no", "n", "0"};
        for (int i = 0; i < 5; i++) {
            if (v->u.s.n == strlen(t[i]) && !strncasecmp(v->u.s.p, t[i], v->u.s.n)) {
                *b = 1;
                return 0;
            }
            if (v->u.s.n == strlen(f[i]) && !strncasecmp(v->u.s.p, f[i], v->u.s.n)) {
                *b = 0;
                return 0;
            }
        }
        return -1;
    }
    default: return -1;
    }
}

int map_value_truth(const src_value *v)
{
    int b;
    if (v->kind == SV_NULL)
        return 0;
    return truth(v, &b) ? -1 : b;
}

int map_value_timestamp_us(const src_value *v, int64_t *us, char *why, size_t n)
{
    switch (v->kind) {
    case SV_TIMESTAMP: case SV_INT:
        *us = v->u.i;
        return 0;
    case SV_UINT:
        if (v->u.u > INT64_MAX)
            break;
        *us = (int64_t)v->u.u;
        return 0;
    case SV_DATE:
        if (__builtin_mul_overflow(v->u.i, 86400000000LL, us))
            break;
        return 0;
    case SV_TEXT: {
        /* the text rules write into a fixed buffer: no arena is needed */
        src_value t;
        cql_type ct = {.id = CQL_T_TIMESTAMP};
        char msg[300];
        if (map_cast_value(&ct, v, NULL, &t, msg, sizeof msg)) {
            snprintf(why, n, "%s", msg);
            return -1;
        }
        *us = t.u.i;
        return 0;
    }
    case SV_NULL:
        snprintf(why, n, "the value is null");
        return -1;
    case SV_BAD:
        snprintf(why, n, "%.*s", (int)(v->u.s.n > 300 ? 300 : v->u.s.n), v->u.s.p);
        return -1;
    default:
        snprintf(why, n, "the value is not a timestamp or an integer of microseconds");
        return -1;
    }
    snprintf(why, n, "the value is beyond the range of a timestamp");
    return -1;
}

int map_value_int64(const src_value *v, int64_t *out, char *why, size_t n)
{
    char buf[80], q[64];
    const char *p = NULL;
    size_t len = 0;
    switch (v->kind) {
    case SV_INT:
        *out = v->u.i;
        return 0;
    case SV_UINT:
        if (v->u.u > INT64_MAX) {
            snprintf(why, n, "%" PRIu64 " is beyond the 64-bit integer range", v->u.u);
            return -1;
        }
        *out = (int64_t)v->u.u;
        return 0;
    case SV_DOUBLE:
        if (v->u.d == floor(v->u.d) && v->u.d >= -0x1p63 && v->u.d < 0x1p63) {
            *out = (int64_t)v->u.d;
            return 0;
        }
        snprintf(why, n, "%.17g is not a whole number", v->u.d);
        return -1;
    case SV_TEXT: case SV_DECIMAL:
        p = v->u.s.p;
        len = v->u.s.n;
        break;
    case SV_NULL:
        snprintf(why, n, "the value is null");
        return -1;
    case SV_BAD:
        snprintf(why, n, "%.*s", (int)(v->u.s.n > 300 ? 300 : v->u.s.n), v->u.s.p);
        return -1;
    default:
        snprintf(why, n, "the value is not an integer");
        return -1;
    }
    /* [+-]digits, optionally with a fraction of zeros ("86400.00") */
    size_t i = 0, e = len;
    while (i < e && p[i] == ' ')
        i++;
    while (e > i && p[e - 1] == ' ')
        e--;
    size_t k = i + (i < e && (p[i] == '+' || p[i] == '-'));
    size_t d = k;
    while (d < e && p[d] >= '0' && p[d] <= '9')
        d++;
    size_t f = d;
    if (f < e && p[f] == '.')
        for (f++; f < e && p[f] == '0'; f++)
            ;
    if (d == k || f != e || d - i >= sizeof buf) {
        snprintf(why, n, "%s is not a whole number", cqlt_quote(p, len, q, sizeof q));
        return -1;
    }
    memcpy(buf, p + i, d - i);
    buf[d - i] = 0;
    errno = 0;
    long long x = strtoll(buf, NULL, 10);
    if (errno) {
        snprintf(why, n, "%s is beyond the 64-bit integer range", cqlt_quote(p, len, q, sizeof q));
        return -1;
    }
    *out = x;
    return 0;
}

static int is_num_kind(src_kind k)
{
    return k == SV_INT || k == SV_UINT || k == SV_DOUBLE || k == SV_DECIMAL;
}

/* Plain decimal text of an integer or decimal value into buf. */
static const char *num_text(const src_value *v, char *buf, size_t n, size_t *len)
{
    if (v->kind == SV_DECIMAL) {
        *len = v->u.s.n;
        return v->u.s.p;
    }
    int k = v->kind == SV_UINT ? snprintf(buf, n, "%" PRIu64, v->u.u)
                               : snprintf(buf, n, "%" PRId64, v->u.i);
    *len = (size_t)k;
    return buf;
}

static long double to_ld(const src_value *v)
{
    switch (v->kind) {
    case SV_INT: return (long double)v->u.i;
    case SV_UINT: return (long double)v->u.u;
    case SV_DOUBLE: return v->u.d;
    default: {
        char buf[64];
        size_t n = v->u.s.n < 63 ? v->u.s.n : 63;
        memcpy(buf, v->u.s.p, n);
        buf[n] = 0;
        return strtold(buf, NULL);
    }
    }
}

static double dec_to_d(const src_value *v)
{
    char buf[80];
    size_t n = v->u.s.n < 79 ? v->u.s.n : 79;
    memcpy(buf, v->u.s.p, n);
    buf[n] = 0;
    return strtod(buf, NULL);
}

static int num_cmp(const src_value *x, const src_value *y)
{
    if ((x->kind == SV_DOUBLE && y->kind == SV_DECIMAL) ||
        (x->kind == SV_DECIMAL && y->kind == SV_DOUBLE)) {
        /* a decimal next to a double is read as a double (Ratio = 0.1 holds
         * for the double nearest 0.1) */
        double a = x->kind == SV_DOUBLE ? x->u.d : dec_to_d(x);
        double b = y->kind == SV_DOUBLE ? y->u.d : dec_to_d(y);
        return a < b ? -1 : a > b ? 1 : 0;
    }
    if (x->kind == SV_DOUBLE || y->kind == SV_DOUBLE) {
        long double a = to_ld(x), b = to_ld(y);
        return a < b ? -1 : a > b ? 1 : 0;
    }
    if (x->kind == SV_DECIMAL || y->kind == SV_DECIMAL) {
        char b1[32], b2[32];
        size_t n1, n2;
        const char *s1 = num_text(x, b1, sizeof b1, &n1), *s2 = num_text(y, b2, sizeof b2, &n2);
        return map_decimal_cmp(s1, n1, s2, n2);
    }
    if (x->kind == SV_UINT && y->kind == SV_UINT)
        return x->u.u < y->u.u ? -1 : x->u.u > y->u.u;
    if (x->kind == SV_UINT)
        return y->u.i < 0 || x->u.u > (uint64_t)y->u.i ? 1 : x->u.u < (uint64_t)y->u.i ? -1 : 0;
    if (y->kind == SV_UINT)
        return -num_cmp(y, x);
    return x->u.i < y->u.i ? -1 : x->u.i > y->u.i;
}

static int bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? (c < 0 ? -1 : 1) : an < bn ? -1 : an > bn;
}

/* Read text t as a value of kind k (for a comparison with a k). */
static int text_as(const src_value *t, src_kind k, arena *a, src_value *out, char *msg, size_t n)
{
    if (is_num_kind(k)) {
        const char *p;
        size_t len;
        if (map_decimal_normalize(t->u.s.p, t->u.s.n, a, &p, &len)) {
            snprintf(msg, n, "'%.*s' is not a number", (int)(t->u.s.n > 40 ? 40 : t->u.s.n),
                     t->u.s.p);
            return -1;
        }
        out->kind = SV_DECIMAL;
        out->u.s.p = p;
        out->u.s.n = len;
        return 0;
    }
    cql_type_id id;
    switch (k) {
    case SV_TIMESTAMP: id = CQL_T_TIMESTAMP; break;
    case SV_DATE: id = CQL_T_DATE; break;
    case SV_TIME: id = CQL_T_TIME; break;
    case SV_UUID: id = CQL_T_UUID; break;
    case SV_INET: id = CQL_T_INET; break;
    case SV_DURATION: id = CQL_T_DURATION; break;
    default: return 1;  /* compared by text form */
    }
    cql_type ct = {.id = id};
    return map_cast_value(&ct, t, a, out, msg, n);
}

/* Compare x and y (neither null): *res < 0, 0, > 0. */
static int compare(const src_value *x, const src_value *y, arena *a, int *res, char *msg,
                   size_t msgn)
{
    if (is_num_kind(x->kind) && is_num_kind(y->kind)) {
        *res = num_cmp(x, y);
        return 0;
    }
    if (x->kind == SV_BOOL || y->kind == SV_BOOL) {
        int bx, by;
        if (truth(x, &bx) == 0 && truth(y, &by) == 0) {
            *res = bx - by;
            return 0;
        }
    }
    if (x->kind == y->kind) {
        switch (x->kind) {
        case SV_TEXT: case SV_BLOB: case SV_UUID: case SV_INET:
            *res = bytes_cmp(x->u.s.p, x->u.s.n, y->u.s.p, y->u.s.n);
            return 0;
        case SV_TIMESTAMP: case SV_DATE: case SV_TIME:
            *res = x->u.i < y->u.i ? -1 : x->u.i > y->u.i;
            return 0;
        case SV_DURATION:
            *res = x->u.dur.months != y->u.dur.months ? (x->u.dur.months < y->u.dur.months ? -1 : 1)
                 : x->u.dur.days != y->u.dur.days     ? (x->u.dur.days < y->u.dur.days ? -1 : 1)
                 : x->u.dur.nanos < y->u.dur.nanos    ? -1
                                                      : x->u.dur.nanos > y->u.dur.nanos;
            return 0;
        default:
            break;
        }
    }
    if ((x->kind == SV_TIMESTAMP && y->kind == SV_DATE) ||
        (x->kind == SV_DATE && y->kind == SV_TIMESTAMP)) {
        int64_t a1 = x->kind == SV_DATE ? x->u.i * 86400000000LL : x->u.i;
        int64_t b1 = y->kind == SV_DATE ? y->u.i * 86400000000LL : y->u.i;
        *res = a1 < b1 ? -1 : a1 > b1;
        return 0;
    }
    if (x->kind == SV_TEXT || y->kind == SV_TEXT) {
        const src_value *t = x->kind == SV_TEXT ? x : y, *o = t == x ? y : x;
        src_value conv;
        int rc = text_as(t, o->kind, a, &conv, msg, msgn);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            int r;
            if (compare(t == x ? &conv : x, t == y ? &conv : y, a, &r, msg, msgn))
                return -1;
            *res = r;
            return 0;
        }
    }
    const char *p1, *p2;
    size_t n1, n2;
    if (map_text_form(x, a, &p1, &n1, msg, msgn) || map_text_form(y, a, &p2, &n2, msg, msgn))
        return -1;
    *res = bytes_cmp(p1, n1, p2, n2);
    return 0;
}

/* A number for arithmetic: an integer (*is_int) or a double. */
static int arith_num(const src_value *v, int *is_int, int64_t *i, double *d)
{
    switch (v->kind) {
    case SV_INT: *is_int = 1; *i = v->u.i; return 0;
    case SV_BOOL: *is_int = 1; *i = v->u.i; return 0;
    case SV_UINT:
        if (v->u.u > INT64_MAX)
            return -1;
        *is_int = 1;
        *i = (int64_t)v->u.u;
        return 0;
    case SV_DOUBLE: *is_int = 0; *d = v->u.d; return 0;
    case SV_DECIMAL: *is_int = 0; *d = (double)to_ld(v); return 0;
    default: return -1;
    }
}

static int eval_arith(const node *n, const src_value *x, const src_value *y, arena *a,
                      src_value *out, map_error *err)
{
    int ix = 1, iy = 1;
    int64_t a1 = 0, b1 = 0;
    double d1 = 0, d2 = 0;
    char b[80];
    if (arith_num(x, &ix, &a1, &d1))
        return rt_fail(err, n->args[0]->off, "%c needs a number, and the value is %s", n->sub,
                       show(x, a, b, sizeof b));
    if (arith_num(y, &iy, &b1, &d2))
        return rt_fail(err, n->args[1]->off, "%c needs a number, and the value is %s", n->sub,
                       show(y, a, b, sizeof b));
    if (ix && iy) {
        int64_t r = 0;
        int ovf = 0;
        switch (n->sub) {
        case '+': ovf = __builtin_add_overflow(a1, b1, &r); break;
        case '-': ovf = __builtin_sub_overflow(a1, b1, &r); break;
        case '*': ovf = __builtin_mul_overflow(a1, b1, &r); break;
        default:
            if (b1 == 0)
                return rt_fail(err, n->off, "division by zero (%" PRId64 " / 0)", a1);
            if (a1 == INT64_MIN && b1 == -1)
                ovf = 1;
            else
                r = a1 / b1;
        }
        if (ovf)
            return rt_fail(err, n->off, "%" PRId64 " %c %" PRId64 " is beyond the 64-bit integer "
                           "range", a1, n->sub, b1);
        out->kind = SV_INT;
        out->u.i = r;
        return 0;
    }
    if (ix)
        d1 = (double)a1;
    if (iy)
        d2 = (double)b1;
    double r;
    switch (n->sub) {
    case '+': r = d1 + d2; break;
    case '-': r = d1 - d2; break;
    case '*': r = d1 * d2; break;
    default:
        if (d2 == 0)
            return rt_fail(err, n->off, "division by zero");
        r = d1 / d2;
    }
    if (!isfinite(r))
        return rt_fail(err, n->off, "the result is not a finite number");
    out->kind = SV_DOUBLE;
    out->u.d = r;
    return 0;
}

static int eval_concat(const node *n, const src_value *row, arena *a, src_value *out,
                       map_error *err)
{
    const char *p[64];
    size_t len[64], total = 0;
    char msg[300];
    MAP_ASSERT(n->nargs <= 64);
    for (int i = 0; i < n->nargs; i++) {
        src_value v;
        if (map_eval_node(n->args[i], row, a, &v, err))
            return -1;
        if (v.kind == SV_NULL) {
            out->kind = SV_NULL;
            return 0;
        }
        if (map_text_form(&v, a, &p[i], &len[i], msg, sizeof msg))
            return rt_fail(err, n->args[i]->off, "||: %s", msg);
        total += len[i];
    }
    char *s = arena_alloc(a, total + 1);
    if (!s)
        return rt_fail(err, n->off, "out of memory");
    size_t o = 0;
    for (int i = 0; i < n->nargs; i++) {
        if (len[i])
            memcpy(s + o, p[i], len[i]);
        o += len[i];
    }
    s[o] = 0;
    out->kind = SV_TEXT;
    out->u.s.p = s;
    out->u.s.n = o;
    return 0;
}

static int eval_func(const node *n, const src_value *row, arena *a, src_value *out,
                     map_error *err)
{
    char msg[400];
    src_value v;
    msg[0] = 0;
    if (n->sub == F_COALESCE) {
        for (int i = 0; i < n->nargs; i++) {
            if (map_eval_node(n->args[i], row, a, out, err))
                return -1;
            if (out->kind != SV_NULL)
                return 0;
        }
        return 0;
    }
    if (n->sub == F_NAME_UUID) {
        src_value parts[64];
        MAP_ASSERT(n->nargs <= 64);
        for (int i = 0; i < n->nargs; i++) {
            if (map_eval_node(n->args[i], row, a, &parts[i], err))
                return -1;
            if (parts[i].kind == SV_NULL) {
                out->kind = SV_NULL;
                return 0;
            }
        }
        if (map_name_uuid(parts, n->nargs, a, out, msg, sizeof msg))
            return rt_fail(err, n->off, "name_uuid: %s", msg);
        return 0;
    }
    if (n->sub == F_UNIX_TIME) {   /* the seconds since 1970 when the row is read */
        out->kind = SV_INT;
        out->u.i = (int64_t)time(NULL);
        return 0;
    }
    if (map_eval_node(n->args[0], row, a, &v, err))
        return -1;
    if (v.kind == SV_NULL) {
        out->kind = SV_NULL;
        return 0;
    }
    int rc = 0;
    switch ((func_id)n->sub) {
    case F_LOWER:
    case F_UPPER:
    case F_TRIM: {
        const char *p;
        size_t len;
        if (map_text_form(&v, a, &p, &len, msg, sizeof msg)) {
            rc = -1;
            break;
        }
        if (n->sub == F_TRIM) {
            while (len && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\v' ||
                           *p == '\f'))
                p++, len--;
            while (len && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\n' ||
                           p[len - 1] == '\r' || p[len - 1] == '\v' || p[len - 1] == '\f'))
                len--;
            out->kind = SV_TEXT;
            out->u.s.p = p;
            out->u.s.n = len;
            break;
        }
        rc = map_case(p, len, n->sub == F_UPPER, a, out, msg, sizeof msg);
        break;
    }
    case F_CAST:
        rc = map_cast_value(n->cast, &v, a, out, msg, sizeof msg);
        break;
    case F_TO_TIMESTAMP: {
        const char *p;
        size_t len;
        if (v.kind == SV_TIMESTAMP || v.kind == SV_DATE) {  /* already a time: unchanged */
            cql_type ct = {.id = CQL_T_TIMESTAMP};
            rc = map_cast_value(&ct, &v, a, out, msg, sizeof msg);
            break;
        }
        rc = map_text_form(&v, a, &p, &len, msg, sizeof msg);
        if (rc == 0)
            rc = map_to_timestamp(n, p, len, out, msg, sizeof msg);
        break;
    }
    case F_FROM_EPOCH:
        rc = map_from_epoch(&v, n->unit, a, out, msg, sizeof msg);
        break;
    case F_UUID_FROM_BYTES:
        rc = map_uuid_from_bytes(&v, a, out, msg, sizeof msg);
        break;
    case F_JSON_PATH:
        rc = map_json_path(n, &v, a, out, msg, sizeof msg);
        break;
    default:
        MAP_ASSERT(!"function id");
    }
    if (rc)
        return rt_fail(err, n->off, "%s: %s", func_name(n->sub), msg);
    return 0;
}

int map_eval_node(const node *n, const src_value *row, arena *a, src_value *out, map_error *err)
{
    src_value x, y;
    char msg[300];
    switch (n->op) {
    case N_LIT:
        *out = n->lit;
        return 0;
    case N_COL:
        MAP_ASSERT(row != NULL);
        *out = row[n->col];
        return 0;
    case N_IS_NULL:
    case N_IS_NOT_NULL:
        if (map_eval_node(n->args[0], row, a, &x, err))
            return -1;
        set_bool(out, (x.kind == SV_NULL) == (n->op == N_IS_NULL));
        return 0;
    case N_NOT: {
        if (map_eval_node(n->args[0], row, a, &x, err))
            return -1;
        int b;
        if (x.kind == SV_NULL) {
            out->kind = SV_NULL;
            return 0;
        }
        if (truth(&x, &b))
            return rt_fail(err, n->args[0]->off, "not needs true or false, and the value is %s",
                           show(&x, a, msg, 80));
        set_bool(out, !b);
        return 0;
    }
    case N_AND:
    case N_OR: {
        /* SQL's three-valued logic: false and null = false, true or null = true */
        int stop = n->op == N_OR;   /* the value that decides alone */
        int saw_null = 0;
        for (int i = 0; i < 2; i++) {
            if (map_eval_node(n->args[i], row, a, &x, err))
                return -1;
            if (x.kind == SV_NULL) {
                saw_null = 1;
                continue;
            }
            int b;
            if (truth(&x, &b))
                return rt_fail(err, n->args[i]->off, "%s needs true or false, and the value is %s",
                               n->op == N_OR ? "or" : "and", show(&x, a, msg, 80));
            if (b == stop) {
                set_bool(out, stop);
                return 0;
            }
        }
        if (saw_null)
            out->kind = SV_NULL;
        else
            set_bool(out, !stop);
        return 0;
    }
    case N_CMP: {
        if (map_eval_node(n->args[0], row, a, &x, err) ||
            map_eval_node(n->args[1], row, a, &y, err))
            return -1;
        if (x.kind == SV_NULL || y.kind == SV_NULL) {
            out->kind = SV_NULL;
            return 0;
        }
        int r;
        if (compare(&x, &y, a, &r, msg, sizeof msg))
            return rt_fail(err, n->off, "cannot compare %s", msg);
        int b = 0;
        switch ((cmp_op)n->sub) {
        case C_EQ: b = r == 0; break;
        case C_NE: b = r != 0; break;
        case C_LT: b = r < 0; break;
        case C_LE: b = r <= 0; break;
        case C_GT: b = r > 0; break;
        case C_GE: b = r >= 0; break;
        }
        set_bool(out, b);
        return 0;
    }
    case N_CONCAT:
        return eval_concat(n, row, a, out, err);
    case N_ARITH:
        if (map_eval_node(n->args[0], row, a, &x, err) ||
            map_eval_node(n->args[1], row, a, &y, err))
            return -1;
        if (x.kind == SV_NULL || y.kind == SV_NULL) {
            out->kind = SV_NULL;
            return 0;
        }
        return eval_arith(n, &x, &y, a, out, err);
    case N_NEG: {
        if (map_eval_node(n->args[0], row, a, &x, err))
            return -1;
        int is_int = 1;
        int64_t i = 0;
        double d = 0;
        if (x.kind == SV_NULL) {
            out->kind = SV_NULL;
            return 0;
        }
        if (arith_num(&x, &is_int, &i, &d))
            return rt_fail(err, n->args[0]->off, "- needs a number, and the value is %s",
                           show(&x, a, msg, 80));
        if (is_int && i == INT64_MIN)
            return rt_fail(err, n->off, "-(%" PRId64 ") is beyond the 64-bit integer range", i);
        if (is_int) {
            out->kind = SV_INT;
            out->u.i = -i;
        } else {
            out->kind = SV_DOUBLE;
            out->u.d = -d;
        }
        return 0;
    }
    case N_FUNC:
        return eval_func(n, row, a, out, err);
    }
    MAP_ASSERT(!"node op");
    return -1;
}
