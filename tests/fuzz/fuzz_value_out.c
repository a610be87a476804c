/* libFuzzer target: the unload value writers (format/value_out.h) on
 * arbitrary types and bytes.
 *
 * Input: a type, then the value. Byte 0 below 0xF0 starts an [option] as
 * result metadata carries it (any shape: collections, tuples, UDTs with
 * field names, vectors); otherwise byte 1 picks one of a table of type
 * texts. The value is copied into a buffer of exactly its size so ASan
 * flags any read past it.
 *
 * The writers must not crash, and both forms must agree on the outcome.
 * When they succeed, the round trip is checked: the text reads back to
 * bytes B; writing B gives the same text again, which reads back to B (the
 * input bytes themselves may be a non-canonical spelling: 00 01 for the
 * varint 1); the JSON loads and reads back to B too (unless a text-keyed
 * map held duplicate keys, which a JSON object cannot keep).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cql/types.h"
#include "format/value_out.h"
#include "util/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Types Cassandra can have: UDT field names unique and UTF-8, tuples
 * with fields, vectors with a dimension. */
static int plausible(const cql_type *t)
{
    if ((t->id == CQL_T_TUPLE && t->nsub == 0) || (t->id == CQL_T_VECTOR && t->dimension == 0))
        return 0;
    if (t->id == CQL_T_UDT && t->field_names) {
        for (uint16_t i = 0; i < t->nsub; i++) {
            if (!utf8_valid((const uint8_t *)t->field_names[i], strlen(t->field_names[i])))
                return 0;
            for (uint16_t j = 0; j < i; j++)
                if (strcmp(t->field_names[i], t->field_names[j]) == 0)
                    return 0;
        }
    }
    for (uint16_t i = 0; i < t->nsub; i++)
        if (!t->sub[i] || !plausible(t->sub[i]))
            return 0;
    return 1;
}

static int has_text_map(const cql_type *t)
{
    if (t->id == CQL_T_MAP && t->nsub == 2 && (t->sub[0]->id == CQL_T_VARCHAR || t->sub[0]->id == CQL_T_ASCII))
        return 1;
    for (uint16_t i = 0; i < t->nsub; i++)
        if (has_text_map(t->sub[i]))
            return 1;
    return 0;
}

static int same(const cs_buf *a, const cs_buf *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const types[] = {
        "int", "bigint", "varint", "decimal", "double", "float", "text", "ascii", "blob", "boolean", "uuid",
        "timeuuid", "inet", "date", "time", "timestamp", "duration", "tinyint", "smallint", "counter",
        "list<text>", "set<int>", "map<text, int>", "map<int, text>", "map<timestamp, inet>",
        "list<frozen<list<double>>>", "tuple<int, text, frozen<list<float>>>", "vector<float, 3>",
        "vector<text, 2>", "map<frozen<tuple<int, text>>, frozen<set<decimal>>>", "set<duration>",
        "list<frozen<map<date, time>>>", "vector<frozen<vector<double, 2>>, 2>", "map<ascii, varint>"};
    if (size < 2)
        return 0;
    cql_error err;
    cql_type *t;
    const uint8_t *v0;
    size_t n;
    if (data[0] < 0xF0) {
        cs_rd r;
        cs_rd_init(&r, data, size);
        t = cql_type_read_option(&r, &err);
        if (!t)
            return 0;
        v0 = r.p;
        n = r.n;
    } else {
        t = cql_type_parse(types[data[1] % (sizeof types / sizeof types[0])], &err);
        if (!t)
            abort();
        v0 = data + 2;
        n = size - 2;
    }
    if (!plausible(t)) {
        cql_type_free(t);
        return 0;
    }
    uint8_t *v = malloc(n ? n : 1);
    if (!v)
        abort();
    memcpy(v, v0, n);
    cs_buf txt, js, b, txt2, b2, bj;
    cs_buf_init(&txt, 1 << 24);
    cs_buf_init(&js, 1 << 24);
    cs_buf_init(&b, 1 << 24);
    cs_buf_init(&txt2, 1 << 24);
    cs_buf_init(&b2, 1 << 24);
    cs_buf_init(&bj, 1 << 24);
    int rt = fmt_value_text(t, v, (int32_t)n, &txt, &err);
    int rj = fmt_value_json(t, v, (int32_t)n, &js, &err);
    int nomem = rj < 0 && err.code == CQL_E_NOMEM;
    if (rt != rj && !nomem)
        abort();
    if ((rt != 0 && txt.len) || (rj != 0 && js.len))
        abort();
    if (rt == 0) {
        if (cql_value_encode_text(t, (const char *)txt.data, txt.len, &b, &err))
            abort();
        if (fmt_value_text(t, b.data + 4, (int32_t)b.len - 4, &txt2, &err) || !same(&txt, &txt2))
            abort();
        if (cql_value_encode_text(t, (const char *)txt2.data, txt2.len, &b2, &err) || !same(&b, &b2))
            abort();
    }
    if (rj == 0 && rt == 0) {
        json_error_t je;
        json_t *j = json_loadb((const char *)js.data, js.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        if (!j)
            abort();
        if (cql_value_encode_json(t, j, &bj, &err))
            abort();
        if (!same(&b, &bj) && !has_text_map(t))
            abort();
        json_decref(j);
    }
    cs_buf_release(&txt);
    cs_buf_release(&js);
    cs_buf_release(&b);
    cs_buf_release(&txt2);
    cs_buf_release(&b2);
    cs_buf_release(&bj);
    free(v);
    cql_type_free(t);
    return 0;
}
