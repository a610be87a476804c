/* Mapping expressions: the functions (text forms, cast, case mapping,
 * to_timestamp formats and zones, from_epoch, uuids, json_path) and exact
 * decimal text helpers. Results go into the caller's arena; messages are
 * sentences without the function's name (the caller adds it).
 */
#include <ctype.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wctype.h>

/* SHA1_Init/Update/Final: deprecated in OpenSSL 3 but kept, and unlike the
 * one-shot SHA1() (EVP_Q_digest: a fetch and a context per call) they
 * allocate nothing, which name_uuid needs per row. */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>

#include "cql/types_int.h"
#include "load/loader.h"
#include "map/expr_int.h"
#include "util/tz.h"

/* ---- text forms ------------------------------------------------------------- */

int map_text_form(const src_value *v, arena *a, const char **p, size_t *n, char *msg, size_t msgn)
{
    switch (v->kind) {
    case SV_TEXT:
    case SV_DECIMAL:
        *p = v->u.s.n ? v->u.s.p : "";
        *n = v->u.s.n;
        return 0;
    case SV_NULL:
        *p = "";
        *n = 0;
        return 0;
    case SV_BAD:
        snprintf(msg, msgn, "%.*s", (int)(v->u.s.n > 300 ? 300 : v->u.s.n), v->u.s.p);
        return -1;
    case SV_BLOB: {
        static const char digits[] = "0123456789abcdef";
        char *s = arena_alloc(a, 2 * v->u.s.n + 3);
        if (!s)
            goto nomem;
        s[0] = '0';
        s[1] = 'x';
        for (size_t k = 0; k < v->u.s.n; k++) {
            unsigned char c = (unsigned char)v->u.s.p[k];
            s[2 + 2 * k] = digits[c >> 4];
            s[3 + 2 * k] = digits[c & 15];
        }
        *p = s;
        *n = 2 + 2 * v->u.s.n;
        return 0;
    }
    case SV_JSON:
    case SV_LIST: {
        /* the JSON text (jansson allocates while dumping; copied to the arena) */
        cs_buf b;
        cs_buf_init(&b, SIZE_MAX);
        int rc = load_value_text(v, &b);
        char *s = rc ? NULL : arena_alloc(a, b.len + 1);
        if (s) {
            if (b.len)
                memcpy(s, b.data, b.len);
            *p = s;
            *n = b.len;
        }
        cs_buf_release(&b);
        if (!s)
            goto nomem;
        return 0;
    }
    default: {
        /* scalars: at most ~100 bytes of text, formatted straight into the arena */
        enum { CAP = 128 };
        char *s = arena_alloc(a, CAP);
        if (!s)
            goto nomem;
        cs_buf b = {.data = (uint8_t *)s, .len = 0, .cap = CAP, .max = CAP};
        if (load_value_text(v, &b)) {
            snprintf(msg, msgn, "the value has no text form");
            return -1;
        }
        *p = s;
        *n = b.len;
        return 0;
    }
    }
nomem:
    snprintf(msg, msgn, "out of memory");
    return -1;
}

static const char *quote(const char *p, size_t n, char *buf, size_t size)
{
    return cqlt_quote(p, n, buf, size);
}

/* ---- decimals ------------------------------------------------------------------ */

int map_decimal_normalize(const char *s, size_t n, arena *a, const char **out, size_t *outn)
{
    size_t i = 0;
    while (i < n && s[i] == ' ')
        i++;
    while (n > i && s[n - 1] == ' ')
        n--;
    int neg = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    size_t int_start = i;
    while (i < n && isdigit((unsigned char)s[i]))
        i++;
    size_t int_end = i, frac_start = i, frac_end = i;
    if (i < n && s[i] == '.') {
        frac_start = ++i;
        while (i < n && isdigit((unsigned char)s[i]))
            i++;
        frac_end = i;
    }
    if (int_end == int_start && frac_end == frac_start)
        return -1;
    long exp = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        int eneg = 0;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        if (i == n || !isdigit((unsigned char)s[i]))
            return -1;
        while (i < n && isdigit((unsigned char)s[i])) {
            exp = exp * 10 + (s[i++] - '0');
            if (exp > 1000)
                return -1;
        }
        if (eneg)
            exp = -exp;
    }
    if (i != n)
        return -1;
    size_t nint = int_end - int_start, nfrac = frac_end - frac_start;
    size_t nd = nint + nfrac;
    if (nd > CQLT_MAX_DIGITS)
        return -1;
    /* all digits D = int . frac; the point sits after pp digits */
    char *buf = arena_alloc(a, nd + (size_t)(exp < 0 ? -exp : exp) + 4);
    char *d = arena_alloc(a, nd + 1);
    if (!buf || !d)
        return -1;
    memcpy(d, s + int_start, nint);
    memcpy(d + nint, s + frac_start, nfrac);
    long pp = (long)nint + exp;
    size_t lead = 0;
    while (lead < nd && d[lead] == '0')
        lead++;
    size_t o = 0;
    if (lead == nd) {   /* zero */
        buf[o++] = '0';
        buf[o] = 0;
        *out = buf;
        *outn = o;
        return 0;
    }
    size_t last = nd;   /* drop trailing zeros after the point */
    while (last > 0 && d[last - 1] == '0' && (long)last > pp)
        last--;
    if (neg)
        buf[o++] = '-';
    if (pp <= (long)lead) {
        buf[o++] = '0';
    } else {
        for (long k = (long)lead; k < pp; k++)
            buf[o++] = k < (long)nd ? d[k] : '0';
    }
    if ((long)last > pp) {
        buf[o++] = '.';
        for (long k = pp; k < (long)last; k++)
            buf[o++] = k < 0 ? '0' : d[k];
    }
    buf[o] = 0;
    *out = buf;
    *outn = o;
    return 0;
}

