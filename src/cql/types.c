/* CQL type trees: reading [option] metadata (including Cassandra marshal
 * class names for custom types), parsing and formatting CQL type text,
 * clone/free, and null/unset values. The value codecs live in
 * types_text.c and types_json.c; scalar conversions in types_parse.c.
 */
#include "cql/types_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------- tree basics ---------- */

static cql_type *type_new(cql_type_id id)
{
    cql_type *t = calloc(1, sizeof *t);
    if (t)
        t->id = id;
    return t;
}

/* Give t room for n children (and field names for UDTs). 0 or -1. */
static int type_alloc_sub(cql_type *t, size_t n)
{
    if (n == 0)
        return 0;
    t->sub = calloc(n, sizeof *t->sub);
    if (!t->sub)
        return -1;
    if (t->id == CQL_T_UDT) {
        t->field_names = calloc(n, sizeof *t->field_names);
        if (!t->field_names)
            return -1;
    }
    return 0;
}

void cql_type_free(cql_type *t)
{
    if (!t)
        return;
    for (uint16_t i = 0; i < t->nsub; i++) {
        if (t->sub)
            cql_type_free(t->sub[i]);
        if (t->field_names)
            free(t->field_names[i]);
    }
    free(t->sub);
    free(t->field_names);
    free(t->custom);
    free(t->udt_keyspace);
    free(t->udt_name);
    free(t);
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static char *dup_or_null(const char *s, int *fail)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *fail = 1;
    return d;
}

cql_type *cql_type_clone(const cql_type *t)
{
    if (!t)
        return NULL;
    cql_type *c = type_new(t->id);
    if (!c)
        return NULL;
    int fail = 0;
    c->frozen = t->frozen;
    c->dimension = t->dimension;
    c->custom = dup_or_null(t->custom, &fail);
    c->udt_keyspace = dup_or_null(t->udt_keyspace, &fail);
    c->udt_name = dup_or_null(t->udt_name, &fail);
    if (!fail && t->nsub) {
        c->sub = calloc(t->nsub, sizeof *c->sub);
        if (t->field_names)
            c->field_names = calloc(t->nsub, sizeof *c->field_names);
        fail = !c->sub || (t->field_names && !c->field_names);
        if (!fail) {
            c->nsub = t->nsub;
            for (uint16_t i = 0; i < t->nsub && !fail; i++) {
                c->sub[i] = cql_type_clone(t->sub[i]);
                fail = !c->sub[i];
                if (t->field_names)
                    c->field_names[i] = dup_or_null(t->field_names[i], &fail);
            }
        }
    }
    if (fail) {
        cql_type_free(c);
        return NULL;
    }
    return c;
}

static const struct {
    cql_type_id id;
    const char *name;
} scalar_names[] = {
    {CQL_T_ASCII, "ascii"},       {CQL_T_BIGINT, "bigint"},     {CQL_T_BLOB, "blob"},
    {CQL_T_BOOLEAN, "boolean"},   {CQL_T_COUNTER, "counter"},   {CQL_T_DECIMAL, "decimal"},
    {CQL_T_DOUBLE, "double"},     {CQL_T_FLOAT, "float"},       {CQL_T_INT, "int"},
    {CQL_T_TIMESTAMP, "timestamp"}, {CQL_T_UUID, "uuid"},       {CQL_T_VARCHAR, "text"},
    {CQL_T_VARINT, "varint"},     {CQL_T_TIMEUUID, "timeuuid"}, {CQL_T_INET, "inet"},
    {CQL_T_DATE, "date"},         {CQL_T_TIME, "time"},         {CQL_T_SMALLINT, "smallint"},
    {CQL_T_TINYINT, "tinyint"},   {CQL_T_DURATION, "duration"},
};

const char *cql_type_name(cql_type_id id)
{
    for (size_t i = 0; i < sizeof scalar_names / sizeof scalar_names[0]; i++)
        if (scalar_names[i].id == id)
            return scalar_names[i].name;
    return NULL;
}

