/* The JSON convention of types.h in both directions: JSON value -> wire
 * bytes (cql_value_encode_json) and wire bytes -> JSON (cql_value_decode_json).
 * JSON strings of scalar types go through the same text parsers as CSV
 * fields, so both paths accept the same spellings.
 */
#include "cql/types_int.h"

#include <arpa/inet.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

static int json_fail(cql_error *err, const char *expected, const cql_type *t, const json_t *v)
{
    char tb[96], q[80];
    char *dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    int rc = cql_fail(err, CQL_E_ENCODE, "expected %s for %s, got %s %s", expected, cqlt_type_str(t, tb, sizeof tb),
                      json_kind(v), dump ? cqlt_quote(dump, strlen(dump), q, sizeof q) : "");
    free(dump);
    return rc;
}

static int nomem(cql_error *err) { return cql_fail(err, CQL_E_NOMEM, "value buffer is full"); }

static int enc_json(const cql_type *t, const json_t *v, cs_buf *out, cql_error *err, int depth);

/* Encode element v of a collection (no nulls) or tuple/UDT (nulls ok). */
static int enc_elem(const cql_type *parent, const cql_type *t, const json_t *v, int nullable, cs_buf *out,
                    cql_error *err, int depth)
{
    if (json_is_null(v)) {
        if (!nullable) {
            char tb[96];
            return cql_fail(err, CQL_E_ENCODE, "expected no null elements in %s (collections cannot hold null)",
                            cqlt_type_str(parent, tb, sizeof tb));
        }
        return cql_value_put_null(out) ? nomem(err) : 0;
    }
    return enc_json(t, v, out, err, depth + 1);
}

/* A map key given as a JSON object key: encode it from its text. */
static int enc_key_text(const cql_type *t, const char *k, size_t kn, cs_buf *out, cql_error *err, int depth)
{
    return cqlt_encode_text(t, k, kn, out, err, depth + 1);
}