int map_decimal_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    if (memchr(a, 'N', an) || memchr(a, 'I', an) || memchr(b, 'N', bn) || memchr(b, 'I', bn)) {
        char x[64], y[64];
        snprintf(x, sizeof x, "%.*s", (int)(an < 63 ? an : 63), a);
        snprintf(y, sizeof y, "%.*s", (int)(bn < 63 ? bn : 63), b);
        long double p = strtold(x, NULL), q = strtold(y, NULL);
        return p < q ? -1 : p > q;
    }
    int na = an && a[0] == '-', nb = bn && b[0] == '-';
    const char *pa = a + (an && (a[0] == '-' || a[0] == '+'));
    const char *pb = b + (bn && (b[0] == '-' || b[0] == '+'));
    const char *ea = a + an, *eb = b + bn;
    while (pa < ea && *pa == '0')
        pa++;
    while (pb < eb && *pb == '0')
        pb++;
    const char *da = memchr(pa, '.', (size_t)(ea - pa)), *db = memchr(pb, '.', (size_t)(eb - pb));
    size_t ia = (size_t)((da ? da : ea) - pa), ib = (size_t)((db ? db : eb) - pb);
    int za = 1, zb = 1;
    for (const char *q = pa; q < ea; q++)
        if (*q >= '1' && *q <= '9')
            za = 0;
    for (const char *q = pb; q < eb; q++)
        if (*q >= '1' && *q <= '9')
            zb = 0;
    if (za)
        na = 0;
    if (zb)
        nb = 0;
    if (za && zb)
        return 0;
    if (na != nb)
        return na ? -1 : 1;
    int sign = na ? -1 : 1;
    if (za || zb)
        return za ? -sign : sign;
    if (ia != ib)
        return ia < ib ? -sign : sign;
    int c = memcmp(pa, pb, ia);
    if (c)
        return c < 0 ? -sign : sign;
    const char *fa = da ? da + 1 : ea, *fb = db ? db + 1 : eb;
    while (fa < ea || fb < eb) {
        char x = fa < ea ? *fa++ : '0', y = fb < eb ? *fb++ : '0';
        if (x != y)
            return x < y ? -sign : sign;
    }
    return 0;
}

/* ---- cast ---------------------------------------------------------------------- */

