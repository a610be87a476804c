/* Source values to CQL wire values. Text goes through the type codecs'
 * text parser (one set of rules for CSV fields and SQLite text); integers
 * and doubles take fast paths for numeric columns and are formatted as text
 * otherwise, so that e.g. an integer in a timestamp column follows the same
 * rule as the same digits in a CSV file. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load/loader.h"
#include "cql/types_int.h"
#include "util/dconv.h"

static int put_fixed(cs_buf *out, const void *p, uint32_t n)
{
    return cs_buf_put_u32(out, n) || cs_buf_append(out, p, n) ? -1 : 0;
}

static int int_range(const cql_type *t, int64_t v, cql_error *err)
{
    int64_t lo, hi;
    switch (t->id) {
    case CQL_T_TINYINT: lo = INT8_MIN; hi = INT8_MAX; break;
    case CQL_T_SMALLINT: lo = INT16_MIN; hi = INT16_MAX; break;
    case CQL_T_INT: lo = INT32_MIN; hi = INT32_MAX; break;
    default: return 0;
    }
    if (v < lo || v > hi)
        return cql_fail(err, CQL_E_ENCODE, "%" PRId64 " is out of range for %s (%" PRId64 "..%" PRId64 ")",
                        v, cql_type_name(t->id), lo, hi);
    return 0;
}

int load_convert_value(const cql_type *t, const src_value *v, cs_buf *out, cql_error *err)
{
    char tmp[64];
    switch (v->kind) {
    case SV_NULL:
        return cql_value_put_unset(out);
    case SV_TEXT:
        return cql_value_encode_text(t, v->u.s.p, v->u.s.n, out, err);
    case SV_JSON:
        return cql_value_encode_json(t, v->u.j, out, err);
    case SV_BLOB:
        if (t->id == CQL_T_BLOB || ((t->id == CQL_T_UUID || t->id == CQL_T_TIMEUUID) && v->u.s.n == 16))
            return put_fixed(out, v->u.s.p, (uint32_t)v->u.s.n);
        return cql_value_encode_text(t, v->u.s.p, v->u.s.n, out, err);
    case SV_INT: {
        int64_t i = v->u.i;
        uint8_t b[8];
        switch (t->id) {
        case CQL_T_BIGINT:
        case CQL_T_COUNTER:
            cs_put_be64(b, (uint64_t)i);
            return put_fixed(out, b, 8);
        case CQL_T_INT:
            if (int_range(t, i, err))
                return -1;
            cs_put_be32(b, (uint32_t)(int32_t)i);
            return put_fixed(out, b, 4);
        case CQL_T_SMALLINT:
            if (int_range(t, i, err))
                return -1;
            cs_put_be16(b, (uint16_t)(int16_t)i);
            return put_fixed(out, b, 2);
        case CQL_T_TINYINT:
            if (int_range(t, i, err))
                return -1;
            b[0] = (uint8_t)(int8_t)i;
            return put_fixed(out, b, 1);
        case CQL_T_DOUBLE: {
            double d = (double)i;
            uint64_t bits;
            memcpy(&bits, &d, 8);
            cs_put_be64(b, bits);
            return put_fixed(out, b, 8);
        }
        default:
            snprintf(tmp, sizeof tmp, "%" PRId64, i);
            return cql_value_encode_text(t, tmp, strlen(tmp), out, err);
        }
    }
    case SV_DOUBLE: {
        double d = v->u.d;
        uint8_t b[8];
        if (t->id == CQL_T_DOUBLE) {
            uint64_t bits;
            memcpy(&bits, &d, 8);
            cs_put_be64(b, bits);
            return put_fixed(out, b, 8);
        }
        if (t->id == CQL_T_FLOAT) {
            float f = (float)d;
            uint32_t bits;
            memcpy(&bits, &f, 4);
            cs_put_be32(b, bits);
            return put_fixed(out, b, 4);
        }
        if (isnan(d) || isinf(d))
            snprintf(tmp, sizeof tmp, "%s", isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
        else
            dconv_text_g(d, tmp, sizeof tmp);   /* 0.99 stays 0.99, not 0.98999... */
        return cql_value_encode_text(t, tmp, strlen(tmp), out, err);
    }
    default:
        return load_convert_typed(t, v, out, err);
    }
}

/* ---- per-column rules: epoch units, rounded values ------------------------ */

