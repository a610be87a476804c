/* Scalar conversions between text and CQL wire bytes: integers, big
 * integers, decimals, floats, UUIDs, inet, dates, times, timestamps,
 * durations; plus UTF-8 validation and the vint coding.
 *
 * Everything here works on caller memory: no allocation except for
 * varints/decimals of more than a few hundred digits.
 */
#include "cql/types_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------- messages ---------- */

const char *cqlt_quote(const char *s, size_t n, char *buf, size_t size)
{
    size_t o = 0, lim = size > 8 ? size - 6 : 0;
    if (size < 8) {
        if (size)
            buf[0] = '\0';
        return buf;
    }
    buf[o++] = '\'';
    size_t i;
    for (i = 0; i < n && o < lim && i < 48; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (i < n) {
        buf[o++] = '.';
        buf[o++] = '.';
        buf[o++] = '.';
    }
    buf[o++] = '\'';
    buf[o] = '\0';
    return buf;
}

static int fail_got(cql_error *err, const char *expected, const cql_type *t, const char *s, size_t n)
{
    char tb[96], q[80];
    return cql_fail(err, CQL_E_ENCODE, "expected %s for %s, got %s", expected,
                    cqlt_type_str(t, tb, sizeof tb), n ? cqlt_quote(s, n, q, sizeof q) : "an empty string");
}


/* ---------- vint ---------- */

size_t cqlt_uvint_put(uint8_t *p, uint64_t v)
{
    if (v < 0x80) {
        p[0] = (uint8_t)v;
        return 1;
    }
    int bits = 64 - __builtin_clzll(v);
    size_t extra = (size_t)(bits - 1) / 7;
    if (extra > 8)
        extra = 8;
    if (extra == 8) {
        p[0] = 0xFF;
        cs_put_be64(p + 1, v);
        return 9;
    }
    for (size_t k = 0; k <= extra; k++)
        p[extra - k] = (uint8_t)(v >> (8 * k));
    p[0] |= (uint8_t)(0xFF << (8 - extra));
    return extra + 1;
}

int cqlt_uvint_get(cs_rd *r, uint64_t *v)
{
    uint8_t b0 = cs_rd_u8(r);
    if (r->err)
        return -1;
    if (b0 < 0x80) {
        *v = b0;
        return 0;
    }
    int extra = 0;
    while (extra < 8 && (b0 & (0x80 >> extra)))
        extra++;
    uint64_t x = extra == 8 ? 0 : (uint64_t)(b0 & (0xFF >> extra));
    const uint8_t *p = cs_rd_bytes(r, (size_t)extra);
    if (!p)
        return -1;
    for (int k = 0; k < extra; k++)
        x = (x << 8) | p[k];
    *v = x;
    return 0;
}

/* ---------- big integers ---------- */

/* Little-endian base-2^32 limbs; small values stay on the stack. */
#define SMALL_LIMBS 40

int cqlt_varint_from_digits(const char *d, size_t nd, int neg, cs_buf *out)
{
    uint32_t small[SMALL_LIMBS];
    size_t maxl = nd / 9 + 2; /* 10^9 < 2^32: one limb per 9 digits is plenty */
    uint32_t *l = maxl <= SMALL_LIMBS ? small : malloc(maxl * sizeof *l);
    if (!l)
        return -1;
    size_t nl = 0;
    static const uint32_t pow10[10] = {1, 10, 100, 1000, 10000, 100000, 1000000,
                                       10000000, 100000000, 1000000000};
    for (size_t i = 0; i < nd;) {
        size_t k = nd - i < 9 ? nd - i : 9;
        uint32_t chunk = 0;
        for (size_t j = 0; j < k; j++)
            chunk = chunk * 10 + (uint32_t)(d[i + j] - '0');
        i += k;
        uint64_t carry = chunk;
        for (size_t j = 0; j < nl; j++) {
            uint64_t t = (uint64_t)l[j] * pow10[k] + carry;
            l[j] = (uint32_t)t;
            carry = t >> 32;
        }
        if (carry)
            l[nl++] = (uint32_t)carry;
    }
    /* Bytes of the magnitude, big-endian, with one spare sign byte. */
    size_t nb = nl * 4 + 1;
    uint8_t *b = cs_buf_extend(out, nb);
    if (!b) {
        if (l != small)
            free(l);
        return -1;
    }
    b[0] = 0;
    for (size_t j = 0; j < nl; j++)
        cs_put_be32(b + 1 + (nl - 1 - j) * 4, l[j]);
    if (l != small)
        free(l);
    if (neg) {
        /* two's complement: invert and add one */
        unsigned carry = 1;
        for (size_t i = nb; i-- > 0;) {
            unsigned x = (uint8_t)~b[i] + carry;
            b[i] = (uint8_t)x;
            carry = x >> 8;
        }
    }
    /* Drop sign-extension bytes that the next byte already implies. */
    size_t s = 0;
    while (nb - s > 1 && ((b[s] == 0x00 && !(b[s + 1] & 0x80)) || (b[s] == 0xFF && (b[s + 1] & 0x80))))
        s++;
    if (s) {
        memmove(b, b + s, nb - s);
        out->len -= s;
    }
    return 0;
}

int cqlt_varint_to_text(const uint8_t *p, size_t n, cs_buf *out)
{
    int neg = (p[0] & 0x80) != 0;
    size_t nl = (n + 3) / 4;
    uint32_t small[SMALL_LIMBS];
    uint32_t *l = nl <= SMALL_LIMBS ? small : malloc(nl * sizeof *l);
    if (!l)
        return -1;
    /* magnitude into limbs (little-endian limbs, big-endian bytes) */
    memset(l, 0, nl * sizeof *l);
    for (size_t i = 0; i < n; i++) {
        uint8_t byte = neg ? (uint8_t)~p[n - 1 - i] : p[n - 1 - i];
        l[i / 4] |= (uint32_t)byte << (8 * (i % 4));
    }
    if (neg) {
        for (size_t j = 0; j < nl; j++) { /* +1 */
            if (++l[j] != 0)
                break;
        }
        /* Bytes past n were zero-filled, but for a negative number they stand
         * for 0xFF sign bytes, inverted to 0x00: consistent. */
    }
    /* Repeated division by 10^9; chunks come out least significant first. */
    size_t maxc = nl * 32 / 29 + 2; /* 2^32 < 10^9.64 */
    uint32_t csmall[SMALL_LIMBS * 2];
    uint32_t *c = maxc <= SMALL_LIMBS * 2 ? csmall : malloc(maxc * sizeof *c);
    if (!c) {
        if (l != small)
            free(l);
        return -1;
    }
    size_t nc = 0, top = nl;
    while (top > 0 && l[top - 1] == 0)
        top--;
    do {
        uint64_t rem = 0;
        for (size_t j = top; j-- > 0;) {
            uint64_t cur = (rem << 32) | l[j];
            l[j] = (uint32_t)(cur / 1000000000u);
            rem = cur % 1000000000u;
        }
        c[nc++] = (uint32_t)rem;
        while (top > 0 && l[top - 1] == 0)
            top--;
    } while (top > 0);
    int rc = 0;
    if (neg)
        rc |= cs_buf_put_u8(out, '-');
    rc |= cs_buf_printf(out, "%" PRIu32, c[nc - 1]);
    for (size_t j = nc - 1; j-- > 0 && !rc;)
        rc |= cs_buf_printf(out, "%09" PRIu32, c[j]);
    if (l != small)
        free(l);
    if (c != csmall)
        free(c);
    return rc ? -1 : 0;
}

int cqlt_format_decimal(int32_t scale, const uint8_t *p, size_t n, cs_buf *out)
{
    size_t start = out->len;
    if (cqlt_varint_to_text(p, n, out))
        return -1;
    if (scale == 0)
        return 0;
    if (scale < 0)
        return cs_buf_printf(out, "E+%" PRId64, -(int64_t)scale);
    /* Insert the point `scale` digits from the right, padding with zeros. */
    size_t ds = start + (out->data[start] == '-');
    size_t nd = out->len - ds;
    size_t sc = (size_t)scale;
    if (sc >= nd) {
        size_t pad = sc - nd + 2; /* "0." plus leading zeros */
        if (!cs_buf_extend(out, pad))
            return -1;
        memmove(out->data + ds + pad, out->data + ds, nd);
        out->data[ds] = '0';
        out->data[ds + 1] = '.';
        memset(out->data + ds + 2, '0', pad - 2);
    } else {
        if (!cs_buf_extend(out, 1))
            return -1;
        size_t at = ds + nd - sc;
        memmove(out->data + at + 1, out->data + at, sc);
        out->data[at] = '.';
    }
    return 0;
}

/* ---------- integers ---------- */

int cqlt_parse_i64(const char *s, size_t n, int64_t lo, int64_t hi, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    if (i == n)
        return -1;
    uint64_t mag = 0;
    for (; i < n; i++) {
        unsigned dgt = (unsigned)(s[i] - '0');
        if (dgt > 9)
            return -1;
        if (mag > (UINT64_MAX - dgt) / 10)
            return -1;
        mag = mag * 10 + dgt;
    }
    int64_t v;
    if (neg) {
        if (mag > (uint64_t)INT64_MAX + 1)
            return -1;
        v = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
    } else {
        if (mag > (uint64_t)INT64_MAX)
            return -1;
        v = (int64_t)mag;
    }
    if (v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int put_int_text(const cql_type *t, const char *s, size_t n, cs_buf *out, cql_error *err)
{
    int64_t lo, hi, v;
    size_t w;
    switch (t->id) {
    case CQL_T_TINYINT: lo = INT8_MIN; hi = INT8_MAX; w = 1; break;
    case CQL_T_SMALLINT: lo = INT16_MIN; hi = INT16_MAX; w = 2; break;
    case CQL_T_INT: lo = INT32_MIN; hi = INT32_MAX; w = 4; break;
    default: lo = INT64_MIN; hi = INT64_MAX; w = 8; break;
    }
    if (cqlt_parse_i64(s, n, lo, hi, &v)) {
        char exp[80];
        snprintf(exp, sizeof exp, "an integer in %" PRId64 "..%" PRId64, lo, hi);
        return fail_got(err, exp, t, s, n);
    }
    uint8_t *p = cs_buf_extend(out, w);
    if (!p)
        return cql_fail(err, CQL_E_NOMEM, "value buffer is full");
    uint64_t u = (uint64_t)v;
    for (size_t k = 0; k < w; k++)
        p[w - 1 - k] = (uint8_t)(u >> (8 * k));
    return 0;
}

/* Split "[-+]digits[.digits][e[-+]digits]" into its parts; 0 or -1. */
typedef struct numparts {
    int neg;
    const char *ip; size_t in;   /* integer digits */
    const char *fp; size_t fn;   /* fraction digits */
    int64_t exp;
} numparts;

static int split_number(const char *s, size_t n, numparts *np, int allow_frac)
{
    size_t i = 0;
    memset(np, 0, sizeof *np);
    if (i < n && (s[i] == '+' || s[i] == '-'))
        np->neg = s[i++] == '-';
    np->ip = s + i;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++, np->in++;
    if (allow_frac && i < n && s[i] == '.') {
        i++;
        np->fp = s + i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++, np->fn++;
    }
    if (np->in + np->fn == 0)
        return -1;
    if (allow_frac && i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        size_t es = i;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i == n)
            return -1;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i != n || cqlt_parse_i64(s + es, n - es, -((int64_t)1 << 40), (int64_t)1 << 40, &np->exp))
            return -1;
    }
    return i == n ? 0 : -1;
}

/* Digits of the unscaled value without leading zeros; uses a stack buffer
 * when the integer and fraction parts must be joined. */
static int put_big_digits(const char *ip, size_t in, const char *fp, size_t fn, int neg, cs_buf *out)
{
    while (in > 0 && *ip == '0')
        ip++, in--;
    if (in == 0)
        while (fn > 0 && *fp == '0')
            fp++, fn--;
    if (in + fn == 0)
        return cs_buf_put_u8(out, 0);
    if (fn == 0)
        return cqlt_varint_from_digits(ip, in, neg, out);
    if (in == 0)
        return cqlt_varint_from_digits(fp, fn, neg, out);
    char small[256];
    char *d = in + fn <= sizeof small ? small : malloc(in + fn);
    if (!d)
        return -1;
    memcpy(d, ip, in);
    memcpy(d + in, fp, fn);
    int rc = cqlt_varint_from_digits(d, in + fn, neg, out);
    if (d != small)
        free(d);
    return rc;
}

static int put_varint_text(const cql_type *t, const char *s, size_t n, cs_buf *out, cql_error *err)
{
    numparts np;
    if (split_number(s, n, &np, 0))
        return fail_got(err, "an integer (decimal digits with optional sign)", t, s, n);
    if (np.in > CQLT_MAX_DIGITS)
        return fail_got(err, "at most 100000 digits", t, s, n);
    if (put_big_digits(np.ip, np.in, NULL, 0, np.neg, out))
        return cql_fail(err, CQL_E_NOMEM, "value buffer is full");
    return 0;
}

static int put_decimal_text(const cql_type *t, const char *s, size_t n, cs_buf *out, cql_error *err)
{
    numparts np;
    if (split_number(s, n, &np, 1))
        return fail_got(err, "a decimal number like -12.50 or 1.5E+3", t, s, n);
    if (np.in + np.fn > CQLT_MAX_DIGITS)
        return fail_got(err, "at most 100000 digits", t, s, n);
    int64_t scale = (int64_t)np.fn - np.exp;
    if (scale < INT32_MIN || scale > INT32_MAX)
        return fail_got(err, "a decimal whose scale fits in 32 bits", t, s, n);
    uint8_t *p = cs_buf_extend(out, 4);
    if (!p)
        return cql_fail(err, CQL_E_NOMEM, "value buffer is full");
    cs_put_be32(p, (uint32_t)(int32_t)scale);
    if (put_big_digits(np.ip, np.in, np.fp, np.fn, np.neg, out))
        return cql_fail(err, CQL_E_NOMEM, "value buffer is full");
    return 0;
}

/* ---------- floating point ---------- */

static int ieq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

static int put_float_text(const cql_type *t, const char *s, size_t n, cs_buf *out, cql_error *err)
{
    int dbl = t->id == CQL_T_DOUBLE;
    double d = 0;
    float f = 0;
    const char *body = s;
    size_t bn = n;
    int neg = 0;
    if (bn && (*body == '-' || *body == '+')) {
        neg = *body == '-';
        body++, bn--;
    }
    if (ieq(body, bn, "nan") && body == s) {
        d = NAN;
        f = NAN;
    } else if (ieq(body, bn, "infinity") || ieq(body, bn, "inf")) {
        d = neg ? -INFINITY : INFINITY;
        f = neg ? -INFINITY : INFINITY;
    } else {
        numparts np;
        if (split_number(s, n, &np, 1))
            return fail_got(err, "a number (or NaN, Infinity, -Infinity)", t, s, n);
        /* strtod wants a NUL-terminated string; numbers are short. */
        char small[128];
        char *z = n < sizeof small ? small : malloc(n + 1);
        if (!z)
            return cql_fail(err, CQL_E_NOMEM, "out of memory");
        memcpy(z, s, n);
        z[n] = '\0';
        errno = 0;
        if (dbl)
            d = strtod(z, NULL);
        else
            f = strtof(z, NULL); /* direct, to avoid double rounding */
        int range = errno == ERANGE && (dbl ? isinf(d) : isinf(f));
        if (z != small)
            free(z);
        if (range)
            return fail_got(err, dbl ? "a number within the double range" : "a number within the float range", t, s, n);
    }
    if (dbl) {
        uint64_t u;
        memcpy(&u, &d, 8);
        uint8_t *p = cs_buf_extend(out, 8);
        if (!p)
            return cql_fail(err, CQL_E_NOMEM, "value buffer is full");
        cs_put_be64(p, u);
    } else {
        uint32_t u;
        memcpy(&u, &f, 4);
        uint8_t *p = cs_buf_extend(out, 4);
        if (!p)
            return cql_fail(err, CQL_E_NOMEM, "value buffer is full");
        cs_put_be32(p, u);
    }
    return 0;
}

/* ---------- uuid, inet, blob, boolean ---------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int put_uuid_text(const cql_type *t, const char *s, size_t n, cs_buf *out, cql_error *err)
{
    uint8_t u[16];
    size_t o = 0;
    if (n != 36)
        goto bad;
    for (size_t i = 0; i < 36;) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                goto bad;
            i++;
            continue;
        }
        int h = hexval(s[i]), l = hexval(s[i + 1]);
        if (h < 0 || l < 0)
            goto bad;
        u[o++] = (uint8_t)(h << 4 | l);
        i += 2;
    }
    if (t->id == CQL_T_TIMEUUID && (u[6] >> 4) != 1)
        return fail_got(err, "a version 1 (time-based) UUID", t, s, n);
    if (cs_buf_append(out, u, 16))
        return cql_fail(err, CQL_E_NOMEM, "value buffer is full");
    return 0;
bad:
    return fail_got(err, "a UUID like 123e4567-e89b-12d3-a456-426614174000", t, s, n);
}

void cqlt_format_uuid(const uint8_t p[16], char *buf)
{
    static const char hx[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            buf[o++] = '-';
        buf[o++] = hx[p[i] >> 4];
        buf[o++] = hx[p[i] & 15];
    }
    buf[o] = '\0';
}

static int put_inet_text(const cql_type *t, const char *s, size_t n, cs_buf *out, cql_error *err)
{
    char z[64];
    uint8_t a[16];
    if (n == 0 || n >= sizeof z || memchr(s, '\0', n))
        goto bad;
    memcpy(z, s, n);
    z[n] = '\0';
    if (inet_pton(AF_INET, z, a) == 1) {
        if (cs_buf_append(out, a, 4))
            return cql_fail(err, CQL_E_NOMEM, "value buffer is full");
        return 0;
    }
    if (inet_pton(AF_INET6, z, a) == 1) {
        if (cs_buf_append(out, a, 16))
            return cql_fail(err, CQL_E_NOMEM, "value buffer is full");
        return 0;
    }
bad:
    return fail_got(err, "an IPv4 or IPv6 address like 10.0.0.1 or ::1", t, s, n);
}

static int put_blob_text(const cql_type *t, const char *s, size_t n, cs_buf *out, cql_error *err)
{
    if (n < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || (n & 1))
        return fail_got(err, "0x followed by an even number of hex digits", t, s, n);
    size_t nb = (n - 2) / 2;
    uint8_t *p = cs_buf_extend(out, nb);
    if (!p && nb)
        return cql_fail(err, CQL_E_NOMEM, "value buffer is full");
    for (size_t i = 0; i < nb; i++) {
        int h = hexval(s[2 + 2 * i]), l = hexval(s[3 + 2 * i]);
        if (h < 0 || l < 0) {
            out->len -= nb;
            return fail_got(err, "0x followed by an even number of hex digits", t, s, n);
        }
        p[i] = (uint8_t)(h << 4 | l);
    }
    return 0;
}

static int put_bool_text(const cql_type *t, const char *s, size_t n, cs_buf *out, cql_error *err)
{
    int v;
    if (ieq(s, n, "true") || ieq(s, n, "yes") || ieq(s, n, "1"))
        v = 1;
    else if (ieq(s, n, "false") || ieq(s, n, "no") || ieq(s, n, "0"))
        v = 0;
    else
        return fail_got(err, "true/false (or yes/no, 1/0)", t, s, n);
    if (cs_buf_put_u8(out, (uint8_t)v))
        return cql_fail(err, CQL_E_NOMEM, "value buffer is full");
    return 0;
}

/* ---------- calendar ---------- */

int64_t cqlt_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (int64_t)(m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void cqlt_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static unsigned month_days(int64_t y, unsigned m)
{
    static const unsigned md[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : md[m - 1];
}

/* Read exactly `w` digits at s[*i]. */
static int fixed_digits(const char *s, size_t n, size_t *i, size_t w, unsigned *v)
{
    unsigned x = 0;
    if (n - *i < w)
        return -1;
    for (size_t k = 0; k < w; k++) {
        unsigned dg = (unsigned)(s[*i + k] - '0');
        if (dg > 9)
            return -1;
        x = x * 10 + dg;
    }
    *i += w;
    *v = x;
    return 0;
}

/* "[+-]Y...Y-MM-DD" at the start of s; years need at least 4 digits so that
 * a plain integer is never mistaken for a date. Returns days since epoch. */
static int parse_ymd(const char *s, size_t n, size_t *i, int64_t *days)
{
    int neg = 0;
    size_t k = *i;
    if (k < n && (s[k] == '-' || s[k] == '+'))
        neg = s[k++] == '-';
    size_t ys = k;
    int64_t y = 0;
    while (k < n && s[k] >= '0' && s[k] <= '9' && k - ys < 12)
        y = y * 10 + (s[k++] - '0');
    if (k - ys < 4 || k >= n || s[k] != '-')
        return -1;
    k++;
    unsigned mo, d;
    if (fixed_digits(s, n, &k, 2, &mo) || k >= n || s[k] != '-')
        return -1;
    k++;
    if (fixed_digits(s, n, &k, 2, &d))
        return -1;
    if (neg)
        y = -y;
    if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo))
        return -1;
    *days = cqlt_days_from_civil(y, mo, d);
    *i = k;
    return 0;
}

static int put_date_text(const cql_type *t, const char *s, size_t n, cs_buf *out, cql_error *err)
{
    int64_t days;
    size_t i = 0;
    if (parse_ymd(s, n, &i, &days) || i != n) {
        if (cqlt_parse_i64(s, n, INT64_MIN, INT64_MAX, &days))
            return fail_got(err, "a date YYYY-MM-DD or integer days since 1970-01-01", t, s, n);
    }
    if (days < INT32_MIN || days > INT32_MAX)
        return fail_got(err, "a date within -5877641-06-23..5881580-07-11", t, s, n);
    if (cs_buf_put_u32(out, (uint32_t)(days + ((int64_t)1 << 31))))
        return cql_fail(err, CQL_E_NOMEM, "value buffer is full");
    return 0;
}

int cqlt_format_date(int64_t days, char *buf)
{
    int64_t y;
    unsigned m, d;
    cqlt_civil_from_days(days, &y, &m, &d);
    if (y < 1 || y > 9999)
        return -1;
    return snprintf(buf, 48, "%04d-%02u-%02u", (int)y, m, d);
}

/* "HH:MM[:SS[.f...]]" -> ns. Digits after the first max_frac of the
 * fraction must be zeros ("12:00:00.123000" with max_frac 3 is exact).
 * 0; 1 when such a digit is not zero (*ns and *i are still set, the digits
 * cut: the caller refuses the value, saying why); -1 if malformed. */
static int parse_hms(const char *s, size_t n, size_t *i, int64_t *ns, int max_frac)
{
    int lost = 0;
    unsigned h, mi, sec = 0;
    size_t k = *i;
    if (fixed_digits(s, n, &k, 2, &h) || k >= n || s[k] != ':')
        return -1;
    k++;
    if (fixed_digits(s, n, &k, 2, &mi))
        return -1;
    int64_t frac = 0;
    if (k < n && s[k] == ':') {
        k++;
        if (fixed_digits(s, n, &k, 2, &sec))
            return -1;
        if (k < n && s[k] == '.') {
            k++;
            int nd = 0;
            int64_t scale = 100000000;
            while (k < n && s[k] >= '0' && s[k] <= '9') {
                if (nd >= max_frac) {
                    lost |= s[k] != '0'; /* never lose digits silently */
                } else {
                    frac += (s[k] - '0') * scale;
                    scale /= 10;
                }
                nd++, k++;
            }
            if (nd == 0)
                return -1;
        }
    }
    if (h > 23 || mi > 59 || sec > 59)
        return -1;
    *ns = ((int64_t)h * 3600 + mi * 60 + sec) * 1000000000 + frac;
    *i = k;
    return lost;
}

/* The refusal of a well-formed value whose fraction has digits below the
 * type's precision (unit: "millisecond" or "nanosecond"). */
static int fail_lost_digits(cql_error *err, const cql_type *t, const char *s, size_t n, const char *unit)
{
    char tb[96], q[80];
    return cql_fail(err, CQL_E_ENCODE,
                    "%s has digits below the %s, which Cassandra's %s does not keep: they would be "
                    "lost, so the value is refused (round it in the source; trailing zeros are fine)",
                    cqlt_quote(s, n, q, sizeof q), unit, cqlt_type_str(t, tb, sizeof tb));
}

static int put_time_text(const cql_type *t, const char *s, size_t n, cs_buf *out, cql_error *err)
{
    int64_t ns;
    size_t i = 0;
    int rc = parse_hms(s, n, &i, &ns, 9);
    if (rc == 1 && i == n)
        return fail_lost_digits(err, t, s, n, "nanosecond");
    if (rc || i != n) {
        if (cqlt_parse_i64(s, n, 0, 86399999999999LL, &ns))
            return fail_got(err, "a time HH:MM:SS[.fffffffff] or nanoseconds since midnight", t, s, n);
    }
    if (cs_buf_put_u64(out, (uint64_t)ns))
        return cql_fail(err, CQL_E_NOMEM, "value buffer is full");
    return 0;
}

int cqlt_format_time(int64_t ns, char *buf)
{
    int64_t sec = ns / 1000000000;
    return snprintf(buf, 48, "%02d:%02d:%02d.%09d", (int)(sec / 3600), (int)(sec / 60 % 60), (int)(sec % 60),
                    (int)(ns % 1000000000));
}

int cqlt_parse_timestamp(const char *s, size_t n, int64_t *ms)
{
    size_t i = 0;
    int64_t days, tod = 0, off_min = 0;
    int lost = 0;
    if (parse_ymd(s, n, &i, &days))
        return -1;
    if (i < n && (s[i] == 'T' || s[i] == 't' || s[i] == ' ')) {
        i++;
        int64_t ns;
        lost = parse_hms(s, n, &i, &ns, 3);
        if (lost < 0)
            return -1;
        tod = ns / 1000000;
        if (i < n && s[i] == ' ')
            i++;
        if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
            i++;
        } else if (i < n && (s[i] == '+' || s[i] == '-')) {
            int sg = s[i++] == '-' ? -1 : 1;
            unsigned oh, om = 0;
            if (fixed_digits(s, n, &i, 2, &oh))
                return -1;
            if (i < n && s[i] == ':')
                i++;
            if (i < n && fixed_digits(s, n, &i, 2, &om))
                return -1;
            if (oh > 18 || om > 59)
                return -1;
            off_min = sg * (int64_t)(oh * 60 + om);
        } else if (n - i == 3 && strncmp(s + i, "UTC", 3) == 0) {
            i += 3;
        }
    }
    if (i != n)
        return -1;
    int64_t v;
    if (__builtin_mul_overflow(days, (int64_t)86400000, &v) || __builtin_add_overflow(v, tod, &v) ||
        __builtin_sub_overflow(v, off_min * 60000, &v))
        return -1;
    *ms = v;
    return lost ? -2 : 0;
}

