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

/* Shortest text that reads back as the same double (for decimal columns:
 * 0.99 stored as a double must become the decimal 0.99, not 0.98999...). */
static int shortest_double(double d, char *buf, size_t n)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
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
            shortest_double(d, tmp, sizeof tmp);
        return cql_value_encode_text(t, tmp, strlen(tmp), out, err);
    }
    }
    return cql_fail(err, CQL_E_ENCODE, "unknown source value kind");
}