int load_epoch_unit_parse(const char *s)
{
    if (!s)
        return -1;
    if (!strcmp(s, "s"))
        return LOAD_EPOCH_S;
    if (!strcmp(s, "ms"))
        return LOAD_EPOCH_MS;
    if (!strcmp(s, "us"))
        return LOAD_EPOCH_US;
    return -1;
}

const char *load_epoch_unit_words(load_epoch_unit u)
{
    return u == LOAD_EPOCH_S ? "seconds" : u == LOAD_EPOCH_US ? "microseconds" : "milliseconds";
}

/* An integer in a timestamp column counted in seconds or microseconds,
 * as CQL's milliseconds. */
static int put_epoch(int64_t i, load_epoch_unit u, cs_buf *out, cql_error *err)
{
    int64_t ms = i;
    if (u == LOAD_EPOCH_S && __builtin_mul_overflow(i, (int64_t)1000, &ms))
        return cql_fail(err, CQL_E_ENCODE, "%" PRId64 " seconds since 1970 is out of the range of "
                        "timestamp", i);
    if (u == LOAD_EPOCH_US) {
        if (i % 1000)
            return cql_fail(err, CQL_E_ENCODE, "%" PRId64 " microseconds since 1970 has digits "
                            "below the millisecond, which Cassandra's timestamp does not keep: "
                            "they would be lost, so the value is refused", i);
        ms = i / 1000;
    }
    uint8_t b[8];
    cs_put_be64(b, (uint64_t)ms);
    return put_fixed(out, b, 8);
}

/* The significant digits of decimal text (no sign, leading or trailing
 * zeros, point or exponent) into dig (at most cap, NUL-terminated);
 * returns how many there are (may exceed cap). */
static size_t significant_digits(const char *s, size_t n, char *dig, size_t cap)
{
    size_t nd = 0, kept = 0;    /* digits seen since the first nonzero; up to the last nonzero */
    for (size_t i = 0; i < n && s[i] != 'e' && s[i] != 'E'; i++) {
        char ch = s[i];
        if (ch < '0' || ch > '9' || (ch == '0' && nd == 0))
            continue;
        if (nd < cap)
            dig[nd] = ch;
        nd++;
        if (ch != '0')
            kept = nd;
    }
    if (dig)
        dig[kept < cap ? kept : cap - 1] = 0;
    return kept;
}

/* d (> 0, finite) correctly rounded to p significant digits, as digits
 * (p of them, no NUL) and a decimal exponent, from `full`, its correctly
 * rounded text to hi digits ("d.ddde+X", as %.*e prints it). Rounding that
 * text again is exact unless its dropped tail is a tie ("5", "50"...): then
 * printf rounds d itself. */
static int round_digits(double d, const char *full, int hi, int p, char *dig)
{
    int e10 = atoi(strchr(full, 'e') + 1);
    dig[0] = full[0];
    memcpy(dig + 1, full + 2, (size_t)(p - 1));
    if (p == hi)
        return e10;
    const char *tail = full + 1 + p;   /* digit p (0-based) of the hi digits */
    int tie = tail[0] == '5';
    for (int k = 1; tie && k < hi - p; k++)
        tie = tail[k] == '0';
    if (tie) {
        char buf[48];
        snprintf(buf, sizeof buf, "%.*e", p - 1, d);
        dig[0] = buf[0];
        memcpy(dig + 1, buf + 2, (size_t)(p - 1));
        return atoi(strchr(buf, 'e') + 1);
    }
    if (tail[0] >= '5') {
        int k = p - 1;
        while (k >= 0 && dig[k] == '9')
            dig[k--] = '0';
        if (k < 0) {
            dig[0] = '1';
            e10++;
        } else {
            dig[k]++;
        }
    }
    return e10;
}

/* 1 if the p digits dig with exponent e10 read back as d (or as the float d). */
static int reads_back(const char *dig, int p, int e10, double d, int is_float)
{
    char txt[48];
    txt[0] = dig[0];
    txt[1] = '.';
    memcpy(txt + 2, dig + 1, (size_t)(p - 1));
    snprintf(txt + 1 + p, sizeof txt - 1 - (size_t)p, "e%d", e10);
    return is_float ? strtof(txt, NULL) == (float)d : strtod(txt, NULL) == d;
}

/* 1 if the number text s, accepted by a double (or float) column as d,
 * had digits that d does not keep: its significant digits are neither
 * those of d's shortest text (what clients print: "0.1") nor d's exact
 * decimal value. Up to 15 (float: 6) significant digits always read back
 * as written, so only longer texts take the slow path; a shortest text
 * costs one printf and a strtod per digit beyond 15 (6). */
