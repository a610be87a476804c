/* libFuzzer target: mapping expressions (src/map/expr.h). The input's first
 * line is the expression, compiled against five columns of different
 * types; the rest gives the row's values (the text column gets it whole,
 * the others are read from it). A compiled expression is evaluated and
 * its result walked, so ASan sees any read out of bounds; an error must
 * come with a sentence and an offset within the text. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "map/expr.h"

static volatile unsigned sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t tl = nl ? (size_t)(nl - data) : size;
    char *text = malloc(tl + 1);
    if (!text)
        return 0;
    memcpy(text, data, tl);
    text[tl] = 0;
    const uint8_t *rest = nl ? nl + 1 : data + size;
    size_t rn = (size_t)(data + size - rest);

    static const char *const names[] = {"t", "i", "b", "ts", "d"};
    static const map_type types[] = {MT_TEXT, MT_INT, MT_BLOB, MT_TIMESTAMP, MT_DECIMAL};
    map_env env = {5, names, types};
    map_error err;
    map_type type;
    map_expr *e = map_expr_compile(text, &env, &type, &err);
    if (!e) {
        if (!err.msg[0] || err.offset < 0 || (size_t)err.offset > strlen(text))
            abort();
        free(text);
        return 0;
    }
    uint64_t u = 0;
    for (size_t k = 0; k < rn && k < 8; k++)
        u = (u << 8) | rest[k];
    int64_t i = (int64_t)u;
    src_value row[5] = {
        {.kind = SV_TEXT, .u.s = {(const char *)rest, rn}},
        {.kind = SV_INT, .u.i = i},
        {.kind = SV_BLOB, .u.s = {(const char *)rest, rn < 16 ? rn : 16}},
        {.kind = SV_TIMESTAMP, .u.i = i / 7},
        {.kind = SV_DECIMAL, .u.s = {"-12.50", 6}},
    };
    if (rn == 0)
        row[0].kind = SV_NULL;
    arena a;
    arena_init(&a, 1024);
    src_value v;
    if (map_expr_eval(e, row, &a, &v, &err) == 0) {
        switch (v.kind) {
        case SV_TEXT: case SV_BLOB: case SV_DECIMAL: case SV_UUID: case SV_INET: case SV_BAD:
            for (size_t k = 0; k < v.u.s.n; k++)
                sink += (unsigned char)v.u.s.p[k];
            break;
        default:
            sink += (unsigned)v.u.i;
        }
    } else if (!err.msg[0] || err.offset < 0 || (size_t)err.offset > strlen(text)) {
        abort();
    }
    arena_release(&a);
    map_expr_free(e);
    free(text);
    return 0;
}