static int put_timestamp_text(const cql_type *t, const char *s, size_t n, cs_buf *out, cql_error *err)
{
    int64_t ms;
    int rc = cqlt_parse_timestamp(s, n, &ms);
    if (rc == -2)
        return fail_lost_digits(err, t, s, n, "millisecond");
    if (rc && cqlt_parse_i64(s, n, INT64_MIN, INT64_MAX, &ms))
        return fail_got(err, "an ISO 8601 timestamp like 2024-01-31T12:00:00.000Z or integer milliseconds", t, s,
                        n);
    if (cs_buf_put_u64(out, (uint64_t)ms))
        return cql_fail(err, CQL_E_NOMEM, "value buffer is full");
    return 0;
}

int cqlt_format_timestamp(int64_t ms, char *buf)
{
    int64_t days = ms / 86400000, rem = ms % 86400000;
    if (rem < 0)
        rem += 86400000, days--;
    int64_t y;
    unsigned m, d;
    cqlt_civil_from_days(days, &y, &m, &d);
    if (y < 1 || y > 9999)
        return -1;
    int64_t sec = rem / 1000;
    return snprintf(buf, 48, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", (int)y, m, d, (int)(sec / 3600),
                    (int)(sec / 60 % 60), (int)(sec % 60), (int)(rem % 1000));
}