static int hex_val(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Hex text (optional 0x, optional '-' between digit pairs) -> bytes in a. */
static int hex_bytes(const char *p, size_t n, int dashes, arena *a, char **out, size_t *outn)
{
    if (n >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        p += 2, n -= 2;
    char *b = arena_alloc(a, n / 2 + 1);
    if (!b)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (dashes && p[i] == '-') {
            i++;
            continue;
        }
        if (i + 1 >= n)
            return -1;
        int h = hex_val((unsigned char)p[i]), l = hex_val((unsigned char)p[i + 1]);
        if (h < 0 || l < 0)
            return -1;
        b[o++] = (char)(h << 4 | l);
        i += 2;
    }
    *out = b;
    *outn = o;
    return 0;
}

static int set_bytes(src_value *out, src_kind k, arena *a, const void *p, size_t n)
{
    char *s = arena_alloc(a, n ? n : 1);
    if (!s)
        return -1;
    memcpy(s, p, n);
    out->kind = k;
    out->u.s.p = s;
    out->u.s.n = n;
    return 0;
}

int map_cast_value(const cql_type *t, const src_value *v, arena *a, src_value *out, char *msg,
                   size_t msgn)
{
    const char *tn = cql_type_name(t->id);
    char q[64];
    if (v->kind == SV_NULL) {
        out->kind = SV_NULL;
        return 0;
    }
    if (v->kind == SV_BAD) {
        snprintf(msg, msgn, "%.*s", (int)(v->u.s.n > 300 ? 300 : v->u.s.n), v->u.s.p);
        return -1;
    }
    const char *p;
    size_t n;
    switch (t->id) {
    case CQL_T_ASCII:
    case CQL_T_VARCHAR:
        if (map_text_form(v, a, &p, &n, msg, msgn))
            return -1;
        if (t->id == CQL_T_ASCII)
            for (size_t i = 0; i < n; i++)
                if ((unsigned char)p[i] >= 0x80) {
                    snprintf(msg, msgn, "cannot cast %s to ascii: it has non-ASCII characters",
                             quote(p, n, q, sizeof q));
                    return -1;
                }
        out->kind = SV_TEXT;
        out->u.s.p = p;
        out->u.s.n = n;
        return 0;
    case CQL_T_BLOB:
        if (v->kind == SV_BLOB || v->kind == SV_UUID || v->kind == SV_INET) {
            *out = *v;
            out->kind = SV_BLOB;
            return 0;
        }
        if (v->kind == SV_TEXT) {
            char *b;
            size_t bn;
            if (hex_bytes(v->u.s.p, v->u.s.n, 0, a, &b, &bn)) {
                snprintf(msg, msgn, "cannot cast %s to blob: a blob is written as hex digits "
                         "(0x0aff)", quote(v->u.s.p, v->u.s.n, q, sizeof q));
                return -1;
            }
            out->kind = SV_BLOB;
            out->u.s.p = b;
            out->u.s.n = bn;
            return 0;
        }
        break;
    case CQL_T_DECIMAL:
    case CQL_T_VARINT: {
        if (v->kind == SV_BOOL)
            break;
        if (map_text_form(v, a, &p, &n, msg, msgn))
            return -1;
        const char *d;
        size_t dn;
        if (map_decimal_normalize(p, n, a, &d, &dn)) {
            snprintf(msg, msgn, "cannot cast %s to %s: it is not a number",
                     quote(p, n, q, sizeof q), tn);
            return -1;
        }
        if (t->id == CQL_T_VARINT && memchr(d, '.', dn)) {
            snprintf(msg, msgn, "cannot cast %s to varint: it has a fraction",
                     quote(p, n, q, sizeof q));
            return -1;
        }
        out->kind = SV_DECIMAL;
        out->u.s.p = d;
        out->u.s.n = dn;
        return 0;
    }
    case CQL_T_BOOLEAN:
        if (v->kind == SV_BOOL) {
            *out = *v;
            return 0;
        }
        break;
    case CQL_T_TINYINT: case CQL_T_SMALLINT: case CQL_T_INT: case CQL_T_BIGINT:
    case CQL_T_COUNTER:
        if (v->kind == SV_BOOL) {
            out->kind = SV_INT;
            out->u.i = v->u.i ? 1 : 0;
            return 0;
        }
        break;
    case CQL_T_DOUBLE:
    case CQL_T_FLOAT:
        if (v->kind == SV_INT || v->kind == SV_UINT || v->kind == SV_DOUBLE) {
            double d = v->kind == SV_INT ? (double)v->u.i
                     : v->kind == SV_UINT ? (double)v->u.u : v->u.d;
            out->kind = SV_DOUBLE;
            out->u.d = t->id == CQL_T_FLOAT ? (double)(float)d : d;
            return 0;
        }
        break;
    case CQL_T_TIMESTAMP:
        if (v->kind == SV_TIMESTAMP) {
            *out = *v;
            return 0;
        }
        if (v->kind == SV_DATE) {
            out->kind = SV_TIMESTAMP;
            if (__builtin_mul_overflow(v->u.i, 86400000000LL, &out->u.i)) {
                snprintf(msg, msgn, "cannot cast the date to timestamp: out of range");
                return -1;
            }
            return 0;
        }
        break;
    case CQL_T_DATE:
        if (v->kind == SV_DATE) {
            *out = *v;
            return 0;
        }
        if (v->kind == SV_TIMESTAMP && v->u.i % 86400000000LL == 0) {
            out->kind = SV_DATE;
            out->u.i = v->u.i / 86400000000LL;
            return 0;
        }
        break;
    case CQL_T_TIME:
        if (v->kind == SV_TIME) {
            *out = *v;
            return 0;
        }
        break;
    case CQL_T_DURATION:
        if (v->kind == SV_DURATION) {
            *out = *v;
            return 0;
        }
        if (v->kind == SV_TIME) {
            out->kind = SV_DURATION;
            out->u.dur.months = out->u.dur.days = 0;
            out->u.dur.nanos = v->u.i;
            return 0;
        }
        break;
    case CQL_T_UUID:
    case CQL_T_TIMEUUID:
        if ((v->kind == SV_UUID || v->kind == SV_BLOB) && v->u.s.n == 16) {
            if (t->id == CQL_T_TIMEUUID && (((const uint8_t *)v->u.s.p)[6] >> 4) != 1) {
                snprintf(msg, msgn, "cannot cast a version %d uuid to timeuuid (version 1)",
                         ((const uint8_t *)v->u.s.p)[6] >> 4);
                return -1;
            }
            *out = *v;
            out->kind = SV_UUID;
            return 0;
        }
        break;
    case CQL_T_INET:
        if (v->kind == SV_INET) {
            *out = *v;
            return 0;
        }
        break;
    default:
        snprintf(msg, msgn, "cannot cast to %s", tn ? tn : "that type");
        return -1;
    }
    /* the value's text form, read by the type's own text rules */
    if (v->kind == SV_BLOB || v->kind == SV_LIST || v->kind == SV_JSON) {
        snprintf(msg, msgn, "cannot cast a %s to %s", v->kind == SV_BLOB ? "blob" : "list or JSON",
                 tn);
        return -1;
    }
    if (map_text_form(v, a, &p, &n, msg, msgn))
        return -1;
    uint8_t mem[64];
    cs_buf b = {.data = mem, .len = 0, .cap = sizeof mem, .max = sizeof mem};
    cql_error ce;
    if (cql_value_encode_text(t, p, n, &b, &ce)) {
        snprintf(msg, msgn, "cannot cast %s to %s: %s", quote(p, n, q, sizeof q), tn, ce.msg);
        return -1;
    }
    int32_t len = (int32_t)cs_be32(mem);
    const uint8_t *x = mem + 4;
    if (len < 0) {
        out->kind = SV_NULL;
        return 0;
    }
    switch (t->id) {
    case CQL_T_BOOLEAN: out->kind = SV_BOOL; out->u.i = x[0] != 0; return 0;
    case CQL_T_TINYINT: out->kind = SV_INT; out->u.i = (int8_t)x[0]; return 0;
    case CQL_T_SMALLINT: out->kind = SV_INT; out->u.i = (int16_t)cs_be16(x); return 0;
    case CQL_T_INT: out->kind = SV_INT; out->u.i = (int32_t)cs_be32(x); return 0;
    case CQL_T_BIGINT:
    case CQL_T_COUNTER: out->kind = SV_INT; out->u.i = (int64_t)cs_be64(x); return 0;
    case CQL_T_DOUBLE: {
        uint64_t u = cs_be64(x);
        out->kind = SV_DOUBLE;
        memcpy(&out->u.d, &u, 8);
        return 0;
    }
    case CQL_T_FLOAT: {
        uint32_t u = cs_be32(x);
        float f;
        memcpy(&f, &u, 4);
        out->kind = SV_DOUBLE;
        out->u.d = f;
        return 0;
    }
    case CQL_T_TIMESTAMP:
        out->kind = SV_TIMESTAMP;
        if (__builtin_mul_overflow((int64_t)cs_be64(x), (int64_t)1000, &out->u.i)) {
            snprintf(msg, msgn, "cannot cast %s to timestamp: out of range",
                     quote(p, n, q, sizeof q));
            return -1;
        }
        return 0;
    case CQL_T_DATE:
        out->kind = SV_DATE;
        out->u.i = (int64_t)cs_be32(x) - ((int64_t)1 << 31);
        return 0;
    case CQL_T_TIME: out->kind = SV_TIME; out->u.i = (int64_t)cs_be64(x); return 0;
    case CQL_T_DURATION:
        out->kind = SV_DURATION;
        if (cqlt_duration_decode(x, (size_t)len, &out->u.dur.months, &out->u.dur.days,
                                 &out->u.dur.nanos)) {
            snprintf(msg, msgn, "cannot cast %s to duration", quote(p, n, q, sizeof q));
            return -1;
        }
        return 0;
    case CQL_T_UUID: case CQL_T_TIMEUUID:
    case CQL_T_INET:
        if (set_bytes(out, t->id == CQL_T_INET ? SV_INET : SV_UUID, a, x, (size_t)len)) {
            snprintf(msg, msgn, "out of memory");
            return -1;
        }
        return 0;
    default:
        snprintf(msg, msgn, "cannot cast to %s", tn);
        return -1;
    }
}

/* ---- lower / upper --------------------------------------------------------------- */

static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;
static locale_t utf8_locale;    /* (locale_t)0 if the C library has no C.UTF-8 */

static void utf8_locale_init(void)
{
    utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

/* Decode one UTF-8 sequence at p (n bytes left): its length, or 0 if invalid. */
static size_t utf8_next(const unsigned char *p, size_t n, uint32_t *cp)
{
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    size_t len = p[0] >= 0xf0 && p[0] < 0xf5 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
    if (!len || len > n)
        return 0;
    uint32_t c = p[0] & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (p[i] & 0x3f);
    }
    if ((len == 3 && (c < 0x800 || (c >= 0xd800 && c < 0xe000))) ||
        (len == 4 && (c < 0x10000 || c > 0x10ffff)))
        return 0;
    *cp = c;
    return len;
}

int map_case(const char *p, size_t n, int upper, arena *a, src_value *out, char *msg, size_t msgn)
{
    char *s = arena_alloc(a, 2 * n + 1);
    if (!s) {
        snprintf(msg, msgn, "out of memory");
        return -1;
    }
    pthread_once(&utf8_once, utf8_locale_init);
    size_t o = 0;
    const unsigned char *u = (const unsigned char *)p;
    for (size_t i = 0; i < n;) {
        if (u[i] < 0x80) {
            s[o++] = (char)(upper ? toupper(u[i]) : tolower(u[i]));
            i++;
            continue;
        }
        uint32_t cp;
        size_t len = utf8_next(u + i, n - i, &cp);
        if (!len) {     /* not UTF-8: kept as it is */
            s[o++] = (char)u[i++];
            continue;
        }
        uint32_t m = cp;
        if (utf8_locale)
            m = (uint32_t)(upper ? towupper_l((wint_t)cp, utf8_locale)
                                 : towlower_l((wint_t)cp, utf8_locale));
        if (m == 0 || m > 0x10ffff || (m >= 0xd800 && m < 0xe000))
            m = cp;
        uint8_t enc[4];
        size_t el = utf8_encode(m, enc);
        if (o + el > 2 * n) {   /* cannot happen with simple case mappings; be safe */
            m = cp;
            el = utf8_encode(m, enc);
        }
        memcpy(s + o, enc, el);
        o += el;
        i += len;
    }
    s[o] = 0;
    out->kind = SV_TEXT;
    out->u.s.p = s;
    out->u.s.n = o;
    return 0;
}

/* ---- to_timestamp --------------------------------------------------------------- */

static const char *const month_names[] = {"january", "february", "march", "april", "may",
                                          "june", "july", "august", "september", "october",
                                          "november", "december"};
static const char *const day_names[] = {"monday", "tuesday", "wednesday", "thursday", "friday",
                                        "saturday", "sunday"};

int map_compile_ts_format(node *n, arena *a, const char *fmt, size_t len, int *at, char *msg,
                          size_t msgn)
{
    ts_item *items = arena_alloc(a, (len + 1) * sizeof *items);
    char *lits = arena_alloc(a, len + 1);
    if (!items || !lits) {
        snprintf(msg, msgn, "out of memory");
        return -1;
    }
    int ni = 0;
    size_t lo = 0;
    int have_y = 0, have_h12 = 0, have_a = 0;
    for (size_t i = 0; i < len;) {
        char c = fmt[i];
        if (c == '\'') {
            /* quoted literal text; '' is a quote */
            size_t j = i + 1;
            size_t start = lo;
            if (j < len && fmt[j] == '\'') {
                lits[lo++] = '\'';
                j++;
            } else {
                for (;;) {
                    if (j >= len) {
                        *at = (int)i;
                        snprintf(msg, msgn, "the quoted text in the format has no closing quote");
                        return -1;
                    }
                    if (fmt[j] == '\'') {
                        if (j + 1 < len && fmt[j + 1] == '\'') {
                            lits[lo++] = '\'';
                            j += 2;
                            continue;
                        }
                        j++;
                        break;
                    }
                    lits[lo++] = fmt[j++];
                }
            }
            if (lo > start)
                items[ni++] =
                    (ts_item){.kind = 'L', .lit = lits + start, .litn = (int)(lo - start)};
            i = j;
            continue;
        }
        if (isalpha((unsigned char)c) && c != 'T') {
            size_t j = i;
            while (j < len && fmt[j] == c)
                j++;
            int w = (int)(j - i);
            char k = c == 'u' ? 'y' : c == 'Z' || c == 'x' ? 'X' : c;
            const char *bad = NULL;
            switch (k) {
            case 'y':
                if (w == 2)
                    bad = "two-digit years (yy) are ambiguous; write yyyy";
                else if (w == 3 || w > 4)
                    bad = "write the year as yyyy (4 digits) or y (any number of digits)";
                have_y = 1;
                break;
            case 'M':
                if (w > 4)
                    bad = "write the month as M, MM, MMM (Jan) or MMMM (January)";
                break;
            case 'd': case 'H': case 'h': case 'm': case 's':
                if (w > 2)
                    bad = "this field has at most 2 digits";
                if (k == 'h')
                    have_h12 = 1;
                break;
            case 'S': if (w > 9) bad = "at most 9 fraction digits (SSSSSSSSS)"; break;
            case 'a': have_a = 1; break;
            case 'X': if (w > 3) bad = "an offset is X (+01), XX (+0130) or XXX (+01:30)"; break;
            case 'E': break;
            default:
                *at = (int)i;
                snprintf(msg, msgn, "'%c' is not a format letter to_timestamp knows; the letters "
                         "are yyyy MM dd HH mm ss SSS (and M MMM MMMM d H h a E X), and other "
                         "text goes in single quotes ('T')", c);
                return -1;
            }
            if (bad) {
                *at = (int)i;
                snprintf(msg, msgn, "%.*s: %s", w, fmt + i, bad);
                return -1;
            }
            items[ni++] = (ts_item){.kind = k, .width = w};
            i = j;
            continue;
        }
        /* any other character (and an unquoted T) stands for itself */
        if (ni > 0 && items[ni - 1].kind == 'L' &&
            items[ni - 1].lit + items[ni - 1].litn == lits + lo) {
            lits[lo++] = c;
            items[ni - 1].litn++;
        } else {
            lits[lo] = c;
            items[ni++] = (ts_item){.kind = 'L', .lit = lits + lo, .litn = 1};
            lo++;
        }
        i++;
    }
    if (!have_y) {
        *at = 0;
        snprintf(msg, msgn, "the format has no year (yyyy)");
        return -1;
    }
    if (have_h12 != have_a) {
        *at = 0;
        snprintf(msg, msgn, have_a ? "the format has AM/PM (a) but no 12-hour field (hh)"
                                   : "the format has a 12-hour field (hh) but no AM/PM (a); "
                                     "use HH for 0-23 hours");
        return -1;
    }
    char *ft = arena_strndup(a, fmt, len);
    if (!ft) {
        snprintf(msg, msgn, "out of memory");
        return -1;
    }
    n->items = items;
    n->nitems = ni;
    n->fmt_text = ft;
    return 0;
}

/* An offset [+-]HH[[:]MM] at p (n bytes): seconds east, or -1 on a bad one;
 * *used gets the bytes read. */
static int parse_offset(const char *p, size_t n, size_t *used, int *secs)
{
    if (n < 3 || (p[0] != '+' && p[0] != '-') || !isdigit((unsigned char)p[1]) ||
        !isdigit((unsigned char)p[2]))
        return -1;
    int h = (p[1] - '0') * 10 + (p[2] - '0'), m = 0;
    size_t i = 3;
    if (i < n && p[i] == ':')
        i++;
    if (i + 1 < n + 0 && isdigit((unsigned char)p[i]) && isdigit((unsigned char)p[i + 1])) {
        m = (p[i] - '0') * 10 + (p[i + 1] - '0');
        i += 2;
    } else if (i > 3) {
        return -1;     /* "+02:" */
    }
    if (h > 18 || m > 59 || (h == 18 && m))
        return -1;
    *secs = (h * 3600 + m * 60) * (p[0] == '-' ? -1 : 1);
    *used = i;
    return 0;
}

int map_compile_zone(node *n, const char *zone, size_t len, char *msg, size_t msgn)
{
    if ((len == 3 && (!strncasecmp(zone, "UTC", 3) || !strncasecmp(zone, "GMT", 3))) ||
        (len == 1 && (zone[0] == 'Z' || zone[0] == 'z'))) {
        n->zone_s = 0;
        return 0;
    }
    size_t used = 0;
    int secs;
    if (parse_offset(zone, len, &used, &secs) == 0 && used == len) {
        n->zone_s = secs;
        return 0;
    }
    char name[200], why[400];
    snprintf(name, sizeof name, "%.*s", (int)(len < 199 ? len : 199), zone);
    if (len < 199 && (n->tz = cs_tz_open(name, why, sizeof why)) != NULL) {
        n->zone_s = 0;
        return 0;
    }
    snprintf(msg, msgn, "%s (to_timestamp takes UTC, Z, an offset such as +02:00 or -05:30, or "
             "a zone name)", len < 199 ? why : "the time zone is too long");
    return -1;
}

static const char *item_desc(const ts_item *it, char *buf, size_t n)
{
    switch (it->kind) {
    case 'y': return it->width == 4 ? "a 4-digit year (yyyy)" : "a year (y)";
    case 'M':
        return it->width >= 3 ? "a month name (MMM)"
             : it->width == 2 ? "a 2-digit month (MM)" : "a month (M)";
    case 'd': return it->width == 2 ? "a 2-digit day (dd)" : "a day (d)";
    case 'H': return it->width == 2 ? "2-digit hours (HH)" : "hours (H)";
    case 'h': return it->width == 2 ? "2-digit hours (hh)" : "hours (h)";
    case 'm': return it->width == 2 ? "2-digit minutes (mm)" : "minutes (m)";
    case 's': return it->width == 2 ? "2-digit seconds (ss)" : "seconds (s)";
    case 'S':
        snprintf(buf, n, "%d fraction digit%s (%.*s)", it->width, it->width > 1 ? "s" : "",
                 it->width, "SSSSSSSSS");
        return buf;
    case 'a': return "AM or PM (a)";
    case 'X': return "a zone offset such as Z or +02:00 (X)";
    case 'E': return "a day name (E)";
    default: snprintf(buf, n, "'%.*s'", it->litn > 30 ? 30 : it->litn, it->lit); return buf;
    }
}

/* Match a name from list (full, or its first 3 letters) at p; index or -1. */
static int match_name(const char *p, size_t n, const char *const *list, int count, size_t *used)
{
    for (int i = 0; i < count; i++) {
        size_t fl = strlen(list[i]);
        if (n >= fl && !strncasecmp(p, list[i], fl)) {
            *used = fl;
            return i;
        }
    }
    for (int i = 0; i < count; i++)
        if (n >= 3 && !strncasecmp(p, list[i], 3)) {
            *used = 3;
            return i;
        }
    return -1;
}

int map_to_timestamp(const node *nd, const char *p, size_t len, src_value *out, char *msg,
                     size_t msgn)
{
    int64_t year = 1970;
    int month = 1, day = 1, hour = 0, minute = 0, second = 0, pm = -1, zone = nd->zone_s;
    int own_zone = 0;   /* the text gives its zone */
    int64_t frac_us = 0;
    size_t i = 0;
    char qb[64], db[64];
    for (int k = 0; k < nd->nitems; k++) {
        const ts_item *it = &nd->items[k];
        size_t rest = len - i;
        const char *s = p + i;
        int fail = 0;
        switch (it->kind) {
        case 'L':
            if (rest < (size_t)it->litn || memcmp(s, it->lit, (size_t)it->litn))
                fail = 1;
            else
                i += (size_t)it->litn;
            break;
        case 'M':
            if (it->width >= 3) {
                size_t used;
                int m = match_name(s, rest, month_names, 12, &used);
                if (m < 0)
                    fail = 1;
                else
                    month = m + 1, i += used;
                break;
            }
            /* fall through */
        case 'y': case 'd': case 'H': case 'h': case 'm': case 's': case 'S': {
            int minw = it->width, maxw = it->width;
            if (it->kind != 'S' && it->width == 1)
                minw = 1, maxw = it->kind == 'y' ? 9 : 2;
            size_t j = 0;
            int64_t v = 0;
            while (j < rest && (int)j < maxw && isdigit((unsigned char)s[j]))
                v = v * 10 + (s[j++] - '0');
            if ((int)j < minw) {
                fail = 1;
                break;
            }
            i += j;
            switch (it->kind) {
            case 'y': year = v; break;
            case 'M': month = (int)v; break;
            case 'd': day = (int)v; break;
            case 'H': case 'h': hour = (int)v; break;
            case 'm': minute = (int)v; break;
            case 's': second = (int)v; break;
            default: {
                int w = it->width;
                int64_t f = v;
                if (w > 6) {
                    int64_t div = 1;
                    for (int z = 6; z < w; z++)
                        div *= 10;
                    if (f % div) {
                        snprintf(msg, msgn, "'%.*s' has digits below the microsecond, which a "
                                 "timestamp cannot keep", (int)(len > 60 ? 60 : len), p);
                        return -1;
                    }
                    f /= div;
                } else {
                    for (int z = w; z < 6; z++)
                        f *= 10;
                }
                frac_us = f;
            }
            }
            break;
        }
        case 'a':
            if (rest >= 2 && (!strncasecmp(s, "AM", 2) || !strncasecmp(s, "PM", 2)))
                pm = toupper((unsigned char)s[0]) == 'P', i += 2;
            else
                fail = 1;
            break;
        case 'E': {
            size_t used;
            if (match_name(s, rest, day_names, 7, &used) < 0)
                fail = 1;
            else
                i += used;
            break;
        }
        case 'X': {
            size_t used;
            if (rest >= 1 && (s[0] == 'Z' || s[0] == 'z'))
                zone = 0, i += 1, own_zone = 1;
            else if (parse_offset(s, rest, &used, &zone) == 0)
                i += used, own_zone = 1;
            else
                fail = 1;
            break;
        }
        }
        if (fail) {
            snprintf(msg, msgn, "%s does not match the format '%s': expected %s at character %zu",
                     quote(p, len, qb, sizeof qb), nd->fmt_text, item_desc(it, db, sizeof db),
                     i + 1);
            return -1;
        }
    }
    if (i != len) {
        snprintf(msg, msgn, "%s does not match the format '%s': unexpected text at character %zu "
                 "after the format's end", quote(p, len, qb, sizeof qb), nd->fmt_text, i + 1);
        return -1;
    }
    const char *bad = NULL;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (pm >= 0) {
        if (hour < 1 || hour > 12)
            bad = "the hour is not 1..12";
        else
            hour = hour % 12 + (pm ? 12 : 0);
    }
    if (month < 1 || month > 12)
        bad = "the month is not 1..12";
    else if (day < 1 || day > mdays[month - 1] + (month == 2 && leap))
        bad = "the day is not in the month";
    else if (hour > 23)
        bad = "the hour is not 0..23";
    else if (minute > 59)
        bad = "the minute is not 0..59";
    else if (second > 59)
        bad = "the second is not 0..59";
    if (bad) {
        snprintf(msg, msgn, "%s is not a valid time: %s", quote(p, len, qb, sizeof qb), bad);
        return -1;
    }
    int64_t days = cqlt_days_from_civil(year, (unsigned)month, (unsigned)day), secs, us;
    if (nd->tz && !own_zone && days > -INT64_C(106751991) && days < INT64_C(106751991))
        /* the zone's offset at that wall-clock time */
        zone = (int)(days * 86400 + hour * 3600 + minute * 60 + second -
                     cs_tz_to_utc(nd->tz, days * 86400 + hour * 3600 + minute * 60 + second));
    if (__builtin_mul_overflow(days, (int64_t)86400, &secs) ||
        __builtin_add_overflow(secs, (int64_t)(hour * 3600 + minute * 60 + second - zone), &secs) ||
        __builtin_mul_overflow(secs, (int64_t)1000000, &us) ||
        __builtin_add_overflow(us, frac_us, &us)) {
        snprintf(msg, msgn, "%s is beyond the range of a timestamp", quote(p, len, qb, sizeof qb));
        return -1;
    }
    out->kind = SV_TIMESTAMP;
    out->u.i = us;
    return 0;
}

/* ---- from_epoch ------------------------------------------------------------------ */

int map_from_epoch(const src_value *v, int unit, arena *a, src_value *out, char *msg, size_t msgn)
{
    int64_t per = 1000000 / unit;  /* µs per unit */
    const char *uname = unit == 1 ? "seconds" : unit == 1000 ? "milliseconds" : "microseconds";
    char q[64];
    if (v->kind == SV_INT || (v->kind == SV_UINT && v->u.u <= INT64_MAX)) {
        int64_t x = v->kind == SV_INT ? v->u.i : (int64_t)v->u.u;
        if (__builtin_mul_overflow(x, per, &out->u.i)) {
            snprintf(msg, msgn, "%" PRId64 " %s since 1970 is beyond the range of a timestamp", x,
                     uname);
            return -1;
        }
        out->kind = SV_TIMESTAMP;
        return 0;
    }
    if (v->kind != SV_DOUBLE && v->kind != SV_DECIMAL && v->kind != SV_TEXT) {
        snprintf(msg, msgn, "needs a number of %s since 1970", uname);
        return -1;
    }
    const char *p, *d;
    size_t n, dn;
    if (map_text_form(v, a, &p, &n, msg, msgn))
        return -1;
    if (map_decimal_normalize(p, n, a, &d, &dn)) {
        snprintf(msg, msgn, "%s is not a number of %s since 1970", quote(p, n, q, sizeof q), uname);
        return -1;
    }
    int neg = d[0] == '-';
    size_t k = neg;
    int64_t ip = 0, fr = 0;
    for (; k < dn && d[k] != '.'; k++)
        if (__builtin_mul_overflow(ip, 10, &ip) || __builtin_add_overflow(ip, d[k] - '0', &ip))
            goto range;
    int64_t scale = per;
    if (k < dn) {
        for (k++; k < dn; k++) {
            if (scale == 1) {
                snprintf(msg, msgn, "%s %s has digits below the microsecond, which a timestamp "
                         "cannot keep", quote(p, n, q, sizeof q), uname);
                return -1;
            }
            scale /= 10;
            fr += (d[k] - '0') * scale;
        }
    }
    int64_t us;
    if (__builtin_mul_overflow(ip, per, &us) || __builtin_add_overflow(us, fr, &us))
        goto range;
    out->kind = SV_TIMESTAMP;
    out->u.i = neg ? -us : us;
    return 0;
range:
    snprintf(msg, msgn, "%s %s since 1970 is beyond the range of a timestamp",
             quote(p, n, q, sizeof q), uname);
    return -1;
}

/* ---- uuids ------------------------------------------------------------------------ */

int map_uuid_from_bytes(const src_value *v, arena *a, src_value *out, char *msg, size_t msgn)
{
    if ((v->kind == SV_BLOB || v->kind == SV_UUID) && v->u.s.n == 16) {
        *out = *v;
        out->kind = SV_UUID;
        return 0;
    }
    if (v->kind == SV_BLOB) {
        snprintf(msg, msgn, "the value is %zu bytes long, and a uuid is 16 bytes", v->u.s.n);
        return -1;
    }
    if (v->kind == SV_TEXT) {
        char *b;
        size_t bn;
        if (hex_bytes(v->u.s.p, v->u.s.n, 1, a, &b, &bn) == 0 && bn == 16) {
            out->kind = SV_UUID;
            out->u.s.p = b;
            out->u.s.n = 16;
            return 0;
        }
        char q[64];
        snprintf(msg, msgn, "%s is not 16 bytes in hex (32 hex digits, optionally with 0x or "
                 "dashes)", quote(v->u.s.p, v->u.s.n, q, sizeof q));
        return -1;
    }
    snprintf(msg, msgn, "needs 16 bytes (a blob), not a value of another type");
    return -1;
}

/* The namespace of name_uuid: uuid5(NAMESPACE_URL, "cqlshift:name_uuid")
 * = 757d5447-c980-5928-b016-cea9756550f8 (docs/plan-expressions.md). */
static const uint8_t name_ns[16] = {0x75, 0x7d, 0x54, 0x47, 0xc9, 0x80, 0x59, 0x28,
                                    0xb0, 0x16, 0xce, 0xa9, 0x75, 0x65, 0x50, 0xf8};

int map_name_uuid(const src_value *parts, int n, arena *a, src_value *out, char *msg, size_t msgn)
{
    unsigned char *md = arena_alloc(a, SHA_DIGEST_LENGTH);
    if (!md) {
        snprintf(msg, msgn, "out of memory");
        return -1;
    }
    SHA_CTX c;
    SHA1_Init(&c);
    SHA1_Update(&c, name_ns, sizeof name_ns);
    for (int i = 0; i < n; i++) {
        const char *p;
        size_t len;
        if (map_text_form(&parts[i], a, &p, &len, msg, msgn))
            return -1;
        if (i)
            SHA1_Update(&c, "\x1f", 1);
        SHA1_Update(&c, p, len);
    }
    SHA1_Final(md, &c);
    md[6] = (unsigned char)((md[6] & 0x0f) | 0x50);   /* version 5 */
    md[8] = (unsigned char)((md[8] & 0x3f) | 0x80);   /* RFC 4122 variant */
    out->kind = SV_UUID;
    out->u.s.p = (const char *)md;
    out->u.s.n = 16;
    return 0;
}

/* ---- json_path ---------------------------------------------------------------------- */

int map_compile_path(node *n, arena *a, const char *path, size_t len, int *at, char *msg,
                     size_t msgn)
{
    if (len == 0 || path[0] != '$') {
        *at = 0;
        snprintf(msg, msgn, "a JSON path starts with $ (the document), e.g. '$.a.b[0]'");
        return -1;
    }
    path_step *steps = arena_alloc(a, (len + 1) * sizeof *steps);
    if (!steps) {
        snprintf(msg, msgn, "out of memory");
        return -1;
    }
    int ns = 0;
    size_t i = 1;
    while (i < len) {
        if (path[i] == '.') {
            size_t j = ++i;
            while (j < len && path[j] != '.' && path[j] != '[')
                j++;
            if (j == i) {
                *at = (int)i;
                snprintf(msg, msgn, "expected a key after '.' in the JSON path (write [\"odd "
                         "key\"] for keys with dots or brackets)");
                return -1;
            }
            char *k = arena_strndup(a, path + i, j - i);
            if (!k)
                goto nomem;
            steps[ns++] = (path_step){.key = k};
            i = j;
        } else if (path[i] == '[') {
            size_t j = i + 1;
            if (j < len && (path[j] == '"' || path[j] == '\'')) {
                char qc = path[j];
                size_t ks = ++j;
                while (j < len && path[j] != qc)
                    j++;
                if (j + 1 >= len || path[j + 1] != ']') {
                    *at = (int)i;
                    snprintf(msg, msgn, "expected [\"key\"] in the JSON path");
                    return -1;
                }
                char *k = arena_strndup(a, path + ks, j - ks);
                if (!k)
                    goto nomem;
                steps[ns++] = (path_step){.key = k};
                i = j + 2;
            } else {
                long idx = 0;
                size_t ds = j;
                while (j < len && isdigit((unsigned char)path[j]) && idx < 100000000)
                    idx = idx * 10 + (path[j++] - '0');
                if (j == ds || j >= len || path[j] != ']') {
                    *at = (int)i;
                    snprintf(msg, msgn, "expected an array index [0] or a key [\"key\"] in the "
                             "JSON path");
                    return -1;
                }
                steps[ns++] = (path_step){.is_index = 1, .index = idx};
                i = j + 1;
            }
        } else {
            *at = (int)i;
            snprintf(msg, msgn, "expected . or [ in the JSON path, found '%c'", path[i]);
            return -1;
        }
    }
    n->steps = steps;
    n->nsteps = ns;
    n->path_text = arena_strndup(a, path, len);
    if (!n->path_text)
        goto nomem;
    return 0;
nomem:
    snprintf(msg, msgn, "out of memory");
    return -1;
}

/* JSON text is scanned in place (no tree, no allocation): one pass checks
 * the whole document, a second follows the path. */
typedef struct jscan {
    const char *p;
    size_t n;
    const char *err;    /* what is wrong, set with at */
    size_t at;
} jscan;

static size_t js_ws(const jscan *j, size_t i)
{
    while (i < j->n && (j->p[i] == ' ' || j->p[i] == '\t' || j->p[i] == '\n' || j->p[i] == '\r'))
        i++;
    return i;
}

static int js_bad(jscan *j, size_t at, const char *what)
{
    j->err = what;
    j->at = at;
    return -1;
}

/* The end of the string whose opening quote is at i. */
static int js_string(jscan *j, size_t i, size_t *end)
{
    for (size_t k = i + 1; k < j->n; k++) {
        unsigned char c = (unsigned char)j->p[k];
        if (c == '"') {
            *end = k + 1;
            return 0;
        }
        if (c < 0x20)
            return js_bad(j, k, "a control character in a string");
        if (c == '\\') {
            if (++k >= j->n)
                break;
            char e = j->p[k];
            uint32_t cp;
            if (e == 'u') {
                if (k + 4 >= j->n || utf8_hex4(j->p + k + 1, &cp))
                    return js_bad(j, k, "a bad \\u escape");
                k += 4;
            } else if (!strchr("\"\\/bfnrt", e)) {
                return js_bad(j, k, "a bad escape");
            }
        }
    }
    return js_bad(j, i, "a string without its closing quote");
}

/* Check the value at i (after blanks); *end is just past it. */
static int js_value(jscan *j, size_t i, int depth, size_t *end)
{
    i = js_ws(j, i);
    if (i >= j->n)
        return js_bad(j, i, "the text ends where a value was expected");
    if (depth > 256)
        return js_bad(j, i, "nesting deeper than 256");
    char c = j->p[i];
    if (c == '"')
        return js_string(j, i, end);
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        size_t k = js_ws(j, i + 1);
        if (k < j->n && j->p[k] == close) {
            *end = k + 1;
            return 0;
        }
        for (;;) {
            if (c == '{') {
                k = js_ws(j, k);
                if (k >= j->n || j->p[k] != '"')
                    return js_bad(j, k, "expected a key in quotes");
                if (js_string(j, k, &k))
                    return -1;
                k = js_ws(j, k);
                if (k >= j->n || j->p[k] != ':')
                    return js_bad(j, k, "expected ':' after a key");
                k++;
            }
            if (js_value(j, k, depth + 1, &k))
                return -1;
            k = js_ws(j, k);
            if (k < j->n && j->p[k] == ',') {
                k++;
                continue;
            }
            if (k < j->n && j->p[k] == close) {
                *end = k + 1;
                return 0;
            }
            return js_bad(j, k, c == '{' ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
    static const char *const words[] = {"true", "false", "null"};
    for (int w = 0; w < 3; w++) {
        size_t wl = strlen(words[w]);
        if (j->n - i >= wl && !memcmp(j->p + i, words[w], wl)) {
            *end = i + wl;
            return 0;
        }
    }
    size_t k = i;
    if (k < j->n && j->p[k] == '-')
        k++;
    if (k < j->n && j->p[k] == '0')
        k++;
    else if (k < j->n && j->p[k] >= '1' && j->p[k] <= '9')
        while (k < j->n && isdigit((unsigned char)j->p[k]))
            k++;
    else
        return js_bad(j, i, "not a JSON value");
    if (k < j->n && j->p[k] == '.') {
        size_t f = ++k;
        while (k < j->n && isdigit((unsigned char)j->p[k]))
            k++;
        if (k == f)
            return js_bad(j, k, "a number without digits after the point");
    }
    if (k < j->n && (j->p[k] == 'e' || j->p[k] == 'E')) {
        k++;
        if (k < j->n && (j->p[k] == '+' || j->p[k] == '-'))
            k++;
        size_t f = k;
        while (k < j->n && isdigit((unsigned char)j->p[k]))
            k++;
        if (k == f)
            return js_bad(j, k, "a number without digits in its exponent");
    }
    *end = k;
    return 0;
}

/* The string at [i, end) (quotes included) unescaped into a. */
static char *js_unescape(const jscan *j, size_t i, size_t end, arena *a, size_t *len)
{
    char *o = arena_alloc(a, end - i + 1);
    if (!o)
        return NULL;
    size_t n = 0;
    for (size_t k = i + 1; k + 1 < end; k++) {
        char c = j->p[k];
        if (c != '\\') {
            o[n++] = c;
            continue;
        }
        c = j->p[++k];
        switch (c) {
        case 'b': o[n++] = '\b'; break;
        case 'f': o[n++] = '\f'; break;
        case 'n': o[n++] = '\n'; break;
        case 'r': o[n++] = '\r'; break;
        case 't': o[n++] = '\t'; break;
        case 'u': {
            uint32_t cp, lo;
            utf8_hex4(j->p + k + 1, &cp);
            k += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && k + 6 < end && j->p[k + 1] == '\\' &&
                j->p[k + 2] == 'u' && utf8_hex4(j->p + k + 3, &lo) == 0 && lo >= 0xdc00 &&
                lo < 0xe000) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                k += 6;
            } else if (cp >= 0xd800 && cp < 0xe000) {
                cp = 0xfffd;    /* a lone surrogate */
            }
            n += utf8_encode(cp, (uint8_t *)o + n);
            break;
        }
        default: o[n++] = c; break;     /* " \ / */
        }
    }
    o[n] = 0;
    *len = n;
    return o;
}

/* Does the key string at [i, end) equal key? */
static int js_key_is(const jscan *j, size_t i, size_t end, const char *key, arena *a)
{
    size_t kl = strlen(key);
    if (!memchr(j->p + i, '\\', end - i))
        return end - i - 2 == kl && !memcmp(j->p + i + 1, key, kl);
    size_t n;
    char *u = js_unescape(j, i, end, a, &n);
    return u && n == kl && !memcmp(u, key, kl);
}

/* Follow one path step from the value at i; *found 0 if it leads nowhere. */
static void js_step(jscan *j, size_t i, const path_step *st, arena *a, size_t *out, int *found)
{
    i = js_ws(j, i);
    *found = 0;
    char c = j->p[i];
    if (c != (st->is_index ? '[' : '{'))
        return;
    size_t k = js_ws(j, i + 1);
    if (j->p[k] == (st->is_index ? ']' : '}'))
        return;
    for (long idx = 0;; idx++) {
        int match;
        if (st->is_index) {
            match = idx == st->index;
        } else {
            size_t ke;
            js_string(j, k, &ke);
            match = js_key_is(j, k, ke, st->key, a);
            k = js_ws(j, ke) + 1;   /* past ':' */
        }
        k = js_ws(j, k);
        if (match) {    /* the last of repeated keys wins, as in jansson */
            *out = k;
            *found = 1;
            if (st->is_index)
                return;
        }
        js_value(j, k, 0, &k);
        k = js_ws(j, k);
        if (j->p[k] != ',')
            return;
        k = js_ws(j, k + 1);
    }
}

static int json_path_text(const node *nd, const char *p, size_t n, arena *a, src_value *out,
                          char *msg, size_t msgn)
{
    jscan j = {.p = p, .n = n};
    size_t end;
    char q[64];
    if (js_value(&j, 0, 0, &end) == 0 && js_ws(&j, end) != n)
        js_bad(&j, js_ws(&j, end), "text after the JSON value");
    if (!j.err && !utf8_valid((const uint8_t *)p, n))
        js_bad(&j, utf8_invalid_at((const uint8_t *)p, n), "bytes that are not UTF-8");
    if (j.err) {
        snprintf(msg, msgn, "%s is not valid JSON: %s (character %zu)", quote(p, n, q, sizeof q),
                 j.err, j.at + 1);
        return -1;
    }
    size_t i = 0;
    int found = 1;
    for (int k = 0; found && k < nd->nsteps; k++)
        js_step(&j, i, &nd->steps[k], a, &i, &found);
    i = js_ws(&j, i);
    if (!found || (n - i >= 4 && !memcmp(p + i, "null", 4))) {
        out->kind = SV_NULL;
        return 0;
    }
    js_value(&j, i, 0, &end);
    char *s;
    size_t len = 0;
    if (p[i] == '"') {
        s = js_unescape(&j, i, end, a, &len);
    } else {    /* the JSON text as written, without blanks outside strings */
        s = arena_alloc(a, end - i + 1);
        for (size_t k = i; s && k < end; k++) {
            char c = p[k];
            if (c == '"') {
                size_t se;
                js_string(&j, k, &se);
                memcpy(s + len, p + k, se - k);
                len += se - k;
                k = se - 1;
            } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
                s[len++] = c;
            }
        }
        if (s)
            s[len] = 0;
    }
    if (!s) {
        snprintf(msg, msgn, "out of memory");
        return -1;
    }
    out->kind = SV_TEXT;
    out->u.s.p = s;
    out->u.s.n = len;
    return 0;
}