static int is_scalar_id(unsigned id) { return id >= CQL_T_ASCII && id <= CQL_T_DURATION && id != 0x0A; }

/* Cassandra 5.0's valueLengthIfFixed: tinyint, smallint, date and time are
 * variable-length there (they accept empty values), so a vector of them
 * carries vint lengths; the server and the Python driver agree on this. */
size_t cql_type_fixed_size(const cql_type *t)
{
    switch (t->id) {
    case CQL_T_BOOLEAN: return 1;
    case CQL_T_INT:
    case CQL_T_FLOAT: return 4;
    case CQL_T_BIGINT:
    case CQL_T_COUNTER:
    case CQL_T_DOUBLE:
    case CQL_T_TIMESTAMP: return 8;
    case CQL_T_UUID:
    case CQL_T_TIMEUUID: return 16;
    case CQL_T_VECTOR:
        if (t->nsub == 1 && t->sub[0]) {
            size_t e = cql_type_fixed_size(t->sub[0]);
            return e && t->dimension <= SIZE_MAX / e ? e * t->dimension : 0;
        }
        return 0;
    default: return 0;
    }
}

int cql_value_put_null(cs_buf *out) { return cs_buf_put_u32(out, (uint32_t)-1); }
int cql_value_put_unset(cs_buf *out) { return cs_buf_put_u32(out, (uint32_t)-2); }

/* ---------- marshal class names ---------- */

static const struct {
    const char *cls;
    cql_type_id id;
} marshal_scalars[] = {
    {"AsciiType", CQL_T_ASCII},        {"LongType", CQL_T_BIGINT},          {"BytesType", CQL_T_BLOB},
    {"BooleanType", CQL_T_BOOLEAN},    {"CounterColumnType", CQL_T_COUNTER}, {"DecimalType", CQL_T_DECIMAL},
    {"DoubleType", CQL_T_DOUBLE},      {"FloatType", CQL_T_FLOAT},          {"Int32Type", CQL_T_INT},
    {"TimestampType", CQL_T_TIMESTAMP}, {"DateType", CQL_T_TIMESTAMP},     {"UUIDType", CQL_T_UUID},
    {"UTF8Type", CQL_T_VARCHAR},       {"IntegerType", CQL_T_VARINT},       {"TimeUUIDType", CQL_T_TIMEUUID},
    {"InetAddressType", CQL_T_INET},   {"SimpleDateType", CQL_T_DATE},      {"TimeType", CQL_T_TIME},
    {"ShortType", CQL_T_SMALLINT},     {"ByteType", CQL_T_TINYINT},         {"DurationType", CQL_T_DURATION},
};

#define MARSHAL_PKG "org.apache.cassandra.db.marshal."

typedef struct mparser {
    const char *s;
    size_t n, i;
    cql_error *err;
} mparser;

static void mp_ws(mparser *p)
{
    while (p->i < p->n && isspace((unsigned char)p->s[p->i]))
        p->i++;
}

static int mp_fail(mparser *p, const char *what)
{
    char q[80];
    return cql_fail(p->err, CQL_E_PROTOCOL, "bad custom type class name: %s at offset %zu in %s", what, p->i,
                    cqlt_quote(p->s, p->n, q, sizeof q));
}

/* Span of one parameter: up to the next ',' or ')' at nesting depth 0. */
static void mp_param_span(mparser *p, size_t *b, size_t *e)
{
    int depth = 0;
    mp_ws(p);
    *b = p->i;
    while (p->i < p->n) {
        char c = p->s[p->i];
        if (c == '(')
            depth++;
        else if (c == ')') {
            if (depth == 0)
                break;
            depth--;
        } else if (c == ',' && depth == 0)
            break;
        p->i++;
    }
    *e = p->i;
    while (*e > *b && isspace((unsigned char)p->s[*e - 1]))
        (*e)--;
}

static cql_type *mp_type(mparser *p, int depth);