/* ---------- duration ---------- */

typedef struct dur {
    uint64_t months, days, ns; /* magnitudes, accumulated with overflow checks */
} dur;

static int dur_add(uint64_t *acc, uint64_t v, uint64_t mult, uint64_t lim)
{
    uint64_t x;
    if (__builtin_mul_overflow(v, mult, &x) || __builtin_add_overflow(*acc, x, acc) || *acc > lim)
        return -1;
    return 0;
}

typedef struct dur_unit {
    const char *name;
    int field; /* 0 months, 1 days, 2 nanoseconds */
    uint64_t mult;
} dur_unit;

/* Cassandra's unit form: 1y2mo3w4d5h6m7s8ms9us10ns (also µs), any case. */
static const dur_unit dur_units[] = {
    {"y", 0, 12},          {"mo", 0, 1},          {"w", 1, 7},        {"d", 1, 1},
    {"h", 2, 3600000000000LL}, {"m", 2, 60000000000LL}, {"s", 2, 1000000000LL}, {"ms", 2, 1000000LL},
    {"us", 2, 1000LL},     {"\xc2\xb5s", 2, 1000LL}, {"ns", 2, 1LL},
};
/* ISO 8601 designators, before and after the 'T'. */
static const dur_unit iso_date_units[] = {{"Y", 0, 12}, {"M", 0, 1}, {"W", 1, 7}, {"D", 1, 1}};
static const dur_unit iso_time_units[] = {{"H", 2, 3600000000000LL}, {"M", 2, 60000000000LL}, {"S", 2, 1000000000LL}};

