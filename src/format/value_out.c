/* Wire bytes -> text and JSON, the inverse of types_text.c / types_json.c.
 *
 * One recursive writer serves both forms: `json` says whether scalars are
 * spelled as JSON (strings in quotes) or bare. fmt_value_text is bare at
 * the top level only; collections are JSON all the way down, because JSON
 * is a literal form the text reader accepts and its string escapes are
 * defined, so awkward text (quotes, commas, colons, newlines) needs no
 * second quoting scheme.
 *
 * Hot path: integers, dates, timestamps and UUIDs are written digit by
 * digit into the output buffer; a double's shortest digits come from
 * libdouble-conversion (util/dconv.h), a float's from printf/strtod, and
 * inet uses inet_ntop.
 */
#include "format/value_out.h"

#include <arpa/inet.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cql/types_int.h"
#include "util/check.h"
#include "util/dconv.h"
#include "util/utf8.h"

/* ---------- errors ---------- */

static int nomem(cql_error *err) { return cql_fail(err, CQL_E_NOMEM, "value buffer is full"); }

static int malformed(cql_error *err, const cql_type *t, const char *what, size_t got)
{
    char tb[96];
    return cql_fail(err, CQL_E_ENCODE, "malformed %s value: %s (got %zu bytes)", cqlt_type_str(t, tb, sizeof tb),
                    what, got);
}

/* ---------- small writers ---------- */

/* Decimal digits of v, written backwards ending at `end`; returns the start. */
static char *u64_digits(uint64_t v, char *end)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

static int put_i64(cs_buf *out, int64_t v)
{
    char b[24], *e = b + sizeof b;
    char *s = u64_digits(v < 0 ? 0 - (uint64_t)v : (uint64_t)v, e);
    if (v < 0)
        *--s = '-';
    return cs_buf_append(out, s, (size_t)(e - s));
}

/* w digits of v, zero padded, at p. */
static void put_fixed_digits(char *p, unsigned v, int w)
{
    for (int k = w - 1; k >= 0; k--) {
        p[k] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* s[0..n) in double quotes when json, else bare. */
static int put_maybe_quoted(cs_buf *out, const char *s, size_t n, int json)
{
    if (cs_buf_reserve(out, n + 2))
        return -1;
    if (json)
        out->data[out->len++] = '"';
    memcpy(out->data + out->len, s, n);
    out->len += n;
    if (json)
        out->data[out->len++] = '"';
    return 0;
}

/* 1 if none of the 8 bytes at s needs a JSON escape (below 0x20, '"' or
 * '\\'): the has-zero-byte test of "Bit Twiddling Hacks", exact as to
 * whether any byte matches. */
static int clean8(const char *s)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t w, q, b;
    memcpy(&w, s, 8);
    uint64_t lt = (w - ones * 0x20) & ~w & high;
    q = w ^ (ones * 0x22);
    b = w ^ (ones * 0x5C);
    return !(lt | ((q - ones) & ~q & high) | ((b - ones) & ~b & high));
}

int fmt_json_string(const char *s, size_t n, cs_buf *out)
{
    static const char hx[] = "0123456789ABCDEF";
    size_t start = out->len, run = 0;
    if (n == 0)
        s = ""; /* s may be NULL */
    if (cs_buf_reserve(out, n + 2))
        return -1;
    out->data[out->len++] = '"';
    for (size_t i = 0; i < n; i++) {
        if (n - i >= 8 && clean8(s + i)) {
            i += 7;
            continue;
        }
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        char e[6] = {'\\', 0, 0, 0, 0, 0};
        size_t en = 2;
        switch (c) {
        case '"': e[1] = '"'; break;
        case '\\': e[1] = '\\'; break;
        case '\b': e[1] = 'b'; break;
        case '\f': e[1] = 'f'; break;
        case '\n': e[1] = 'n'; break;
        case '\r': e[1] = 'r'; break;
        case '\t': e[1] = 't'; break;
        default:
            e[1] = 'u', e[2] = '0', e[3] = '0', e[4] = hx[c >> 4], e[5] = hx[c & 15];
            en = 6;
        }
        if (cs_buf_append(out, s + run, i - run) || cs_buf_append(out, e, en))
            goto full;
        run = i + 1;
    }
    if (cs_buf_append(out, s + run, n - run) || cs_buf_put_u8(out, '"'))
        goto full;
    return 0;
full:
    out->len = start;
    return -1;
}

/* 1 if s holds delim, quote, CR or LF: eight bytes at a time (a byte of x
 * equals c where x ^ (c * ONES) has a zero byte). */
static int csv_special(const char *s, size_t n, char delim, char quote)
{
    const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);
    const uint64_t md = ones * (uint8_t)delim, mq = ones * (uint8_t)quote, mr = ones * '\r',
                   mn = ones * '\n';
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x, a, b, c, d;
        memcpy(&x, s + i, 8);
        a = x ^ md;
        b = x ^ mq;
        c = x ^ mr;
        d = x ^ mn;
        if (((a - ones) & ~a) & highs || ((b - ones) & ~b) & highs ||
            ((c - ones) & ~c) & highs || ((d - ones) & ~d) & highs)
            return 1;
    }
    for (; i < n; i++)
        if (s[i] == delim || s[i] == quote || s[i] == '\r' || s[i] == '\n')
            return 1;
    return 0;
}

