/* libFuzzer target: the database value decoders on arbitrary bytes, as a
 * hostile or broken server could send them.
 *
 * Byte 0 picks the decoder: bit 7 clear, a PostgreSQL binary COPY field
 * (pg_decode_field; bits 0-4: the column's decoder, arrays with the element
 * decoder from byte 1 and 1-3 dimensions), bit 7 set, a MySQL text-protocol
 * value (my_decode; bits 0-6: the value kind, any but MYV_ROWID). The rest is the field. Every
 * decoded value is walked so ASan sees any byte read out of bounds, and
 * every text it hands out must be within the arena or the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "source/my_int.h"
#include "source/pg_int.h"

static volatile unsigned sink;

static void walk(const src_value *v, int depth)
{
    if (depth > 64)
        abort();
    switch (v->kind) {
    case SV_TEXT:
    case SV_BLOB:
    case SV_DECIMAL:
    case SV_UUID:
    case SV_INET:
    case SV_BAD:
        for (size_t i = 0; i < v->u.s.n; i++)
            sink += (unsigned char)v->u.s.p[i];
        break;
    case SV_LIST:
        for (int i = 0; i < v->u.list.n; i++)
            walk(&v->u.list.v[i], depth + 1);
        break;
    default:
        sink += (unsigned)v->u.i;
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    arena a;
    arena_init(&a, 4096);
    src_value v;
    memset(&v, 0, sizeof v);
    if (data[0] & 0x80) {
        /* every kind but the synthetic rowid, which no server sends */
        my_vk vk = (my_vk)(1 + (data[0] & 0x7f) % (int)MYV_SET);
        /* the text protocol hands out a NUL-terminated copy */
        char *p = malloc(size - 1);
        if (!p)
            abort();
        memcpy(p, data + 2, size - 2);
        p[size - 2] = 0;
        if (my_decode(vk, p, (unsigned long)(size - 2), &v, &a) == 0)
            walk(&v, 0);
        free(p);
    } else {
        pg_col c;
        memset(&c, 0, sizeof c);
        c.dec = (pg_dec)((data[0] & 0x1f) % ((int)PGD_ARRAY + 1));
        c.elem_dec = (pg_dec)((data[1] & 0x1f) % (int)PGD_ARRAY);
        c.dims = 1 + ((data[0] >> 5) & 3) % 3;
        if (pg_decode_field(&c, data + 2, (int32_t)(size - 2), &v, &a) == 0)
            walk(&v, 0);
    }
    arena_release(&a);
    return 0;
}