int map_json_path(const node *nd, const src_value *v, arena *a, src_value *out, char *msg,
                  size_t msgn)
{
    if (v->kind != SV_JSON) {
        const char *p;
        size_t n;
        if (map_text_form(v, a, &p, &n, msg, msgn))
            return -1;
        return json_path_text(nd, p, n, a, out, msg, msgn);
    }
    const json_t *j = v->u.j;
    for (int k = 0; j && k < nd->nsteps; k++) {
        const path_step *st = &nd->steps[k];
        if (st->is_index)
            j = json_is_array(j) ? json_array_get(j, (size_t)st->index) : NULL;
        else
            j = json_is_object(j) ? json_object_get(j, st->key) : NULL;
    }
    int rc = 0;
    if (!j || json_is_null(j)) {
        out->kind = SV_NULL;
    } else if (json_is_string(j)) {
        size_t n = json_string_length(j);
        char *s = arena_strndup(a, json_string_value(j), n);
        if (!s)
            rc = -1;
        else
            out->kind = SV_TEXT, out->u.s.p = s, out->u.s.n = n;
    } else {
        size_t flags = JSON_COMPACT | JSON_ENCODE_ANY;
        size_t n = json_dumpb(j, NULL, 0, flags);
        char *s = n ? arena_alloc(a, n + 1) : NULL;
        if (!s || json_dumpb(j, s, n, flags) != n)
            rc = -1;
        else
            s[n] = 0, out->kind = SV_TEXT, out->u.s.p = s, out->u.s.n = n;
    }
    if (rc)
        snprintf(msg, msgn, "out of memory");
    return rc;
}