static int hex_decode_name(const char *s, size_t n, char **out)
{
    if (n % 2)
        return -1;
    char *d = malloc(n / 2 + 1);
    if (!d)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        char h[3] = {s[2 * i], s[2 * i + 1], 0};
        if (!isxdigit((unsigned char)h[0]) || !isxdigit((unsigned char)h[1]) || sscanf(h, "%x", &v) != 1) {
            free(d);
            return -1;
        }
        d[i] = (char)v;
    }
    d[n / 2] = '\0';
    *out = d;
    return 0;
}

/* Parse "(" params ")" for the collection/tuple/UDT/vector classes. */
static int mp_params(mparser *p, cql_type *t, const char *cls, int depth)
{
    /* Collect children into a growable array; counts are small. */
    size_t cap = 4, n = 0;
    cql_type **subs = calloc(cap, sizeof *subs);
    char **names = calloc(cap, sizeof *names);
    int is_udt = t->id == CQL_T_UDT, is_vec = t->id == CQL_T_VECTOR;
    int pi = 0, rc = -1;
    if (!subs || !names) {
        cql_fail(p->err, CQL_E_NOMEM, "out of memory");
        goto out;
    }
    p->i++; /* '(' */
    for (;;) {
        mp_ws(p);
        if (p->i < p->n && p->s[p->i] == ')' && pi == 0 && n == 0)
            break;
        size_t b, e;
        if (is_udt && pi < 2) {
            mp_param_span(p, &b, &e);
            char *str = NULL;
            if (pi == 0)
                str = dup_n(p->s + b, e - b);
            else if (hex_decode_name(p->s + b, e - b, &str))
                str = NULL;
            if (!str) {
                mp_fail(p, "bad UDT keyspace or name");
                goto out;
            }
            if (pi == 0)
                t->udt_keyspace = str;
            else
                t->udt_name = str;
        } else if (is_vec && pi == 1) {
            mp_param_span(p, &b, &e);
            char num[16];
            long dim;
            if (e - b == 0 || e - b >= sizeof num) {
                mp_fail(p, "bad vector dimension");
                goto out;
            }
            memcpy(num, p->s + b, e - b);
            num[e - b] = '\0';
            char *end;
            dim = strtol(num, &end, 10);
            if (*end || dim <= 0 || dim > 65535 * 16) {
                mp_fail(p, "bad vector dimension");
                goto out;
            }
            t->dimension = (uint32_t)dim;
        } else {
            if (n == cap) {
                if (cap >= 65535) {
                    mp_fail(p, "too many parameters");
                    goto out;
                }
                cap *= 2;
                cql_type **ns = realloc(subs, cap * sizeof *subs);
                if (ns)
                    subs = ns;
                char **nn = realloc(names, cap * sizeof *names);
                if (nn)
                    names = nn;
                if (!ns || !nn) {
                    cql_fail(p->err, CQL_E_NOMEM, "out of memory");
                    goto out;
                }
            }
            names[n] = NULL;
            if (is_udt) {
                /* hexname:Type */
                mp_ws(p);
                size_t cb = p->i;
                while (p->i < p->n && isxdigit((unsigned char)p->s[p->i]))
                    p->i++;
                if (p->i >= p->n || p->s[p->i] != ':' || hex_decode_name(p->s + cb, p->i - cb, &names[n])) {
                    mp_fail(p, "bad UDT field");
                    goto out;
                }
                p->i++;
            }
            subs[n] = mp_type(p, depth + 1);
            if (!subs[n]) {
                free(names[n]);
                goto out;
            }
            n++;
        }
        pi++;
        mp_ws(p);
        if (p->i < p->n && p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->i < p->n && p->s[p->i] == ')')
            break;
        mp_fail(p, "expected ',' or ')'");
        goto out;
    }
    p->i++; /* ')' */
    size_t want = t->id == CQL_T_MAP ? 2 : (t->id == CQL_T_LIST || t->id == CQL_T_SET || is_vec) ? 1 : 0;
    if ((want && n != want) || (is_vec && t->dimension == 0) || (is_udt && (!t->udt_name || pi < 2))) {
        char m[96];
        snprintf(m, sizeof m, "wrong parameters for %s", cls);
        mp_fail(p, m);
        goto out;
    }
    t->sub = subs;
    t->nsub = (uint16_t)n;
    if (is_udt)
        t->field_names = names;
    else
        free(names);
    subs = NULL;
    names = NULL;
    rc = 0;
out:
    if (subs) {
        for (size_t k = 0; k < n; k++) {
            cql_type_free(subs[k]);
            free(names ? names[k] : NULL);
        }
        free(subs);
    }
    free(names);
    return rc;
}