/* Add v units to r. Magnitudes may reach 2^31 / 2^63 here so that a
 * negated total can still be INT32_MIN / INT64_MIN; the caller checks
 * positive totals. */
static int dur_apply(dur *r, const dur_unit *u, uint64_t v)
{
    uint64_t *acc = u->field == 0 ? &r->months : u->field == 1 ? &r->days : &r->ns;
    return dur_add(acc, v, u->mult, u->field == 2 ? (uint64_t)1 << 63 : (uint64_t)1 << 31);
}

/* Digits at s[*i] as a count; 0 or -1 (none, overflow, or nothing after). */
static int dur_count(const char *s, size_t n, size_t *i, uint64_t *v)
{
    size_t ds = *i;
    *v = 0;
    while (*i < n && s[*i] >= '0' && s[*i] <= '9') {
        if (*v > (UINT64_MAX - 9) / 10)
            return -1;
        *v = *v * 10 + (uint64_t)(s[(*i)++] - '0');
    }
    return *i == ds || *i == n ? -1 : 0;
}

static const dur_unit *find_unit(const dur_unit *tab, size_t nt, const char *u, size_t un, int any_case)
{
    for (size_t k = 0; k < nt; k++)
        if (strlen(tab[k].name) == un && (any_case ? strncasecmp(tab[k].name, u, un) : strncmp(tab[k].name, u, un)) == 0)
            return &tab[k];
    return NULL;
}