static int text_rounded(const char *s, size_t n, double d, int is_float)
{
    int lo = is_float ? 6 : 15, hi = is_float ? 9 : 17;
    size_t sig = significant_digits(s, n, NULL, 0);
    if (sig <= (size_t)lo)
        return 0;
    if (sig > 800 || isnan(d) || isinf(d))
        return 1;
    char want[808], buf[840], got[808];
    significant_digits(s, n, want, sizeof want);
    d = fabs(d);
    if (sig <= (size_t)hi) {
        /* d's shortest text is its correctly rounded text to the fewest
         * digits p >= lo that reads back as d. The text has sig digits and
         * reads back, so p <= sig; it equals the text only if p == sig, the
         * sig-digit rounding is the text, and no p < sig reads back. */
        char full[48], dig[24];
        snprintf(full, sizeof full, "%.*e", hi - 1, d);
        int p = (int)sig;
        round_digits(d, full, hi, p, dig);
        int same = !memcmp(dig, want, sig);
        for (p = (int)sig - 1; same && p >= lo; p--) {
            int e10 = round_digits(d, full, hi, p, dig);
            same = !reads_back(dig, p, e10, d, is_float);
        }
        if (same)
            return 0;
    }
    /* d's exact value m * 2^-k (m odd) has the digits of m * 5^k: at least
     * floor(k log10 5) + 1 of them, too many for the text when that is > sig */
    int e2;
    double m = frexp(d, &e2);
    int k = 53 - e2;    /* d = (m * 2^53) * 2^-k */
    double mi = ldexp(m, 53);
    while (k > 0 && fmod(mi, 2.0) == 0.0) {
        mi /= 2.0;
        k--;
    }
    if (k > 0 && (size_t)((long long)k * 69897 / 100000) + 1 > sig)
        return 1;
    snprintf(buf, sizeof buf, "%.780e", d);     /* exact: glibc prints every digit */
    significant_digits(buf, strlen(buf), got, sizeof got);
    return strcmp(want, got) != 0;
}

/* Count a rounded value of column c; the first one is kept for the note. */
static void note_rounded(load_column_info *ci, const src_value *v, int64_t pos)
{
    if (atomic_fetch_add(&ci->rounded, 1) != 0 || atomic_exchange(&ci->first_taken, 1))
        return;
    ci->first_pos = pos;
    if (v->kind == SV_INT)
        snprintf(ci->first, sizeof ci->first, "%" PRId64, v->u.i);
    else if (v->kind == SV_DOUBLE)
        dconv_text_g(v->u.d, ci->first, sizeof ci->first);
    else if (v->kind == SV_TEXT || v->kind == SV_DECIMAL)
        snprintf(ci->first, sizeof ci->first, "%.*s", (int)v->u.s.n, v->u.s.p);
    else
        snprintf(ci->first, sizeof ci->first, "(a %s value)", "typed");
}

/* Whether s[0..n) is an integer ([+-]digits), into *v. */
static int integer_text(const char *s, size_t n, int64_t *v)
{
    return cqlt_parse_i64(s, n, INT64_MIN, INT64_MAX, v) == 0;
}

/* Whether s[0..n) is seconds with decimals ("-12.5"): into *ms; *lost
 * when a decimal below the millisecond is not zero. */
static int seconds_text(const char *s, size_t n, int64_t *ms, int *lost)
{
    const char *dot = memchr(s, '.', n);
    int64_t sec;
    if (!dot || !integer_text(s, (size_t)(dot - s), &sec) || dot + 1 == s + n)
        return 0;
    int64_t frac = 0;
    int k = 0;
    *lost = 0;
    for (const char *p = dot + 1; p < s + n; p++, k++) {
        if (*p < '0' || *p > '9')
            return 0;
        if (k < 3)
            frac = frac * 10 + (*p - '0');
        else if (*p != '0')
            *lost = 1;
    }
    for (; k < 3; k++)
        frac *= 10;
    if (__builtin_mul_overflow(sec, (int64_t)1000, ms))
        return 0;
    *ms += s[0] == '-' ? -frac : frac;
    return 1;
}

/* A text value read with the user's formats (load_table.textfmt): 0 with
 * the value appended to out, -1 with err, or 1 when the formats do not
 * apply (the value goes the usual way, *v2 perhaps rewritten: a number
 * with its separators replaced, a timestamp with the default zone added;
 * its text in buf). */
