/* Typed source values (database sources: booleans, unsigned and decimal
 * numbers, timestamps, dates, times, durations, uuids, addresses, lists)
 * to CQL wire values, and the text form of any source value.
 *
 * A value goes straight to its natural CQL type (an SV_TIMESTAMP to a
 * timestamp column, an SV_LIST to a list); to any other column type it
 * goes through its text form and that type's text rules, the same rules a
 * CSV field meets, so a table created by hand with other types gets the
 * same result whatever the source. Nothing is rounded silently: a value
 * the target cannot hold exactly is refused with a sentence.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cql/types_int.h"
#include "load/loader.h"
#include "util/dconv.h"

static int put_fixed(cs_buf *out, const void *p, uint32_t n)
{
    return cs_buf_put_u32(out, n) || cs_buf_append(out, p, n) ? -1 : 0;
}

/* "YYYY-MM-DD" for years 0..9999, else ISO 8601's expanded form with a
 * sign ("-0044-03-15": astronomical numbering, year 0 = 1 BC). */
static int fmt_date(int64_t days, char *buf, size_t n)
{
    int64_t y;
    unsigned m, d;
    cqlt_civil_from_days(days, &y, &m, &d);
    if (y >= 0 && y <= 9999)
        return snprintf(buf, n, "%04d-%02u-%02u", (int)y, m, d);
    return snprintf(buf, n, "%c%06" PRId64 "-%02u-%02u", y < 0 ? '-' : '+', y < 0 ? -y : y, m, d);
}

/* Fraction digits of a count of `unit` (1e6 for µs, 1e9 for ns) below the
 * second, without trailing zeros: ".123", ".000001", or "". */
static void fmt_frac(int64_t frac, int digits, char *buf, size_t n)
{
    if (frac == 0) {
        buf[0] = 0;
        return;
    }
    int len = snprintf(buf, n, ".%0*" PRId64, digits, frac);
    while (len > 1 && buf[len - 1] == '0')
        buf[--len] = 0;
}

static int fmt_timestamp_us(int64_t us, char *buf, size_t n)
{
    int64_t days = us / 86400000000LL, rem = us % 86400000000LL;
    if (rem < 0)
        rem += 86400000000LL, days--;
    char date[32], frac[16];
    fmt_date(days, date, sizeof date);
    int64_t sec = rem / 1000000;
    fmt_frac(rem % 1000000, 6, frac, sizeof frac);
    return snprintf(buf, n, "%sT%02d:%02d:%02d%sZ", date, (int)(sec / 3600), (int)(sec / 60 % 60),
                    (int)(sec % 60), frac);
}

static int fmt_time_ns(int64_t ns, char *buf, size_t n)
{
    uint64_t a = ns < 0 ? 0 - (uint64_t)ns : (uint64_t)ns;
    uint64_t sec = a / 1000000000u;
    char frac[16];
    fmt_frac((int64_t)(a % 1000000000u), 9, frac, sizeof frac);
    return snprintf(buf, n, "%s%02" PRIu64 ":%02d:%02d%s", ns < 0 ? "-" : "", sec / 3600,
                    (int)(sec / 60 % 60), (int)(sec % 60), frac);
}

static json_t *value_json(const src_value *v, int depth);