static int enc_compound(const cql_type *t, const json_t *v, cs_buf *out, cql_error *err, int depth)
{
    char tb[96];
    switch (t->id) {
    case CQL_T_LIST:
    case CQL_T_SET: {
        if (!json_is_array(v))
            return json_fail(err, "an array", t, v);
        size_t n = json_array_size(v);
        if (n > INT32_MAX || cs_buf_put_u32(out, (uint32_t)n))
            return nomem(err);
        for (size_t i = 0; i < n; i++)
            if (enc_elem(t, t->sub[0], json_array_get(v, i), 0, out, err, depth))
                return -1;
        return 0;
    }
    case CQL_T_VECTOR: {
        if (!json_is_array(v))
            return json_fail(err, "an array", t, v);
        size_t n = json_array_size(v);
        if (n != t->dimension)
            return cql_fail(err, CQL_E_ENCODE, "expected %u elements for %s, got %zu", t->dimension,
                            cqlt_type_str(t, tb, sizeof tb), n);
        for (size_t i = 0; i < n; i++) {
            size_t mark = out->len;
            if (enc_elem(t, t->sub[0], json_array_get(v, i), 0, out, err, depth) ||
                cqlt_vector_fix_element(t, out, mark, err))
                return -1;
        }
        return 0;
    }
    case CQL_T_MAP: {
        if (json_is_object(v)) {
            size_t n = json_object_size(v);
            if (cs_buf_put_u32(out, (uint32_t)n))
                return nomem(err);
            const char *k;
            size_t kn;
            json_t *val;
            json_object_keylen_foreach((json_t *)v, k, kn, val) {
                if (enc_key_text(t->sub[0], k, kn, out, err, depth) ||
                    enc_elem(t, t->sub[1], val, 0, out, err, depth))
                    return -1;
            }
            return 0;
        }
        if (!json_is_array(v))
            return json_fail(err, "an object or an array of [key, value] pairs", t, v);
        size_t n = json_array_size(v);
        if (n > INT32_MAX || cs_buf_put_u32(out, (uint32_t)n))
            return nomem(err);
        for (size_t i = 0; i < n; i++) {
            json_t *pair = json_array_get(v, i);
            if (!json_is_array(pair) || json_array_size(pair) != 2)
                return json_fail(err, "[key, value] pairs", t, pair);
            if (enc_elem(t, t->sub[0], json_array_get(pair, 0), 0, out, err, depth) ||
                enc_elem(t, t->sub[1], json_array_get(pair, 1), 0, out, err, depth))
                return -1;
        }
        return 0;
    }
    case CQL_T_TUPLE: {
        if (!json_is_array(v))
            return json_fail(err, "an array", t, v);
        size_t n = json_array_size(v);
        if (n != t->nsub)
            return cql_fail(err, CQL_E_ENCODE, "expected %u elements for %s, got %zu", t->nsub,
                            cqlt_type_str(t, tb, sizeof tb), n);
        for (size_t i = 0; i < n; i++)
            if (enc_elem(t, t->sub[i], json_array_get(v, i), 1, out, err, depth))
                return -1;
        return 0;
    }
    case CQL_T_UDT: {
        if (!t->field_names)
            return cql_fail(err, CQL_E_ENCODE, "the fields of user type %s are not known (use bind metadata)",
                            cqlt_type_str(t, tb, sizeof tb));
        if (!json_is_object(v))
            return json_fail(err, "an object keyed by field name", t, v);
        size_t known = 0;
        for (uint16_t f = 0; f < t->nsub; f++) {
            json_t *fv = json_object_get(v, t->field_names[f]);
            known += fv != NULL;
            if (enc_elem(t, t->sub[f], fv ? fv : json_null(), 1, out, err, depth)) {
                /* name the field: "field zip: expected an integer..." */
                char msg[sizeof err->msg];
                memcpy(msg, err->msg, sizeof msg);
                int k = snprintf(err->msg, sizeof err->msg, "field %.100s: ", t->field_names[f]);
                if (k > 0 && (size_t)k < sizeof err->msg)
                    memcpy(err->msg + k, msg, sizeof err->msg - (size_t)k - 1);
                err->msg[sizeof err->msg - 1] = '\0';
                return -1;
            }
        }
        if (known != json_object_size(v)) {
            const char *k;
            json_t *fv;
            json_object_foreach((json_t *)v, k, fv) {
                uint16_t f;
                for (f = 0; f < t->nsub && strcmp(t->field_names[f], k) != 0; f++)
                    ;
                if (f == t->nsub) {
                    char q[80];
                    return cql_fail(err, CQL_E_ENCODE, "expected a field of %s, got %s",
                                    cqlt_type_str(t, tb, sizeof tb), cqlt_quote(k, strlen(k), q, sizeof q));
                }
            }
        }
        return 0;
    }
    default:
        return cql_fail(err, CQL_E_USAGE, "type id 0x%x cannot be encoded", (unsigned)t->id);
    }
}