int fmt_csv_needs_quotes(const char *s, size_t n, char delim, char quote)
{
    /* a leading U+FEFF would be read as the file's byte order mark */
    return n == 0 || s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t' ||
           (n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) || csv_special(s, n, delim, quote);
}

int fmt_csv_field(const char *s, size_t n, char delim, char quote, cs_buf *out)
{
    if (!fmt_csv_needs_quotes(s, n, delim, quote))
        return cs_buf_append(out, s, n);
    return fmt_csv_quoted(s, n, quote, out);
}

int fmt_csv_quoted(const char *s, size_t n, char quote, cs_buf *out)
{
    /* quoted: the runs between quotes copied whole, each quote doubled */
    if (cs_buf_reserve(out, n + 2))
        return -1;
    out->data[out->len++] = (uint8_t)quote;
    const char *p = s, *end = s + n;
    while (p < end) {
        const char *q = memchr(p, quote, (size_t)(end - p));
        size_t run = q ? (size_t)(q - p) + 1 : (size_t)(end - p);
        if (cs_buf_append(out, p, run) || (q && cs_buf_put_u8(out, (uint8_t)quote)))
            return -1;
        p += run;
    }
    return cs_buf_put_u8(out, (uint8_t)quote);
}

/* ---------- floating point ---------- */

/* 1 if the p digits dig with decimal exponent e10 read back as x: as a
 * double, or for a float both directly (the text reader's strtof) and
 * through a double (json_loads, then the JSON encoder, which refuses a
 * double above FLT_MAX before it casts). */
static int reads_back(const char *dig, int p, int e10, double x, int is_float)
{
    char txt[40];
    txt[0] = dig[0];
    txt[1] = '.';
    memcpy(txt + 2, dig + 1, (size_t)(p - 1));
    snprintf(txt + 1 + p, sizeof txt - 1 - (size_t)p, "e%d", e10);
    double d = strtod(txt, NULL);
    if (!is_float)
        return d == x;
    return strtof(txt, NULL) == (float)x && d <= FLT_MAX && (float)d == (float)x;
}

/* The shortest significant digits of x (> 0, finite) that read back as x
 * (as a float when is_float): into dig, no trailing zeros; returns their
 * count and sets *e10, the exponent of the first digit. A double: the fast
 * path below, else libdouble-conversion's shortest digits (the closest to
 * x of that length). A float: one printf of the
 * longest form, rounded to each shorter length; a tail that is a tie
 * ("5", "50"...) may be one only after rounding, so then printf rounds x
 * itself. Fewer digits than lo never need trying for normal numbers: if
 * p < lo digits read back, the lo-digit rounding is those digits padded
 * with zeros (subnormals have less precision, so they try from 1). A float
 * none of whose 6..9-digit texts passes (near FLT_MAX, where the text
 * reads as a double above FLT_MAX) gets the digits of its double, which
 * read back exactly. */