int load_value_text(const src_value *v, cs_buf *out)
{
    char b[128];
    int n = -1;
    switch (v->kind) {
    case SV_NULL: return 0;
    case SV_INT: n = snprintf(b, sizeof b, "%" PRId64, v->u.i); break;
    case SV_UINT: n = snprintf(b, sizeof b, "%" PRIu64, v->u.u); break;
    case SV_BOOL: n = snprintf(b, sizeof b, "%s", v->u.i ? "true" : "false"); break;
    case SV_DOUBLE:
        if (isnan(v->u.d) || isinf(v->u.d))
            n = snprintf(b, sizeof b, "%s", isnan(v->u.d) ? "NaN" : v->u.d > 0 ? "Infinity" : "-Infinity");
        else
            n = dconv_text_g(v->u.d, b, sizeof b);
        break;
    case SV_TIMESTAMP: n = fmt_timestamp_us(v->u.i, b, sizeof b); break;
    case SV_DATE: n = fmt_date(v->u.i, b, sizeof b); break;
    case SV_TIME: n = fmt_time_ns(v->u.i, b, sizeof b); break;
    case SV_DURATION: {
        int32_t mo = v->u.dur.months, d = v->u.dur.days;
        int64_t ns = v->u.dur.nanos;
        n = cqlt_format_duration(mo, d, ns, b);
        if (n < 0) /* mixed signs: each part with its own sign */
            n = snprintf(b, sizeof b, "%" PRId32 "mo%" PRId32 "d%" PRId64 "ns", mo, d, ns);
        break;
    }
    case SV_UUID:
        if (v->u.s.n != 16)
            return -1;
        cqlt_format_uuid((const uint8_t *)v->u.s.p, b);
        n = (int)strlen(b);
        break;
    case SV_INET:
        if ((v->u.s.n != 4 && v->u.s.n != 16) ||
            !inet_ntop(v->u.s.n == 4 ? AF_INET : AF_INET6, v->u.s.p, b, sizeof b))
            return -1;
        n = (int)strlen(b);
        break;
    case SV_TEXT:
    case SV_DECIMAL:
    case SV_BAD:
        return cs_buf_append(out, v->u.s.p, v->u.s.n);
    case SV_BLOB: {
        static const char digits[] = "0123456789abcdef";
        if (cs_buf_append(out, "0x", 2) || cs_buf_reserve(out, 2 * v->u.s.n))
            return -1;
        for (size_t k = 0; k < v->u.s.n; k++) {
            unsigned char c = (unsigned char)v->u.s.p[k];
            out->data[out->len++] = (uint8_t)digits[c >> 4];
            out->data[out->len++] = (uint8_t)digits[c & 15];
        }
        return 0;
    }
    case SV_JSON:
    case SV_LIST: {
        json_t *j = v->kind == SV_JSON ? json_incref((json_t *)v->u.j) : value_json(v, 0);
        char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        json_decref(j);
        int rc = s ? cs_buf_append(out, s, strlen(s)) : -1;
        free(s);
        return rc;
    }
    }
    if (n < 0 || (size_t)n >= sizeof b)
        return -1;
    return cs_buf_append(out, b, (size_t)n);
}

static json_t *value_json(const src_value *v, int depth)
{
    switch (v->kind) {
    case SV_NULL: return json_null();
    case SV_INT: return json_integer(v->u.i);
    case SV_BOOL: return json_boolean(v->u.i);
    case SV_DOUBLE:
        if (!isnan(v->u.d) && !isinf(v->u.d))
            return json_real(v->u.d);
        break;
    case SV_UINT:
        if (v->u.u <= INT64_MAX)
            return json_integer((json_int_t)v->u.u);
        break;
    case SV_JSON: return json_deep_copy(v->u.j);
    case SV_LIST: {
        json_t *a = json_array();
        for (int i = 0; a && i < v->u.list.n; i++)
            json_array_append_new(a, depth < CQLT_MAX_DEPTH ? value_json(&v->u.list.v[i], depth + 1)
                                                            : json_null());
        return a;
    }
    default: break;
    }
    cs_buf b;
    cs_buf_init(&b, SIZE_MAX);
    json_t *j = NULL;
    if (load_value_text(v, &b) == 0)
        j = json_stringn(b.len ? (const char *)b.data : "", b.len);
    cs_buf_release(&b);
    return j ? j : json_null();
}

json_t *load_value_json(const src_value *v) { return value_json(v, 0); }

/* Through the value's text form and the column type's text rules. */
static int via_text(const cql_type *t, const src_value *v, cs_buf *out, cql_error *err)
{
    char stack[128];
    cs_buf b;
    cs_buf_init(&b, SIZE_MAX);
    int rc;
    if (load_value_text(v, &b)) {
        rc = cql_fail(err, CQL_E_ENCODE, "the value has no text form for %s", cql_type_name(t->id));
    } else {
        const char *p = b.len ? (const char *)b.data : "";
        size_t n = b.len;
        if (n < sizeof stack) {    /* keep err messages valid after the release */
            memcpy(stack, p, n);
            p = stack;
        }
        rc = cql_value_encode_text(t, p, n, out, err);
    }
    cs_buf_release(&b);
    return rc;
}