static int convert_formatted(const textfmt *tf, const cql_type *ty, const src_value *v,
                             src_value *v2, char *buf, size_t cap, cs_buf *out, cql_error *err)
{
    const char *s = v->u.s.p;
    size_t n = v->u.s.n;
    char why[160], q[80];
    switch (ty->id) {
    case CQL_T_TIMESTAMP: {
        int64_t i, ms;
        if (tf->epoch_unit && integer_text(s, n, &i))
            return put_epoch(i, tf->epoch_unit == 1 ? LOAD_EPOCH_S
                                : tf->epoch_unit == 1000000 ? LOAD_EPOCH_US : LOAD_EPOCH_MS,
                             out, err);
        int lost = 0, rc = 1;
        if (tf->epoch_unit == 1 && seconds_text(s, n, &ms, &lost))
            rc = lost ? -2 : 0;
        else if (tf->timestamp_format)
            rc = textfmt_read_timestamp_tz(tf->timestamp_format, s, n, tf->zone_min, tf->tz, &ms,
                                           why, sizeof why);
        if (rc == -1)
            return cql_fail(err, CQL_E_ENCODE, "%s does not match --timestamp-format '%s': %s",
                            cqlt_quote(s, n, q, sizeof q), tf->timestamp_format, why);
        if (rc == -2)
            return cql_fail(err, CQL_E_ENCODE, "%s has digits below the millisecond, which "
                            "Cassandra's timestamp does not keep: they would be lost, so the "
                            "value is refused", cqlt_quote(s, n, q, sizeof q));
        if (rc == 0) {
            uint8_t b[8];
            cs_put_be64(b, (uint64_t)ms);
            return put_fixed(out, b, 8);
        }
        /* an ISO text without a zone of its own is at --time-zone */
        if (tf->has_zone && (tf->zone_min || tf->tz) && n >= 10 && n + 16 < cap && s[4] == '-') {
            int zoned = 0;
            for (size_t k = 10; k < n && !zoned; k++)
                zoned = s[k] == 'Z' || s[k] == 'z' || s[k] == '+' || s[k] == '-' || s[k] == 'U';
            if (!zoned && tf->tz && cqlt_parse_timestamp(s, n, &ms) == 0) {
                /* read as UTC, that is its wall-clock time: the zone's offset then */
                int64_t local_s = ms / 1000 - (ms % 1000 < 0), u;
                if (__builtin_mul_overflow(cs_tz_to_utc(tf->tz, local_s), (int64_t)1000, &u) ||
                    __builtin_add_overflow(u, ms - local_s * 1000, &ms))
                    return cql_fail(err, CQL_E_ENCODE, "%s is out of the range of timestamp",
                                    cqlt_quote(s, n, q, sizeof q));
                uint8_t b[8];
                cs_put_be64(b, (uint64_t)ms);
                return put_fixed(out, b, 8);
            }
            if (!zoned && !tf->tz && !integer_text(s, n, &i)) {
                /* a date alone is that day's midnight at the offset */
                int a = tf->zone_min < 0 ? -tf->zone_min : tf->zone_min;
                memcpy(buf, s, n);
                int k = snprintf(buf + n, cap - n, "%s%c%02d:%02d", n == 10 ? "T00:00" : "",
                                 tf->zone_min < 0 ? '-' : '+', a / 60, a % 60);
                *v2 = *v;
                v2->u.s.p = buf;
                v2->u.s.n = n + (size_t)k;
            }
        }
        return 1;
    }
    case CQL_T_DATE: {
        if (!tf->date_format)
            return 1;
        int64_t days;
        if (textfmt_read_date(tf->date_format, s, n, &days, why, sizeof why))
            return cql_fail(err, CQL_E_ENCODE, "%s does not match --date-format '%s': %s",
                            cqlt_quote(s, n, q, sizeof q), tf->date_format, why);
        if (days < INT32_MIN || days > INT32_MAX)
            return cql_fail(err, CQL_E_ENCODE, "%s is out of the range of date",
                            cqlt_quote(s, n, q, sizeof q));
        uint8_t b[4];
        cs_put_be32(b, (uint32_t)(days + (INT64_C(1) << 31)));
        return put_fixed(out, b, 4);
    }
    default: {
        if (!textfmt_number_type(ty->id) || !textfmt_separators(tf))
            return 1;
        if (n >= cap)
            return cql_fail(err, CQL_E_ENCODE, "%s is longer than %zu characters, which is more "
                            "than --decimal-separator and --thousands-separator rewrite",
                            cqlt_quote(s, n, q, sizeof q), cap - 1);
        int k = textfmt_number_in(s, n, tf->decimal_sep, tf->thousands_sep, buf, cap);
        if (k < 0)
            return cql_fail(err, CQL_E_ENCODE, "%s is not a number written with %s%c%s%s%c%s",
                            cqlt_quote(s, n, q, sizeof q), "'",
                            tf->decimal_sep ? tf->decimal_sep : '.', "' for the point",
                            tf->thousands_sep ? " and '" : "",
                            tf->thousands_sep ? tf->thousands_sep : ' ',
                            tf->thousands_sep ? "' between groups of three digits" : "");
        *v2 = *v;
        v2->u.s.p = buf;
        v2->u.s.n = (size_t)k;
        return 1;
    }
    }
}