/* The fast path of shortest_digits for a double with at most 15
 * significant digits of which at most 8 are decimals (prices, measures):
 * m = x * 10^k rounded; when m / 10^k == x (both exact, the division
 * correctly rounded, so this is what strtod makes of "m e-k"), m's digits
 * read back, and having at most 15 they are the shortest (see below).
 * Returns the digit count, or 0 when x is not such a number. */
static int short_decimal_digits(double x, char dig[24], int *e10)
{
    static const double p10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8};
    if (!(x < 1e15 && x >= 1e-8))
        return 0;
    for (int k = 0; k <= 8; k++) {
        double m = nearbyint(x * p10[k]);
        if (m >= 1e15)
            return 0;
        if (m > 0 && m / p10[k] == x) {
            char b[24], *e = b + sizeof b;
            char *d = u64_digits((uint64_t)m, e);
            int nd = (int)(e - d);
            *e10 = nd - 1 - k;
            while (nd > 1 && d[nd - 1] == '0')
                nd--;
            memcpy(dig, d, (size_t)nd);
            return nd;
        }
    }
    return 0;
}

static int shortest_digits(double x, int is_float, char dig[24], int *e10)
{
    if (!is_float) {
        int fast = short_decimal_digits(x, dig, e10);
        return fast ? fast : dconv_shortest(x, dig, e10);
    }
    int lo = is_float ? 6 : 15, hi = is_float ? 9 : 17;
    if (x < (is_float ? FLT_MIN : DBL_MIN))
        lo = 1; /* subnormals hold fewer digits */
    char full[40];
    snprintf(full, sizeof full, "%.*e", hi - 1, x); /* d.ddd...e[+-]XX */
    char all[24];
    all[0] = full[0];
    memcpy(all + 1, full + 2, (size_t)(hi - 1));
    int ex = atoi(full + hi + 2);
    int p = 0;
    for (int k = lo; k <= hi && !p; k++) {
        int ce = ex;
        int tie = k < hi && all[k] == '5';
        for (int j = k + 1; tie && j < hi; j++)
            tie = all[j] == '0';
        if (tie) {
            char b[40];
            snprintf(b, sizeof b, "%.*e", k - 1, x);
            dig[0] = b[0];
            memcpy(dig + 1, b + 2, (size_t)(k - 1));
            ce = atoi(strchr(b, 'e') + 1);
        } else {
            memcpy(dig, all, (size_t)k);
            if (k < hi && all[k] >= '5') {
                int j = k - 1;
                while (j >= 0 && dig[j] == '9')
                    dig[j--] = '0';
                if (j < 0) {
                    dig[0] = '1';
                    ce++;
                } else {
                    dig[j]++;
                }
            }
        }
        if ((!is_float && k == hi) || reads_back(dig, k, ce, x, is_float)) {
            p = k;
            *e10 = ce;
        }
    }
    if (!p)
        return shortest_digits(x, 0, dig, e10);
    while (p > 1 && dig[p - 1] == '0')
        p--;
    return p;
}

/* The text of x (a double, or a float widened): NaN/Infinity/-Infinity,
 * else its shortest digits laid out as %.17g lays out digits, with the
 * exponent as jansson writes it (no '+', no leading zeros) and ".0" when
 * there is neither a point nor an exponent. Returns the length in b
 * (at least 40 bytes). */