static cql_type *mp_type(mparser *p, int depth)
{
    if (depth > CQLT_MAX_DEPTH) {
        mp_fail(p, "types nested too deeply");
        return NULL;
    }
    mp_ws(p);
    size_t b = p->i;
    while (p->i < p->n && (isalnum((unsigned char)p->s[p->i]) || p->s[p->i] == '.' || p->s[p->i] == '_' ||
                           p->s[p->i] == '$'))
        p->i++;
    size_t e = p->i;
    if (e == b) {
        mp_fail(p, "expected a class name");
        return NULL;
    }
    const char *cls = p->s + b;
    size_t cn = e - b;
    const size_t pl = strlen(MARSHAL_PKG);
    if (cn > pl && memcmp(cls, MARSHAL_PKG, pl) == 0)
        cls += pl, cn -= pl;
    mp_ws(p);
    int has_params = p->i < p->n && p->s[p->i] == '(';

    if (!has_params) {
        for (size_t k = 0; k < sizeof marshal_scalars / sizeof marshal_scalars[0]; k++)
            if (strlen(marshal_scalars[k].cls) == cn && memcmp(marshal_scalars[k].cls, cls, cn) == 0)
                return type_new(marshal_scalars[k].id);
    }
#define IS(name) (cn == strlen(name) && memcmp(cls, name, cn) == 0)
    if (has_params && (IS("FrozenType") || IS("ReversedType"))) {
        int frozen = IS("FrozenType");
        p->i++;
        cql_type *in = mp_type(p, depth + 1);
        if (!in)
            return NULL;
        mp_ws(p);
        if (p->i >= p->n || p->s[p->i] != ')') {
            cql_type_free(in);
            mp_fail(p, "expected ')'");
            return NULL;
        }
        p->i++;
        if (frozen)
            in->frozen = 1;
        return in;
    }
    cql_type_id id = CQL_T_CUSTOM;
    if (has_params) {
        if (IS("ListType"))
            id = CQL_T_LIST;
        else if (IS("SetType"))
            id = CQL_T_SET;
        else if (IS("MapType"))
            id = CQL_T_MAP;
        else if (IS("TupleType"))
            id = CQL_T_TUPLE;
        else if (IS("UserType"))
            id = CQL_T_UDT;
        else if (IS("VectorType"))
            id = CQL_T_VECTOR;
    }
#undef IS
    if (id != CQL_T_CUSTOM) {
        cql_type *t = type_new(id);
        char cname[40];
        snprintf(cname, sizeof cname, "%.*s", (int)(cn < 39 ? cn : 39), cls);
        if (!t) {
            cql_fail(p->err, CQL_E_NOMEM, "out of memory");
            return NULL;
        }
        if (mp_params(p, t, cname, depth)) {
            cql_type_free(t);
            return NULL;
        }
        return t;
    }
    /* Unknown class: keep its full text (parameters included) as custom. */
    if (has_params) {
        int d = 0;
        while (p->i < p->n) {
            char c = p->s[p->i++];
            if (c == '(')
                d++;
            else if (c == ')' && --d == 0)
                break;
        }
        if (d != 0) {
            mp_fail(p, "unbalanced parentheses");
            return NULL;
        }
    }
    cql_type *t = type_new(CQL_T_CUSTOM);
    if (!t || !(t->custom = dup_n(p->s + b, p->i - b))) {
        cql_type_free(t);
        cql_fail(p->err, CQL_E_NOMEM, "out of memory");
        return NULL;
    }
    return t;
}