static int parse_dur_units(const char *s, size_t n, dur *r)
{
    size_t i = 0;
    if (n == 0)
        return -1;
    while (i < n) {
        uint64_t v;
        if (dur_count(s, n, &i, &v))
            return -1;
        size_t us = i;
        while (i < n && !(s[i] >= '0' && s[i] <= '9'))
            i++;
        const dur_unit *u = find_unit(dur_units, sizeof dur_units / sizeof dur_units[0], s + us, i - us, 1);
        if (!u || dur_apply(r, u, v))
            return -1;
    }
    return 0;
}

/* ISO 8601 designators: P[nY][nM][nW][nD][T[nH][nM][nS]]. */
static int parse_dur_iso(const char *s, size_t n, dur *r)
{
    size_t i = 1; /* past 'P' */
    int in_time = 0, any = 0;
    while (i < n) {
        if (s[i] == 'T' && !in_time) {
            in_time = 1;
            i++;
            continue;
        }
        uint64_t v;
        if (dur_count(s, n, &i, &v))
            return -1;
        const dur_unit *u = in_time ? find_unit(iso_time_units, 3, s + i, 1, 0) : find_unit(iso_date_units, 4, s + i, 1, 0);
        if (!u || dur_apply(r, u, v))
            return -1;
        i++;
        any = 1;
    }
    return any ? 0 : -1;
}