static int put_list(const cql_type *t, const src_value *v, cs_buf *out, cql_error *err)
{
    if (t->id != CQL_T_LIST && t->id != CQL_T_SET)
        return via_text(t, v, out, err);
    const cql_type *et = t->nsub > 0 ? t->sub[0] : NULL;
    if (!et)
        return cql_fail(err, CQL_E_ENCODE, "%s without an element type", cql_type_name(t->id));
    size_t mark, start = out->len;
    if (cqlt_value_begin(out, &mark) || cs_buf_put_u32(out, (uint32_t)v->u.list.n)) {
        out->len = start;
        return cql_fail(err, CQL_E_NOMEM, "value buffer is full");
    }
    for (int i = 0; i < v->u.list.n; i++) {
        const src_value *e = &v->u.list.v[i];
        if (e->kind == SV_NULL) {
            out->len = start;
            return cql_fail(err, CQL_E_ENCODE, "element %d is NULL, which a Cassandra %s cannot "
                            "hold", i + 1, cql_type_name(t->id));
        }
        size_t at = out->len;
        if (load_convert_value(et, e, out, err)) {
            char m[sizeof err->msg];
            snprintf(m, sizeof m, "%s", err->msg);
            out->len = start;
            return cql_fail(err, CQL_E_ENCODE, "element %d: %.400s", i + 1, m);
        }
        if (t->id == CQL_T_SET) {
            /* a set keeps each element once: a repeated one would vanish.
             * Compare the encoded elements (value bytes after each one's
             * 4-byte length), whatever their type. */
            const uint8_t *ep = out->data + at;
            size_t en = out->len - at;
            const uint8_t *q = out->data + mark + 8;    /* the first element */
            for (int k = 0; k < i; k++) {
                int32_t ql = (int32_t)cs_be32(q);
                size_t qn = 4 + (ql > 0 ? (size_t)ql : 0);
                if (qn == en && !memcmp(q, ep, en)) {
                    out->len = start;
                    if (e->kind == SV_TEXT)
                        return cql_fail(err, CQL_E_ENCODE, "element '%.*s' appears twice, and a "
                                        "set keeps it once",
                                        (int)(e->u.s.n > 40 ? 40 : e->u.s.n), e->u.s.p);
                    return cql_fail(err, CQL_E_ENCODE, "elements %d and %d are the same value "
                                    "twice, and a set keeps it once", k + 1, i + 1);
                }
                q += qn;
            }
        }
    }
    return cqlt_value_end(out, mark, err);
}