/* A custom [option]: map known marshal classes to real types. */
static cql_type *type_from_class(const char *s, size_t n, cql_error *err)
{
    mparser p = {s, n, 0, err};
    cql_type *t = mp_type(&p, 0);
    if (!t)
        return NULL;
    mp_ws(&p);
    if (p.i != n) {
        cql_type_free(t);
        mp_fail(&p, "trailing characters");
        return NULL;
    }
    return t;
}

/* ---------- [option] ---------- */

static const uint8_t *rd_string(cs_rd *r, size_t *n)
{
    *n = cs_rd_u16(r);
    return cs_rd_bytes(r, *n);
}

static cql_type *read_option(cs_rd *r, cql_error *err, int depth)
{
    if (depth > CQLT_MAX_DEPTH) {
        cql_fail(err, CQL_E_PROTOCOL, "type metadata nested more than %d levels deep", CQLT_MAX_DEPTH);
        return NULL;
    }
    uint16_t id = cs_rd_u16(r);
    if (r->err)
        goto trunc;
    if (id == CQL_T_CUSTOM) {
        size_t n;
        const uint8_t *s = rd_string(r, &n);
        if (!s)
            goto trunc;
        return type_from_class((const char *)s, n, err);
    }
    if (is_scalar_id(id)) {
        cql_type *t = type_new((cql_type_id)id);
        if (!t)
            cql_fail(err, CQL_E_NOMEM, "out of memory");
        return t;
    }
    cql_type *t = NULL;
    switch (id) {
    case CQL_T_LIST:
    case CQL_T_SET:
    case CQL_T_MAP: {
        uint16_t n = id == CQL_T_MAP ? 2 : 1;
        t = type_new((cql_type_id)id);
        if (!t || type_alloc_sub(t, n))
            goto nomem;
        for (uint16_t i = 0; i < n; i++) {
            t->sub[i] = read_option(r, err, depth + 1);
            if (!t->sub[i])
                goto fail;
            t->nsub = (uint16_t)(i + 1);
        }
        return t;
    }
    case CQL_T_UDT: {
        t = type_new(CQL_T_UDT);
        if (!t)
            goto nomem;
        size_t kn, nn;
        const uint8_t *ks = rd_string(r, &kn);
        const uint8_t *nm = rd_string(r, &nn);
        uint16_t n = cs_rd_u16(r);
        if (r->err)
            goto trunc_free;
        if (!(t->udt_keyspace = dup_n((const char *)ks, kn)) || !(t->udt_name = dup_n((const char *)nm, nn)) ||
            type_alloc_sub(t, n))
            goto nomem;
        for (uint16_t i = 0; i < n; i++) {
            size_t fn;
            const uint8_t *f = rd_string(r, &fn);
            if (!f)
                goto trunc_free;
            if (!(t->field_names[i] = dup_n((const char *)f, fn)))
                goto nomem;
            t->nsub = (uint16_t)(i + 1);
            t->sub[i] = read_option(r, err, depth + 1);
            if (!t->sub[i])
                goto fail;
        }
        return t;
    }
    case CQL_T_TUPLE: {
        t = type_new(CQL_T_TUPLE);
        if (!t)
            goto nomem;
        uint16_t n = cs_rd_u16(r);
        if (r->err)
            goto trunc_free;
        if (type_alloc_sub(t, n))
            goto nomem;
        for (uint16_t i = 0; i < n; i++) {
            t->sub[i] = read_option(r, err, depth + 1);
            if (!t->sub[i])
                goto fail;
            t->nsub = (uint16_t)(i + 1);
        }
        return t;
    }
    default:
        cql_fail(err, CQL_E_PROTOCOL, "unknown type id 0x%04x in metadata", id);
        return NULL;
    }
nomem:
    cql_fail(err, CQL_E_NOMEM, "out of memory");
    goto fail;
trunc_free:
    cql_type_free(t);
trunc:
    r->err = 1;
    cql_fail(err, CQL_E_PROTOCOL, "type metadata is truncated");
    return NULL;
fail:
    cql_type_free(t);
    return NULL;
}