static int put_duration_text(const cql_type *t, const char *s, size_t n, cs_buf *out, cql_error *err)
{
    dur r = {0, 0, 0};
    int neg = n > 0 && s[0] == '-';
    const char *b = s + neg;
    size_t bn = n - (size_t)neg;
    int rc = bn > 0 && b[0] == 'P' ? parse_dur_iso(b, bn, &r) : parse_dur_units(b, bn, &r);
    if (!rc && !neg && (r.months > INT32_MAX || r.days > INT32_MAX || r.ns > INT64_MAX))
        rc = -1;
    if (rc)
        return fail_got(err, "a duration like 1mo2d3ns, 1h30m, -2w or P1Y2M3DT4H", t, s, n);
    uint8_t tmp[27];
    size_t o = 0;
    /* Negate in unsigned arithmetic: 2^63 becomes INT64_MIN without overflow. */
    int64_t mo = (int64_t)(neg ? 0 - r.months : r.months), dd = (int64_t)(neg ? 0 - r.days : r.days),
            ns = (int64_t)(neg ? 0 - r.ns : r.ns);
    o += cqlt_uvint_put(tmp + o, cqlt_zigzag(mo));
    o += cqlt_uvint_put(tmp + o, cqlt_zigzag(dd));
    o += cqlt_uvint_put(tmp + o, cqlt_zigzag(ns));
    if (cs_buf_append(out, tmp, o))
        return cql_fail(err, CQL_E_NOMEM, "value buffer is full");
    return 0;
}