static size_t float_text(double x, int is_float, char *b)
{
    if (isnan(x) || isinf(x)) {
        const char *w = isnan(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity";
        memcpy(b, w, strlen(w));
        return strlen(w);
    }
    size_t o = 0;
    if (signbit(x))
        b[o++] = '-';
    x = fabs(x);
    if (x == 0) {
        memcpy(b + o, "0.0", 3);
        return o + 3;
    }
    char dig[24];
    int e10;
    int nd = shortest_digits(x, is_float, dig, &e10);
    if (e10 < -4 || e10 >= 17) {
        b[o++] = dig[0];
        if (nd > 1) {
            b[o++] = '.';
            memcpy(b + o, dig + 1, (size_t)nd - 1);
            o += (size_t)nd - 1;
        }
        b[o++] = 'e';
        if (e10 < 0)
            b[o++] = '-';
        char eb[8], *ee = eb + sizeof eb;
        char *es = u64_digits((uint64_t)(e10 < 0 ? -e10 : e10), ee);
        memcpy(b + o, es, (size_t)(ee - es));
        return o + (size_t)(ee - es);
    }
    if (e10 < 0) {
        b[o++] = '0';
        b[o++] = '.';
        for (int k = -1; k > e10; k--)
            b[o++] = '0';
        memcpy(b + o, dig, (size_t)nd);
        return o + (size_t)nd;
    }
    for (int k = 0; k <= e10; k++)
        b[o++] = k < nd ? dig[k] : '0';
    b[o++] = '.';
    if (nd > e10 + 1) {
        memcpy(b + o, dig + e10 + 1, (size_t)(nd - e10 - 1));
        o += (size_t)(nd - e10 - 1);
    } else {
        b[o++] = '0';
    }
    return o;
}

/* ---------- big numbers ---------- */

/* A two's-complement big-endian integer of 1..8 bytes. */
static int64_t small_int(const uint8_t *p, size_t n)
{
    uint64_t u = (p[0] & 0x80) ? ~(uint64_t)0 : 0;
    for (size_t i = 0; i < n; i++)
        u = (u << 8) | p[i];
    return (int64_t)u;
}

/* varint digits (with a '-'), fast for up to 8 bytes. 0; -1 when out is
 * full; -2 when there are more digits than the reader takes. */
static int put_varint(cs_buf *out, const uint8_t *p, size_t n)
{
    if (n <= 8)
        return put_i64(out, small_int(p, n));
    size_t start = out->len;
    if (cqlt_varint_to_text(p, n, out))
        return -1;
    if (out->len - start - (out->data[start] == '-') > CQLT_MAX_DIGITS) {
        out->len = start;
        return -2;
    }
    return 0;
}

/* Decimal: as cqlt_format_decimal ("-12.50", "0.001", "12E+3"), but a
 * scale too large for the reader's digit limit in plain form is written
 * as "<unscaled>E-<scale>", which reads back to the same scale. Same
 * returns as put_varint. */
static int put_decimal(cs_buf *out, int32_t scale, const uint8_t *p, size_t n)
{
    size_t start = out->len;
    int rc = put_varint(out, p, n);
    if (rc || scale == 0)
        return rc;
    if (scale < 0)
        return cs_buf_append(out, "E+", 2) || put_i64(out, -(int64_t)scale) ? -1 : 0;
    if (scale >= CQLT_MAX_DIGITS)
        return cs_buf_append(out, "E-", 2) || put_i64(out, scale) ? -1 : 0;
    /* Insert the point `scale` digits from the right, padding with zeros. */
    size_t ds = start + (out->data[start] == '-');
    size_t nd = out->len - ds, sc = (size_t)scale;
    size_t pad = sc >= nd ? sc - nd + 2 : 1; /* "0." and leading zeros, or the point */
    if (!cs_buf_extend(out, pad))
        return -1;
    uint8_t *d = out->data + ds;
    if (sc >= nd) {
        memmove(d + pad, d, nd);
        d[0] = '0', d[1] = '.';
        memset(d + 2, '0', pad - 2);
    } else {
        memmove(d + nd - sc + 1, d + nd - sc, sc);
        d[nd - sc] = '.';
    }
    return 0;
}

/* ---------- dates and times ---------- */

/* "YYYY-MM-DD" into b for years 1..9999; -1 otherwise. */
static int date_text(int64_t days, char *b)
{
    int64_t y;
    unsigned m, d;
    cqlt_civil_from_days(days, &y, &m, &d);
    if (y < 1 || y > 9999)
        return -1;
    put_fixed_digits(b, (unsigned)y, 4);
    b[4] = '-';
    put_fixed_digits(b + 5, m, 2);
    b[7] = '-';
    put_fixed_digits(b + 8, d, 2);
    return 10;
}

/* "HH:MM:SS" of a second of the day into b. */
static void hms_text(unsigned sec, char *b)
{
    put_fixed_digits(b, sec / 3600, 2);
    b[2] = ':';
    put_fixed_digits(b + 3, sec / 60 % 60, 2);
    b[5] = ':';
    put_fixed_digits(b + 6, sec % 60, 2);
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 bytes) for years 1..9999; -1 otherwise. */
static int timestamp_text(int64_t ms, char *b)
{
    int64_t days = ms / 86400000, rem = ms % 86400000;
    if (rem < 0)
        rem += 86400000, days--;
    if (date_text(days, b) < 0)
        return -1;
    b[10] = 'T';
    hms_text((unsigned)(rem / 1000), b + 11);
    b[19] = '.';
    put_fixed_digits(b + 20, (unsigned)(rem % 1000), 3);
    b[23] = 'Z';
    return 24;
}

/* "[-]<months>mo<days>d<ns>ns"; -1 for mixed signs. */
static int duration_text(int32_t months, int32_t days, int64_t ns, char *b)
{
    int neg = months < 0 || days < 0 || ns < 0;
    if (neg && (months > 0 || days > 0 || ns > 0))
        return -1;
    uint64_t v[3] = {neg ? 0 - (uint64_t)(int64_t)months : (uint64_t)months,
                     neg ? 0 - (uint64_t)(int64_t)days : (uint64_t)days, neg ? 0 - (uint64_t)ns : (uint64_t)ns};
    static const char *const unit[3] = {"mo", "d", "ns"};
    int o = 0;
    if (neg)
        b[o++] = '-';
    for (int k = 0; k < 3; k++) {
        char t[24], *e = t + sizeof t;
        char *s = u64_digits(v[k], e);
        memcpy(b + o, s, (size_t)(e - s));
        o += (int)(e - s);
        size_t un = strlen(unit[k]);
        memcpy(b + o, unit[k], un);
        o += (int)un;
    }
    return o;
}

/* ---------- scalars ---------- */

static size_t scalar_fixed_size(cql_type_id id)
{
    switch (id) {
    case CQL_T_BOOLEAN:
    case CQL_T_TINYINT: return 1;
    case CQL_T_SMALLINT: return 2;
    case CQL_T_INT:
    case CQL_T_FLOAT:
    case CQL_T_DATE: return 4;
    case CQL_T_BIGINT:
    case CQL_T_COUNTER:
    case CQL_T_DOUBLE:
    case CQL_T_TIMESTAMP:
    case CQL_T_TIME: return 8;
    case CQL_T_UUID:
    case CQL_T_TIMEUUID: return 16;
    default: return 0;
    }
}

static int is_string_type(cql_type_id id)
{
    return id == CQL_T_ASCII || id == CQL_T_VARCHAR || id == CQL_T_BLOB || id == CQL_T_CUSTOM;
}

static int write_text_bytes(const cql_type *t, const uint8_t *p, size_t n, int json, cs_buf *out, cql_error *err)
{
    size_t bad = n;
    if (t->id == CQL_T_ASCII) {
        for (size_t i = 0; i < n && bad == n; i++)
            if (p[i] > 0x7F)
                bad = i;
        if (bad != n) {
            char what[64];
            snprintf(what, sizeof what, "non-ASCII byte 0x%02x at offset %zu", p[bad], bad);
            return malformed(err, t, what, n);
        }
    } else if ((bad = utf8_invalid_at(p, n)) != n) {
        char what[64];
        snprintf(what, sizeof what, "invalid UTF-8 at offset %zu", bad);
        return malformed(err, t, what, n);
    }
    if (json)
        return fmt_json_string((const char *)p, n, out) ? nomem(err) : 0;
    return cs_buf_append(out, p, n) ? nomem(err) : 0;
}

static int write_blob(const uint8_t *p, size_t n, int json, cs_buf *out, cql_error *err)
{
    static const char hx[] = "0123456789abcdef";
    char *h = (char *)cs_buf_extend(out, 2 + 2 * n + (json ? 2 : 0));
    if (!h)
        return nomem(err);
    if (json)
        *h++ = '"';
    *h++ = '0', *h++ = 'x';
    for (size_t i = 0; i < n; i++) {
        *h++ = hx[p[i] >> 4];
        *h++ = hx[p[i] & 15];
    }
    if (json)
        *h = '"';
    return 0;
}

/* One scalar of n bytes (n may be 0 only for string types). */
static int write_scalar(const cql_type *t, const uint8_t *p, size_t n, int json, cs_buf *out, cql_error *err)
{
    size_t fixed = scalar_fixed_size(t->id);
    if (fixed && n != fixed) {
        char what[48];
        snprintf(what, sizeof what, "expected %zu bytes", fixed);
        return malformed(err, t, what, n);
    }
    char b[80];
    int bn;
    switch (t->id) {
    case CQL_T_ASCII:
    case CQL_T_VARCHAR:
        return write_text_bytes(t, p, n, json, out, err);
    case CQL_T_BLOB:
    case CQL_T_CUSTOM:
        return write_blob(p, n, json, out, err);
    case CQL_T_BOOLEAN:
        return (p[0] ? cs_buf_append(out, "true", 4) : cs_buf_append(out, "false", 5)) ? nomem(err) : 0;
    case CQL_T_TINYINT:
    case CQL_T_SMALLINT:
    case CQL_T_INT:
    case CQL_T_BIGINT:
    case CQL_T_COUNTER:
        return put_i64(out, small_int(p, n)) ? nomem(err) : 0;
    case CQL_T_VARINT:
    case CQL_T_DECIMAL: {
        int dec = t->id == CQL_T_DECIMAL;
        if (dec && n < 5)
            return malformed(err, t, "expected a 4-byte scale and at least 1 byte of digits", n);
        if (n - (size_t)(dec ? 4 : 0) > CQLT_MAX_DIGITS * 5 / 12)
            return malformed(err, t, "longer than 100000 digits", n);
        if (json && cs_buf_put_u8(out, '"'))
            return nomem(err);
        int rc = dec ? put_decimal(out, (int32_t)cs_be32(p), p + 4, n - 4) : put_varint(out, p, n);
        if (rc == -2)
            return malformed(err, t, "longer than 100000 digits", n);
        if (rc || (json && cs_buf_put_u8(out, '"')))
            return nomem(err);
        return 0;
    }
    case CQL_T_FLOAT:
    case CQL_T_DOUBLE: {
        double x;
        if (t->id == CQL_T_FLOAT) {
            uint32_t u = cs_be32(p);
            float f;
            memcpy(&f, &u, 4);
            x = f;
        } else {
            uint64_t u = cs_be64(p);
            memcpy(&x, &u, 8);
        }
        size_t fn = float_text(x, t->id == CQL_T_FLOAT, b);
        return put_maybe_quoted(out, b, fn, json && !isfinite(x)) ? nomem(err) : 0;
    }
    case CQL_T_UUID:
    case CQL_T_TIMEUUID:
        if (t->id == CQL_T_TIMEUUID && (p[6] >> 4) != 1)
            return malformed(err, t, "not a version 1 (time-based) UUID", n);
        cqlt_format_uuid(p, b);
        return put_maybe_quoted(out, b, 36, json) ? nomem(err) : 0;
    case CQL_T_INET:
        if (n != 4 && n != 16)
            return malformed(err, t, "expected 4 or 16 bytes", n);
        if (!inet_ntop(n == 4 ? AF_INET : AF_INET6, p, b, sizeof b))
            return malformed(err, t, "not an address", n);
        return put_maybe_quoted(out, b, strlen(b), json) ? nomem(err) : 0;
    case CQL_T_DATE: {
        int64_t days = (int64_t)cs_be32(p) - ((int64_t)1 << 31);
        bn = date_text(days, b);
        if (bn < 0)
            return put_i64(out, days) ? nomem(err) : 0;
        return put_maybe_quoted(out, b, (size_t)bn, json) ? nomem(err) : 0;
    }
    case CQL_T_TIMESTAMP: {
        int64_t ms = (int64_t)cs_be64(p);
        bn = timestamp_text(ms, b);
        if (bn < 0)
            return put_i64(out, ms) ? nomem(err) : 0;
        return put_maybe_quoted(out, b, (size_t)bn, json) ? nomem(err) : 0;
    }
    case CQL_T_TIME: {
        int64_t ns = (int64_t)cs_be64(p);
        if (ns < 0 || ns > 86399999999999LL)
            return malformed(err, t, "nanoseconds outside one day", n);
        hms_text((unsigned)(ns / 1000000000), b);
        b[8] = '.';
        put_fixed_digits(b + 9, (unsigned)(ns % 1000000000), 9);
        return put_maybe_quoted(out, b, 18, json) ? nomem(err) : 0;
    }
    case CQL_T_DURATION: {
        int32_t mo, d;
        int64_t ns;
        if (cqlt_duration_decode(p, n, &mo, &d, &ns) || (bn = duration_text(mo, d, ns, b)) < 0)
            return malformed(err, t, "expected three vints of one sign", n);
        return put_maybe_quoted(out, b, (size_t)bn, json) ? nomem(err) : 0;
    }
    default: {
        char tb[96];
        return cql_fail(err, CQL_E_USAGE, "cannot write values of %s", cqlt_type_str(t, tb, sizeof tb));
    }
    }
}

/* ---------- collections, tuples, UDTs, vectors ---------- */

static int write_value(const cql_type *t, const uint8_t *p, int32_t len, int json, cs_buf *out, cql_error *err,
                       int depth);

/* An element of a list, set, map or vector: never null, never empty. */
static int write_member(const cql_type *coll, const cql_type *t, const uint8_t *p, int32_t len, cs_buf *out,
                        cql_error *err, int depth)
{
    char tb[96];
    if (len < 0)
        return cql_fail(err, CQL_E_ENCODE, "malformed %s value: a null element (collections cannot hold null)",
                        cqlt_type_str(coll, tb, sizeof tb));
    int rc = write_value(t, p, len, 1, out, err, depth + 1);
    if (rc == 1)
        return cql_fail(err, CQL_E_ENCODE,
                        "%s value holds an empty (zero-length) element, which cannot be written: the reader "
                        "would take it for null, which collections cannot hold",
                        cqlt_type_str(coll, tb, sizeof tb));
    return rc;
}

static int put_char(cs_buf *out, char c, cql_error *err) { return cs_buf_put_u8(out, (uint8_t)c) ? nomem(err) : 0; }

/* map; as an object when text-keyed, else (or when a key holds U+0000,
 * which json_loads refuses in object keys) as [[key, value], ...]. */
static int write_map(const cql_type *t, cs_rd *r, int32_t count, size_t n, cs_buf *out, cql_error *err,
                     int depth)
{
    int obj = t->sub[0]->id == CQL_T_VARCHAR || t->sub[0]->id == CQL_T_ASCII;
    cs_rd start = *r;
    size_t mark = out->len;
retry:
    if (put_char(out, obj ? '{' : '[', err))
        return -1;
    for (int32_t i = 0; i < count; i++) {
        const uint8_t *kp, *vp;
        int32_t kl, vl;
        if (cqlt_read_elem(r, &kp, &kl) || cqlt_read_elem(r, &vp, &vl))
            return malformed(err, t, "truncated map entry", n);
        if (obj && kl > 0 && memchr(kp, 0, (size_t)kl)) {
            obj = 0;
            *r = start;
            out->len = mark;
            goto retry;
        }
        if ((i && put_char(out, ',', err)) || (!obj && put_char(out, '[', err)) ||
            write_member(t, t->sub[0], kp, kl, out, err, depth) || put_char(out, obj ? ':' : ',', err) ||
            write_member(t, t->sub[1], vp, vl, out, err, depth) || (!obj && put_char(out, ']', err)))
            return -1;
    }
    return put_char(out, obj ? '}' : ']', err);
}

static int write_compound(const cql_type *t, const uint8_t *p, size_t n, cs_buf *out, cql_error *err, int depth)
{
    cs_rd r;
    cs_rd_init(&r, p, n);
    const uint8_t *ep = NULL;
    int32_t elen;
    switch (t->id) {
    case CQL_T_LIST:
    case CQL_T_SET:
    case CQL_T_MAP: {
        int32_t count = (int32_t)cs_rd_u32(&r);
        if (r.err || count < 0)
            return malformed(err, t, "bad element count", n);
        if (t->id == CQL_T_MAP) {
            if (write_map(t, &r, count, n, out, err, depth))
                return -1;
            break;
        }
        if (put_char(out, '[', err))
            return -1;
        for (int32_t i = 0; i < count; i++) {
            if (cqlt_read_elem(&r, &ep, &elen))
                return malformed(err, t, "truncated element", n);
            if ((i && put_char(out, ',', err)) || write_member(t, t->sub[0], ep, elen, out, err, depth))
                return -1;
        }
        if (put_char(out, ']', err))
            return -1;
        break;
    }
    case CQL_T_VECTOR: {
        size_t fixed = cql_type_fixed_size(t->sub[0]);
        if (put_char(out, '[', err))
            return -1;
        for (uint32_t i = 0; i < t->dimension; i++) {
            uint64_t vl = fixed;
            if (!fixed && (cqlt_uvint_get(&r, &vl) || vl > r.n))
                return malformed(err, t, "truncated element", n);
            if (!(ep = cs_rd_bytes(&r, (size_t)vl)))
                return malformed(err, t, "truncated element", n);
            if ((i && put_char(out, ',', err)) || write_member(t, t->sub[0], ep, (int32_t)vl, out, err, depth))
                return -1;
        }
        if (put_char(out, ']', err))
            return -1;
        break;
    }
    case CQL_T_TUPLE:
    case CQL_T_UDT: {
        int udt = t->id == CQL_T_UDT;
        char tb[96];
        if (udt && !t->field_names)
            return cql_fail(err, CQL_E_USAGE, "the fields of user type %s are not known",
                            cqlt_type_str(t, tb, sizeof tb));
        if (put_char(out, udt ? '{' : '[', err))
            return -1;
        for (uint16_t f = 0; f < t->nsub; f++) {
            if (f && put_char(out, ',', err))
                return -1;
            if (udt && (fmt_json_string(t->field_names[f], strlen(t->field_names[f]), out) || put_char(out, ':', err)))
                return nomem(err);
            elen = -1; /* values written before fields were added end early */
            if (r.n && cqlt_read_elem(&r, &ep, &elen))
                return malformed(err, t, "truncated field", n);
            int rc = elen < 0 ? 1 : write_value(t->sub[f], ep, elen, 1, out, err, depth + 1);
            if (rc < 0)
                return -1;
            if (rc == 1 && cs_buf_append(out, "null", 4)) /* null, or a legacy empty field */
                return nomem(err);
        }
        if (put_char(out, udt ? '}' : ']', err))
            return -1;
        break;
    }
    default:
        CS_CHECK(0);
    }
    if (r.n != 0)
        return malformed(err, t, "trailing bytes after the last element", n);
    return 0;
}

static int is_compound(cql_type_id id)
{
    return id == CQL_T_LIST || id == CQL_T_SET || id == CQL_T_MAP || id == CQL_T_TUPLE || id == CQL_T_UDT ||
           id == CQL_T_VECTOR;
}

/* 0 written, 1 legacy empty (nothing written), -1 error. */
static int write_value(const cql_type *t, const uint8_t *p, int32_t len, int json, cs_buf *out, cql_error *err,
                       int depth)
{
    CS_CHECK(len >= 0);
    if (len == 0)
        p = (const uint8_t *)""; /* an empty element's pointer is NULL */
    if (depth > CQLT_MAX_DEPTH)
        return cql_fail(err, CQL_E_ENCODE, "value nested more than %d levels deep", CQLT_MAX_DEPTH);
    if (!is_compound(t->id)) {
        if (len == 0 && !is_string_type(t->id))
            return 1;
        return write_scalar(t, p, (size_t)len, json, out, err);
    }
    if (t->id != CQL_T_UDT && t->id != CQL_T_TUPLE) {
        if (len == 0)
            return 1;
        if (t->nsub == 0)
            return cql_fail(err, CQL_E_USAGE, "compound type without element types");
    }
    return write_compound(t, p, (size_t)len, out, err, depth);
}

static int write_top(const cql_type *t, const uint8_t *p, int32_t len, int json, cs_buf *out, cql_error *err)
{
    CS_CHECK(t && out);
    CS_CHECK(len >= 0); /* null is the caller's to write */
    size_t start = out->len;
    int rc = write_value(t, p, len, json, out, err, 0);
    if (rc != 0)
        out->len = start;
    return rc;
}

int fmt_value_text(const cql_type *t, const uint8_t *p, int32_t len, cs_buf *out, cql_error *err)
{
    return write_top(t, p, len, 0, out, err);
}

int fmt_value_json(const cql_type *t, const uint8_t *p, int32_t len, cs_buf *out, cql_error *err)
{
    return write_top(t, p, len, 1, out, err);
}