static int enc_scalar(const cql_type *t, const json_t *v, cs_buf *out, cql_error *err)
{
    if (json_is_string(v))
        return cqlt_scalar_from_text(t, json_string_value(v), json_string_length(v), out, err);
    switch (t->id) {
    case CQL_T_BOOLEAN:
        if (!json_is_boolean(v))
            return json_fail(err, "true or false", t, v);
        return cs_buf_put_u8(out, json_is_true(v)) ? nomem(err) : 0;
    case CQL_T_TINYINT:
    case CQL_T_SMALLINT:
    case CQL_T_INT:
    case CQL_T_BIGINT:
    case CQL_T_COUNTER:
    case CQL_T_VARINT:
    case CQL_T_DECIMAL:
    case CQL_T_DATE:
    case CQL_T_TIME:
    case CQL_T_TIMESTAMP: {
        if (json_is_real(v) && t->id == CQL_T_DECIMAL) {
            /* %.17g keeps the double exact; the text parser does the rest. */
            char b[40];
            double d = json_real_value(v);
            int n = snprintf(b, sizeof b, "%.17g", d);
            if (!isfinite(d))
                return json_fail(err, "a finite number", t, v);
            return cqlt_scalar_from_text(t, b, (size_t)n, out, err);
        }
        if (!json_is_integer(v))
            return json_fail(err, t->id == CQL_T_DATE ? "a date string or integer days"
                                  : t->id == CQL_T_TIME ? "a time string or integer nanoseconds"
                                  : t->id == CQL_T_TIMESTAMP ? "a timestamp string or integer milliseconds"
                                                            : "an integer",
                             t, v);
        char b[32];
        int n = snprintf(b, sizeof b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return cqlt_scalar_from_text(t, b, (size_t)n, out, err);
    }
    case CQL_T_FLOAT:
    case CQL_T_DOUBLE: {
        if (!json_is_number(v))
            return json_fail(err, "a number (or \"NaN\", \"Infinity\", \"-Infinity\")", t, v);
        double d = json_number_value(v);
        if (t->id == CQL_T_DOUBLE) {
            uint64_t u;
            memcpy(&u, &d, 8);
            return cs_buf_put_u64(out, u) ? nomem(err) : 0;
        }
        if (isfinite(d) && fabs(d) > FLT_MAX)
            return json_fail(err, "a number within the float range", t, v);
        float f = (float)d;
        uint32_t u;
        memcpy(&u, &f, 4);
        return cs_buf_put_u32(out, u) ? nomem(err) : 0;
    }
    default:
        return json_fail(err, t->id == CQL_T_BLOB || t->id == CQL_T_CUSTOM ? "a \"0x...\" hex string" : "a string",
                         t, v);
    }
}

static int enc_json(const cql_type *t, const json_t *v, cs_buf *out, cql_error *err, int depth)
{
    if (depth > CQLT_MAX_DEPTH)
        return cql_fail(err, CQL_E_ENCODE, "value nested more than %d levels deep", CQLT_MAX_DEPTH);
    if (json_is_null(v))
        return cql_value_put_null(out) ? nomem(err) : 0;
    size_t mark;
    if (cqlt_value_begin(out, &mark))
        return nomem(err);
    int rc;
    switch (t->id) {
    case CQL_T_LIST:
    case CQL_T_SET:
    case CQL_T_MAP:
    case CQL_T_TUPLE:
    case CQL_T_UDT:
    case CQL_T_VECTOR:
        rc = enc_compound(t, v, out, err, depth);
        break;
    default:
        rc = enc_scalar(t, v, out, err);
    }
    return rc ? rc : cqlt_value_end(out, mark, err);
}

int cql_value_encode_json(const cql_type *t, const json_t *v, cs_buf *out, cql_error *err)
{
    size_t start = out->len;
    if (!v || enc_json(t, v, out, err, 0)) {
        if (!v)
            cql_fail(err, CQL_E_USAGE, "no JSON value given");
        out->len = start;
        return -1;
    }
    return 0;
}

/* ---------- decoding ---------- */

static json_t *dec_fail(cql_error *err, const cql_type *t, const char *what, size_t got)
{
    char tb[96];
    cql_fail(err, CQL_E_ENCODE, "malformed %s value: %s (got %zu bytes)", cqlt_type_str(t, tb, sizeof tb), what,
             got);
    return NULL;
}

static json_t *dec_nomem(cql_error *err)
{
    cql_fail(err, CQL_E_NOMEM, "out of memory decoding a value");
    return NULL;
}

static json_t *dec_json(const cql_type *t, const uint8_t *p, int32_t len, cql_error *err, int depth);

static json_t *str_from_buf(cs_buf *b, cql_error *err)
{
    json_t *j = json_stringn_nocheck(b->len ? (const char *)b->data : "", b->len);
    cs_buf_release(b);
    return j ? j : dec_nomem(err);
}

static json_t *dec_scalar(const cql_type *t, const uint8_t *p, size_t n, cql_error *err)
{
    size_t fixed = 0;
    switch (t->id) {
    case CQL_T_BOOLEAN:
    case CQL_T_TINYINT: fixed = 1; break;
    case CQL_T_SMALLINT: fixed = 2; break;
    case CQL_T_INT:
    case CQL_T_FLOAT:
    case CQL_T_DATE: fixed = 4; break;
    case CQL_T_BIGINT:
    case CQL_T_COUNTER:
    case CQL_T_DOUBLE:
    case CQL_T_TIMESTAMP:
    case CQL_T_TIME: fixed = 8; break;
    case CQL_T_UUID:
    case CQL_T_TIMEUUID: fixed = 16; break;
    default: break;
    }
    /* Cassandra allows empty (zero-length) values of non-string types for
     * legacy reasons; they carry no value, so they read as null. */
    if (n == 0 && t->id != CQL_T_ASCII && t->id != CQL_T_VARCHAR && t->id != CQL_T_BLOB && t->id != CQL_T_CUSTOM)
        return json_null();
    if (fixed && n != fixed) {
        char what[48];
        snprintf(what, sizeof what, "expected %zu bytes", fixed);
        return dec_fail(err, t, what, n);
    }
    char b[96];
    json_t *j = NULL;
    switch (t->id) {
    case CQL_T_ASCII:
        for (size_t i = 0; i < n; i++)
            if (p[i] > 0x7F)
                return dec_fail(err, t, "non-ASCII byte", n);
        j = json_stringn_nocheck(n ? (const char *)p : "", n); /* p is NULL for an empty element */
        break;
    case CQL_T_VARCHAR: {
        size_t bad = utf8_invalid_at(p, n);
        if (bad != n) {
            snprintf(b, sizeof b, "invalid UTF-8 at offset %zu", bad);
            return dec_fail(err, t, b, n);
        }
        j = json_stringn_nocheck(n ? (const char *)p : "", n);
        break;
    }
    case CQL_T_BLOB:
    case CQL_T_CUSTOM: {
        cs_buf s;
        cs_buf_init(&s, SIZE_MAX);
        char *h = (char *)cs_buf_extend(&s, 2 + 2 * n);
        if (!h)
            return dec_nomem(err);
        static const char hx[] = "0123456789abcdef";
        h[0] = '0', h[1] = 'x';
        for (size_t i = 0; i < n; i++)
            h[2 + 2 * i] = hx[p[i] >> 4], h[3 + 2 * i] = hx[p[i] & 15];
        return str_from_buf(&s, err);
    }
    case CQL_T_BOOLEAN: j = json_boolean(p[0] != 0); break;
    case CQL_T_TINYINT: j = json_integer((int8_t)p[0]); break;
    case CQL_T_SMALLINT: j = json_integer((int16_t)cs_be16(p)); break;
    case CQL_T_INT: j = json_integer((int32_t)cs_be32(p)); break;
    case CQL_T_BIGINT:
    case CQL_T_COUNTER: j = json_integer((json_int_t)(int64_t)cs_be64(p)); break;
    case CQL_T_FLOAT:
    case CQL_T_DOUBLE: {
        double d;
        if (t->id == CQL_T_FLOAT) {
            float f;
            uint32_t u = cs_be32(p);
            memcpy(&f, &u, 4);
            d = f;
        } else {
            uint64_t u = cs_be64(p);
            memcpy(&d, &u, 8);
        }
        if (isnan(d))
            j = json_string("NaN");
        else if (isinf(d))
            j = json_string(d > 0 ? "Infinity" : "-Infinity");
        else
            j = json_real(d);
        break;
    }
    case CQL_T_VARINT:
    case CQL_T_DECIMAL: {
        cs_buf s;
        cs_buf_init(&s, SIZE_MAX);
        if (t->id == CQL_T_VARINT) {
            if (n > CQLT_MAX_DIGITS * 5 / 12)
                return dec_fail(err, t, "longer than 100000 digits", n);
            if (cqlt_varint_to_text(p, n, &s)) {
                cs_buf_release(&s);
                return dec_nomem(err);
            }
        } else {
            if (n < 5)
                return dec_fail(err, t, "expected a 4-byte scale and at least 1 byte of digits", n);
            if (n - 4 > CQLT_MAX_DIGITS * 5 / 12)
                return dec_fail(err, t, "longer than 100000 digits", n);
            if (cqlt_format_decimal((int32_t)cs_be32(p), p + 4, n - 4, &s)) {
                cs_buf_release(&s);
                return dec_nomem(err);
            }
        }
        return str_from_buf(&s, err);
    }
    case CQL_T_UUID:
    case CQL_T_TIMEUUID:
        cqlt_format_uuid(p, b);
        j = json_string(b);
        break;
    case CQL_T_INET: {
        if (n != 4 && n != 16)
            return dec_fail(err, t, "expected 4 or 16 bytes", n);
        if (!inet_ntop(n == 4 ? AF_INET : AF_INET6, p, b, sizeof b))
            return dec_fail(err, t, "not an address", n);
        j = json_string(b);
        break;
    }
    case CQL_T_DATE: {
        int64_t days = (int64_t)cs_be32(p) - ((int64_t)1 << 31);
        j = cqlt_format_date(days, b) < 0 ? json_integer(days) : json_string(b);
        break;
    }
    case CQL_T_TIMESTAMP: {
        int64_t ms = (int64_t)cs_be64(p);
        j = cqlt_format_timestamp(ms, b) < 0 ? json_integer(ms) : json_string(b);
        break;
    }
    case CQL_T_TIME: {
        int64_t ns = (int64_t)cs_be64(p);
        if (ns < 0 || ns > 86399999999999LL)
            return dec_fail(err, t, "nanoseconds outside one day", n);
        cqlt_format_time(ns, b);
        j = json_string(b);
        break;
    }
    case CQL_T_DURATION: {
        int32_t mo, d;
        int64_t ns;
        if (cqlt_duration_decode(p, n, &mo, &d, &ns) || cqlt_format_duration(mo, d, ns, b) < 0)
            return dec_fail(err, t, "expected three vints of one sign", n);
        j = json_string(b);
        break;
    }
    default: {
        char tb[96];
        cql_fail(err, CQL_E_USAGE, "cannot decode values of %s", cqlt_type_str(t, tb, sizeof tb));
        return NULL;
    }
    }
    return j ? j : dec_nomem(err);
}

int cqlt_read_elem(cs_rd *r, const uint8_t **ep, int32_t *elen)
{
    *elen = (int32_t)cs_rd_u32(r);
    if (r->err || *elen < -2)
        return -1;
    *ep = NULL;
    if (*elen > 0) {
        *ep = cs_rd_bytes(r, (size_t)*elen);
        if (!*ep)
            return -1;
    }
    return 0;
}

static json_t *dec_compound(const cql_type *t, const uint8_t *p, size_t n, cql_error *err, int depth)
{
    cs_rd r;
    cs_rd_init(&r, p, n);
    json_t *res = NULL;
    const uint8_t *ep;
    int32_t elen;
    switch (t->id) {
    case CQL_T_LIST:
    case CQL_T_SET:
    case CQL_T_MAP: {
        int32_t count = (int32_t)cs_rd_u32(&r);
        if (r.err || count < 0)
            return dec_fail(err, t, "bad element count", n);
        int is_map = t->id == CQL_T_MAP;
        int obj = is_map && (t->sub[0]->id == CQL_T_VARCHAR || t->sub[0]->id == CQL_T_ASCII);
        res = obj ? json_object() : json_array();
        if (!res)
            return dec_nomem(err);
        for (int32_t i = 0; i < count; i++) {
            if (cqlt_read_elem(&r, &ep, &elen)) {
                json_decref(res);
                return dec_fail(err, t, "truncated element", n);
            }
            json_t *k = dec_json(t->sub[0], ep, elen, err, depth + 1);
            if (!k)
                goto fail;
            if (!is_map) {
                if (json_array_append_new(res, k))
                    goto nomem;
                continue;
            }
            if (cqlt_read_elem(&r, &ep, &elen)) {
                json_decref(k);
                json_decref(res);
                return dec_fail(err, t, "truncated map value", n);
            }
            json_t *v = dec_json(t->sub[1], ep, elen, err, depth + 1);
            if (!v) {
                json_decref(k);
                goto fail;
            }
            if (obj) {
                int bad = !json_is_string(k) ||
                          json_object_setn_new_nocheck(res, json_string_value(k), json_string_length(k), v);
                json_decref(k);
                if (bad)
                    goto nomem;
            } else {
                json_t *pair = json_array();
                if (!pair || json_array_append_new(pair, k) || json_array_append_new(pair, v) ||
                    json_array_append_new(res, pair))
                    goto nomem;
            }
        }
        break;
    }
    case CQL_T_VECTOR: {
        size_t fixed = cql_type_fixed_size(t->sub[0]);
        res = json_array();
        if (!res)
            return dec_nomem(err);
        for (uint32_t i = 0; i < t->dimension; i++) {
            uint64_t vl;
            if (fixed) {
                vl = fixed;
            } else if (cqlt_uvint_get(&r, &vl) || vl > r.n) {
                json_decref(res);
                return dec_fail(err, t, "truncated element", n);
            }
            ep = cs_rd_bytes(&r, (size_t)vl);
            if (!ep) {
                json_decref(res);
                return dec_fail(err, t, "truncated element", n);
            }
            json_t *e = dec_json(t->sub[0], ep, (int32_t)vl, err, depth + 1);
            if (!e)
                goto fail;
            if (json_array_append_new(res, e))
                goto nomem;
        }
        break;
    }
    case CQL_T_TUPLE:
    case CQL_T_UDT: {
        int udt = t->id == CQL_T_UDT;
        if (udt && !t->field_names) {
            char tb[96];
            cql_fail(err, CQL_E_USAGE, "the fields of user type %s are not known", cqlt_type_str(t, tb, sizeof tb));
            return NULL;
        }
        res = udt ? json_object() : json_array();
        if (!res)
            return dec_nomem(err);
        for (uint16_t f = 0; f < t->nsub; f++) {
            json_t *e;
            if (r.n == 0) { /* values written before fields were added end early */
                e = json_null();
            } else {
                if (cqlt_read_elem(&r, &ep, &elen)) {
                    json_decref(res);
                    return dec_fail(err, t, "truncated field", n);
                }
                e = dec_json(t->sub[f], ep, elen, err, depth + 1);
                if (!e)
                    goto fail;
            }
            if (udt ? json_object_set_new(res, t->field_names[f], e) : json_array_append_new(res, e))
                goto nomem;
        }
        break;
    }
    default: {
        char tb[96];
        cql_fail(err, CQL_E_USAGE, "cannot decode values of %s", cqlt_type_str(t, tb, sizeof tb));
        return NULL;
    }
    }
    if (r.n != 0) {
        json_decref(res);
        return dec_fail(err, t, "trailing bytes after the last element", n);
    }
    return res;
nomem:
    json_decref(res);
    return dec_nomem(err);
fail:
    json_decref(res);
    return NULL;
}

static json_t *dec_json(const cql_type *t, const uint8_t *p, int32_t len, cql_error *err, int depth)
{
    if (len < 0)
        return json_null();
    if (depth > CQLT_MAX_DEPTH) {
        cql_fail(err, CQL_E_ENCODE, "value nested more than %d levels deep", CQLT_MAX_DEPTH);
        return NULL;
    }
    switch (t->id) {
    case CQL_T_LIST:
    case CQL_T_SET:
    case CQL_T_MAP:
    case CQL_T_TUPLE:
    case CQL_T_UDT:
    case CQL_T_VECTOR:
        if (len == 0 && t->id != CQL_T_UDT && t->id != CQL_T_TUPLE)
            return json_null(); /* an empty value, as for scalars */
        if (t->nsub == 0 && t->id != CQL_T_UDT && t->id != CQL_T_TUPLE) {
            cql_fail(err, CQL_E_USAGE, "compound type without element types");
            return NULL;
        }
        return dec_compound(t, p, (size_t)len, err, depth);
    default:
        return dec_scalar(t, p, (size_t)len, err);
    }
}

json_t *cql_value_decode_json(const cql_type *t, const uint8_t *p, int32_t len, cql_error *err)
{
    return dec_json(t, p, len, err, 0);
}