int cqlt_duration_decode(const uint8_t *p, size_t n, int32_t *months, int32_t *days, int64_t *ns)
{
    cs_rd r;
    uint64_t a, b, c;
    cs_rd_init(&r, p, n);
    if (cqlt_uvint_get(&r, &a) || cqlt_uvint_get(&r, &b) || cqlt_uvint_get(&r, &c) || r.n != 0)
        return -1;
    int64_t m = cqlt_unzigzag(a), d = cqlt_unzigzag(b);
    if (m < INT32_MIN || m > INT32_MAX || d < INT32_MIN || d > INT32_MAX)
        return -1;
    *months = (int32_t)m;
    *days = (int32_t)d;
    *ns = cqlt_unzigzag(c);
    return 0;
}

int cqlt_format_duration(int32_t months, int32_t days, int64_t ns, char *buf)
{
    int neg = months < 0 || days < 0 || ns < 0;
    if (neg && (months > 0 || days > 0 || ns > 0))
        return -1; /* Cassandra never stores mixed signs */
    uint64_t am = neg ? 0 - (uint64_t)(int64_t)months : (uint64_t)months;
    uint64_t ad = neg ? 0 - (uint64_t)(int64_t)days : (uint64_t)days;
    uint64_t an = neg ? 0 - (uint64_t)ns : (uint64_t)ns;
    return snprintf(buf, 80, "%s%" PRIu64 "mo%" PRIu64 "d%" PRIu64 "ns", neg ? "-" : "", am, ad, an);
}