cql_type *cql_type_read_option(cs_rd *r, cql_error *err)
{
    cql_type *t = read_option(r, err, 0);
    if (t && r->err) { /* defensive: a getter underflowed without being noticed */
        cql_type_free(t);
        cql_fail(err, CQL_E_PROTOCOL, "type metadata is truncated");
        return NULL;
    }
    return t;
}

/* ---------- CQL type text ---------- */

typedef struct tparser {
    const char *s;
    size_t i;
    cql_error *err;
} tparser;

static void tp_ws(tparser *p)
{
    while (isspace((unsigned char)p->s[p->i]))
        p->i++;
}

static int tp_fail(tparser *p, const char *what)
{
    char q[80];
    return cql_fail(p->err, CQL_E_USAGE, "bad CQL type: expected %s at offset %zu in %s", what, p->i,
                    cqlt_quote(p->s, strlen(p->s), q, sizeof q));
}

static int tp_eat(tparser *p, char c)
{
    tp_ws(p);
    if (p->s[p->i] == c) {
        p->i++;
        return 1;
    }
    return 0;
}

/* An identifier, unquoted (lowercased, as CQL does) or "quoted". */
static char *tp_ident(tparser *p)
{
    tp_ws(p);
    if (p->s[p->i] == '"') {
        size_t cap = strlen(p->s + p->i) + 1, o = 0;
        char *d = malloc(cap);
        if (!d)
            return NULL;
        p->i++;
        for (;;) {
            char c = p->s[p->i];
            if (!c) {
                free(d);
                return NULL;
            }
            p->i++;
            if (c == '"') {
                if (p->s[p->i] != '"')
                    break;
                p->i++;
            }
            d[o++] = c;
        }
        d[o] = '\0';
        return d;
    }
    size_t b = p->i;
    while (isalnum((unsigned char)p->s[p->i]) || p->s[p->i] == '_')
        p->i++;
    if (p->i == b)
        return NULL;
    char *d = dup_n(p->s + b, p->i - b);
    for (char *c = d; c && *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return d;
}

static cql_type *tp_type(tparser *p, int depth);

static int tp_children(tparser *p, cql_type *t, int depth, size_t min, size_t max)
{
    size_t cap = 4, n = 0;
    cql_type **subs = calloc(cap, sizeof *subs);
    if (!subs)
        return cql_fail(p->err, CQL_E_NOMEM, "out of memory");
    if (!tp_eat(p, '<')) {
        free(subs);
        return tp_fail(p, "'<'");
    }
    for (;;) {
        if (t->id == CQL_T_VECTOR && n == 1) {
            tp_ws(p);
            char *end;
            long dim = strtol(p->s + p->i, &end, 10);
            if (end == p->s + p->i || dim <= 0 || dim > 1048576) {
                tp_fail(p, "a vector dimension (1..1048576)");
                goto fail;
            }
            p->i = (size_t)(end - p->s);
            t->dimension = (uint32_t)dim;
            if (!tp_eat(p, '>')) {
                tp_fail(p, "'>'");
                goto fail;
            }
            break;
        }
        if (n == cap) {
            if (cap >= 32768) {
                tp_fail(p, "fewer type parameters");
                goto fail;
            }
            cap *= 2;
            cql_type **ns = realloc(subs, cap * sizeof *subs);
            if (!ns) {
                cql_fail(p->err, CQL_E_NOMEM, "out of memory");
                goto fail;
            }
            subs = ns;
        }
        subs[n] = tp_type(p, depth + 1);
        if (!subs[n])
            goto fail;
        n++;
        if (tp_eat(p, ','))
            continue;
        if (t->id != CQL_T_VECTOR && tp_eat(p, '>'))
            break;
        tp_fail(p, t->id == CQL_T_VECTOR ? "',' and a dimension" : "',' or '>'");
        goto fail;
    }
    if (n < min || n > max) {
        tp_fail(p, min == max && min == 1 ? "one type parameter" : "two type parameters");
        goto fail;
    }
    t->sub = subs;
    t->nsub = (uint16_t)n;
    return 0;
fail:
    for (size_t k = 0; k < n; k++)
        cql_type_free(subs[k]);
    free(subs);
    return -1;
}

static cql_type *tp_type(tparser *p, int depth)
{
    if (depth > CQLT_MAX_DEPTH) {
        tp_fail(p, "less nesting");
        return NULL;
    }
    tp_ws(p);
    if (p->s[p->i] == '\'') { /* 'custom.Class' */
        const char *b = p->s + p->i + 1;
        const char *e = strchr(b, '\'');
        if (!e) {
            tp_fail(p, "a closing quote");
            return NULL;
        }
        p->i = (size_t)(e - p->s) + 1;
        return type_from_class(b, (size_t)(e - b), p->err);
    }
    size_t start = p->i;
    char *name = tp_ident(p);
    if (!name) {
        tp_fail(p, "a type name");
        return NULL;
    }
    cql_type *t = NULL;
    int quoted = p->s[start] == '"';
    if (!quoted) {
        for (size_t k = 0; k < sizeof scalar_names / sizeof scalar_names[0]; k++)
            if (strcmp(name, scalar_names[k].name) == 0)
                t = type_new(scalar_names[k].id);
        if (!t && strcmp(name, "varchar") == 0)
            t = type_new(CQL_T_VARCHAR);
        if (t) {
            free(name);
            return t;
        }
        struct {
            const char *kw;
            cql_type_id id;
            size_t min, max;
        } comp[] = {{"list", CQL_T_LIST, 1, 1},     {"set", CQL_T_SET, 1, 1},          {"map", CQL_T_MAP, 2, 2},
                    {"tuple", CQL_T_TUPLE, 1, 32768}, {"vector", CQL_T_VECTOR, 1, 1}, {"frozen", CQL_T_CUSTOM, 1, 1}};
        tp_ws(p);
        if (p->s[p->i] == '<') {
            for (size_t k = 0; k < sizeof comp / sizeof comp[0]; k++) {
                if (strcmp(name, comp[k].kw) != 0)
                    continue;
                free(name);
                if (comp[k].id == CQL_T_CUSTOM) { /* frozen<T> */
                    p->i++;
                    cql_type *in = tp_type(p, depth + 1);
                    if (!in)
                        return NULL;
                    if (!tp_eat(p, '>')) {
                        cql_type_free(in);
                        tp_fail(p, "'>'");
                        return NULL;
                    }
                    in->frozen = 1;
                    return in;
                }
                t = type_new(comp[k].id);
                if (!t) {
                    cql_fail(p->err, CQL_E_NOMEM, "out of memory");
                    return NULL;
                }
                if (tp_children(p, t, depth, comp[k].min, comp[k].max)) {
                    cql_type_free(t);
                    return NULL;
                }
                return t;
            }
        }
    }
    /* Anything else names a user-defined type, maybe keyspace-qualified. */
    t = type_new(CQL_T_UDT);
    if (!t) {
        free(name);
        cql_fail(p->err, CQL_E_NOMEM, "out of memory");
        return NULL;
    }
    tp_ws(p);
    if (p->s[p->i] == '.') {
        p->i++;
        t->udt_keyspace = name;
        t->udt_name = tp_ident(p);
        if (!t->udt_name) {
            cql_type_free(t);
            tp_fail(p, "a type name after '.'");
            return NULL;
        }
    } else {
        t->udt_name = name;
    }
    return t;
}

cql_type *cql_type_parse(const char *text, cql_error *err)
{
    tparser p = {text, 0, err};
    cql_type *t = tp_type(&p, 0);
    if (!t)
        return NULL;
    tp_ws(&p);
    if (p.s[p.i] != '\0') {
        cql_type_free(t);
        tp_fail(&p, "end of text");
        return NULL;
    }
    return t;
}

/* ---------- formatting ---------- */

static int fmt_ident(const char *s, cs_buf *out)
{
    int plain = (*s >= 'a' && *s <= 'z');
    for (const char *c = s; *c && plain; c++)
        plain = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_';
    if (plain)
        return cs_buf_append(out, s, strlen(s));
    int rc = cs_buf_put_u8(out, '"');
    for (const char *c = s; *c && !rc; c++)
        rc = *c == '"' ? cs_buf_append(out, "\"\"", 2) : cs_buf_put_u8(out, (uint8_t)*c);
    return rc ? -1 : cs_buf_put_u8(out, '"');
}

static int format_type(const cql_type *t, cs_buf *out, int depth)
{
    if (depth > CQLT_MAX_DEPTH)
        return -1;
    int rc = 0;
    if (t->frozen && t->id != CQL_T_TUPLE && t->id != CQL_T_VECTOR)
        rc |= cs_buf_append(out, "frozen<", 7);
    const char *nm = cql_type_name(t->id);
    if (nm) {
        rc |= cs_buf_append(out, nm, strlen(nm));
    } else {
        switch (t->id) {
        case CQL_T_CUSTOM:
            rc |= cs_buf_printf(out, "'%s'", t->custom ? t->custom : "");
            break;
        case CQL_T_UDT:
            if (t->udt_keyspace && *t->udt_keyspace) {
                rc |= fmt_ident(t->udt_keyspace, out);
                rc |= cs_buf_put_u8(out, '.');
            }
            rc |= fmt_ident(t->udt_name ? t->udt_name : "", out);
            break;
        default: {
            const char *kw = t->id == CQL_T_LIST ? "list" : t->id == CQL_T_SET ? "set"
                           : t->id == CQL_T_MAP  ? "map" : t->id == CQL_T_TUPLE ? "tuple"
                           : t->id == CQL_T_VECTOR ? "vector" : NULL;
            if (!kw)
                return -1;
            rc |= cs_buf_printf(out, "%s<", kw);
            for (uint16_t i = 0; i < t->nsub && !rc; i++) {
                if (i)
                    rc |= cs_buf_append(out, ", ", 2);
                rc |= format_type(t->sub[i], out, depth + 1);
            }
            if (t->id == CQL_T_VECTOR)
                rc |= cs_buf_printf(out, ", %u", t->dimension);
            rc |= cs_buf_put_u8(out, '>');
        }
        }
    }
    if (t->frozen && t->id != CQL_T_TUPLE && t->id != CQL_T_VECTOR)
        rc |= cs_buf_put_u8(out, '>');
    return rc ? -1 : 0;
}

int cql_type_format(const cql_type *t, cs_buf *out)
{
    size_t start = out->len;
    if (format_type(t, out, 0)) {
        out->len = start;
        return -1;
    }
    return 0;
}

const char *cqlt_type_str(const cql_type *t, char *buf, size_t size)
{
    const char *nm = cql_type_name(t->id);
    if (nm) {
        snprintf(buf, size, "%s", nm);
        return buf;
    }
    cs_buf b;
    cs_buf_init(&b, size - 1);
    if (format_type(t, &b, 0) == 0 && cs_buf_put_u8(&b, 0) == 0) {
        memcpy(buf, b.data, b.len);
    } else {
        /* Too long for buf: the outer keyword is enough to orient a reader. */
        snprintf(buf, size, "%s", t->id == CQL_T_UDT ? "user type" : t->id == CQL_T_TUPLE ? "tuple" : "collection");
    }
    cs_buf_release(&b);
    return buf;
}