int load_convert_typed(const cql_type *t, const src_value *v, cs_buf *out, cql_error *err)
{
    uint8_t b[32];
    switch (v->kind) {
    case SV_BAD:
        return cql_fail(err, CQL_E_ENCODE, "%.*s", (int)v->u.s.n, v->u.s.p);
    case SV_BOOL:
        if (t->id == CQL_T_BOOLEAN) {
            b[0] = v->u.i ? 1 : 0;
            return put_fixed(out, b, 1);
        }
        if (t->id == CQL_T_TINYINT || t->id == CQL_T_SMALLINT || t->id == CQL_T_INT ||
            t->id == CQL_T_BIGINT || t->id == CQL_T_VARINT) {
            src_value iv = {.kind = SV_INT, .u.i = v->u.i ? 1 : 0};
            return load_convert_value(t, &iv, out, err);
        }
        return via_text(t, v, out, err);
    case SV_UINT:
        if (v->u.u <= INT64_MAX) {
            src_value iv = {.kind = SV_INT, .u.i = (int64_t)v->u.u};
            return load_convert_value(t, &iv, out, err);
        }
        return via_text(t, v, out, err);
    case SV_TIMESTAMP:
        if (t->id == CQL_T_TIMESTAMP) {
            if (v->u.i % 1000) {
                char txt[80];
                fmt_timestamp_us(v->u.i, txt, sizeof txt);
                return cql_fail(err, CQL_E_ENCODE, "%s has digits below the millisecond, which "
                                "Cassandra's timestamp does not keep: they would be lost, so the "
                                "value is refused", txt);
            }
            cs_put_be64(b, (uint64_t)(v->u.i / 1000));
            return put_fixed(out, b, 8);
        }
        return via_text(t, v, out, err);
    case SV_DATE:
        if (t->id == CQL_T_DATE) {
            if (v->u.i < INT32_MIN || v->u.i > INT32_MAX) {
                char txt[48];
                fmt_date(v->u.i, txt, sizeof txt);
                return cql_fail(err, CQL_E_ENCODE, "%s is outside Cassandra's date range "
                                "(-5877641-06-23..5881580-07-11)", txt);
            }
            cs_put_be32(b, (uint32_t)(v->u.i + ((int64_t)1 << 31)));
            return put_fixed(out, b, 4);
        }
        if (t->id == CQL_T_TIMESTAMP) {
            int64_t ms;
            if (__builtin_mul_overflow(v->u.i, (int64_t)86400000, &ms))
                return cql_fail(err, CQL_E_ENCODE, "the date is outside the range of timestamp");
            cs_put_be64(b, (uint64_t)ms);
            return put_fixed(out, b, 8);
        }
        return via_text(t, v, out, err);
    case SV_TIME:
        if (t->id == CQL_T_TIME) {
            if (v->u.i < 0 || v->u.i >= 86400000000000LL) {
                char txt[48];
                fmt_time_ns(v->u.i, txt, sizeof txt);
                return cql_fail(err, CQL_E_ENCODE, "%s is not a time of day (00:00:00 to "
                                "23:59:59.999999999), which Cassandra's time holds", txt);
            }
            cs_put_be64(b, (uint64_t)v->u.i);
            return put_fixed(out, b, 8);
        }
        if (t->id == CQL_T_DURATION) {
            src_value dv = {.kind = SV_DURATION, .u.dur = {0, 0, v->u.i}};
            return load_convert_typed(t, &dv, out, err);
        }
        return via_text(t, v, out, err);
    case SV_DURATION:
        if (t->id == CQL_T_DURATION) {
            int32_t mo = v->u.dur.months, d = v->u.dur.days;
            int64_t ns = v->u.dur.nanos;
            int neg = mo < 0 || d < 0 || ns < 0, pos = mo > 0 || d > 0 || ns > 0;
            if (neg && pos)
                return cql_fail(err, CQL_E_ENCODE, "%" PRId32 " months %" PRId32 " days %" PRId64
                                " ns mixes signs, which Cassandra's duration cannot hold",
                                mo, d, ns);
            size_t o = 0;
            o += cqlt_uvint_put(b + o, cqlt_zigzag(mo));
            o += cqlt_uvint_put(b + o, cqlt_zigzag(d));
            o += cqlt_uvint_put(b + o, cqlt_zigzag(ns));
            return put_fixed(out, b, (uint32_t)o);
        }
        return via_text(t, v, out, err);
    case SV_UUID:
        if ((t->id == CQL_T_UUID || t->id == CQL_T_TIMEUUID || t->id == CQL_T_BLOB) &&
            v->u.s.n == 16) {
            if (t->id == CQL_T_TIMEUUID && (((const uint8_t *)v->u.s.p)[6] >> 4) != 1)
                return cql_fail(err, CQL_E_ENCODE, "a version %d uuid is not a timeuuid (version 1)",
                                ((const uint8_t *)v->u.s.p)[6] >> 4);
            return put_fixed(out, v->u.s.p, 16);
        }
        return via_text(t, v, out, err);
    case SV_INET:
        if (t->id == CQL_T_INET && (v->u.s.n == 4 || v->u.s.n == 16))
            return put_fixed(out, v->u.s.p, (uint32_t)v->u.s.n);
        return via_text(t, v, out, err);
    case SV_DECIMAL:
        return cql_value_encode_text(t, v->u.s.p, v->u.s.n, out, err);
    case SV_LIST:
        return put_list(t, v, out, err);
    default:
        return cql_fail(err, CQL_E_ENCODE, "unknown source value kind %d", (int)v->kind);
    }
}