/* ---------- dispatch ---------- */

int cqlt_scalar_from_text(const cql_type *t, const char *s, size_t n, cs_buf *out, cql_error *err)
{
    switch (t->id) {
    case CQL_T_ASCII:
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)s[i] > 0x7F) {
                char tb[32];
                return cql_fail(err, CQL_E_ENCODE, "expected only ASCII characters for %s, got byte 0x%02x at offset %zu",
                                cqlt_type_str(t, tb, sizeof tb), (unsigned char)s[i], i);
            }
        return cs_buf_append(out, s, n) ? cql_fail(err, CQL_E_NOMEM, "value buffer is full") : 0;
    case CQL_T_VARCHAR: {
        size_t bad = utf8_invalid_at((const uint8_t *)s, n);
        if (bad != n)
            return cql_fail(err, CQL_E_ENCODE, "expected valid UTF-8 for text, got invalid byte 0x%02x at offset %zu",
                            (unsigned char)s[bad], bad);
        return cs_buf_append(out, s, n) ? cql_fail(err, CQL_E_NOMEM, "value buffer is full") : 0;
    }
    case CQL_T_BLOB:
    case CQL_T_CUSTOM:
        return put_blob_text(t, s, n, out, err);
    case CQL_T_BOOLEAN:
        return put_bool_text(t, s, n, out, err);
    case CQL_T_TINYINT:
    case CQL_T_SMALLINT:
    case CQL_T_INT:
    case CQL_T_BIGINT:
    case CQL_T_COUNTER:
        return put_int_text(t, s, n, out, err);
    case CQL_T_VARINT:
        return put_varint_text(t, s, n, out, err);
    case CQL_T_DECIMAL:
        return put_decimal_text(t, s, n, out, err);
    case CQL_T_FLOAT:
    case CQL_T_DOUBLE:
        return put_float_text(t, s, n, out, err);
    case CQL_T_UUID:
    case CQL_T_TIMEUUID:
        return put_uuid_text(t, s, n, out, err);
    case CQL_T_INET:
        return put_inet_text(t, s, n, out, err);
    case CQL_T_DATE:
        return put_date_text(t, s, n, out, err);
    case CQL_T_TIME:
        return put_time_text(t, s, n, out, err);
    case CQL_T_TIMESTAMP:
        return put_timestamp_text(t, s, n, out, err);
    case CQL_T_DURATION:
        return put_duration_text(t, s, n, out, err);
    default:
        return cql_fail(err, CQL_E_USAGE, "type id 0x%x is not a scalar type", (unsigned)t->id);
    }
}