int load_convert_watched(const load_table *t, int c, const src_value *v, int64_t pos, cs_buf *out,
                         cql_error *err)
{
    const cql_type *ty = t->types[c];
    load_column_info *ci = t->info ? &t->info[c] : NULL;
    src_value rewritten;
    char fbuf[512];
    if (t->textfmt && v->kind == SV_TEXT) {
        rewritten.kind = SV_NULL;
        int rc = convert_formatted(t->textfmt, ty, v, &rewritten, fbuf, sizeof fbuf, out, err);
        if (rc <= 0)
            return rc;
        if (rewritten.kind == SV_TEXT)
            v = &rewritten;
    }
    if (v->kind == SV_INT && ty->id == CQL_T_TIMESTAMP && ci && ci->epoch_unit != LOAD_EPOCH_MS)
        return put_epoch(v->u.i, (load_epoch_unit)ci->epoch_unit, out, err);
    size_t start = out->len;
    if (load_convert_value(ty, v, out, err))
        return -1;
    if (!ci || t->quiet_values || (ty->id != CQL_T_DOUBLE && ty->id != CQL_T_FLOAT))
        return 0;
    /* Up to 15 (float: 6) characters hold at most that many significant
     * digits, which always read back as written: the common case. */
    if ((v->kind == SV_TEXT || v->kind == SV_DECIMAL) &&
        v->u.s.n <= (ty->id == CQL_T_FLOAT ? 6u : 15u))
        return 0;
    /* the value written: the last 8 (4) bytes; a null (unset) has none */
    if (out->len - start != 4 + (ty->id == CQL_T_DOUBLE ? 8u : 4u))
        return 0;
    const uint8_t *p = out->data + start + 4;
    double d;
    if (ty->id == CQL_T_DOUBLE) {
        uint64_t u = cs_be64(p);
        memcpy(&d, &u, 8);
    } else {
        uint32_t u = cs_be32(p);
        float f;
        memcpy(&f, &u, 4);
        d = f;
    }
    int rounded = 0;
    if (v->kind == SV_TEXT || v->kind == SV_DECIMAL)
        rounded = text_rounded(v->u.s.p, v->u.s.n, d, ty->id == CQL_T_FLOAT);
    else if (v->kind == SV_INT)
        rounded = (v->u.i > (INT64_C(1) << 53) || v->u.i < -(INT64_C(1) << 53)) &&
                  (d >= 0x1p63 || (int64_t)d != v->u.i);
    else if (v->kind == SV_DOUBLE)  /* a SQLite REAL into a float column */
        rounded = d != v->u.d && !isnan(d);
    if (rounded)
        note_rounded(ci, v, pos);
    return 0;
}


void load_print_value_notes(const load_table *t, FILE *out)
{
    for (int c = 0; t->info && c < t->ncols; c++) {
        load_column_info *ci = &t->info[c];
        long long n = atomic_load(&ci->rounded);
        if (n == 0)
            continue;
        const char *kind = t->types[c]->id == CQL_T_FLOAT ? "float" : "double";
        fprintf(out,
                "cqlshift: note: %s.%s.%s: %lld value%s had more significant digits than a %s "
                "holds and %s rounded to the nearest %s; the first, at position %" PRId64
                ": %s\n",
                t->keyspace, t->name, t->col_names[c], n, n == 1 ? "" : "s", kind,
                n == 1 ? "was" : "were", kind, ci->first_pos, ci->first);
    }
}
