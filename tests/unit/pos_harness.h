/* Resume points and range bounds as int64s in tests (the SQLite and file
 * connectors keep 8 bytes big-endian). */
#ifndef CQLSHIFT_TESTS_POS_HARNESS_H
#define CQLSHIFT_TESTS_POS_HARNESS_H

#include <stdint.h>

#include "util/buf.h"
#include "util/pos.h"

static inline const src_pos *test_pos(src_pos *p, uint8_t *buf, int64_t v)
{
    if (v != INT64_MIN) {
        cs_put_be64(buf, (uint64_t)v);
        p->p = buf;
        p->n = p->cap = 8;
    }
    return p;
}

/* A resume point for open_range: AT(INT64_MIN) is "from the start". */
#define AT(v) test_pos(&(src_pos){0}, (uint8_t[8]){0}, (v))

/* The int64 in a position (INT64_MIN if empty; INT64_MIN + 1 if not 8 bytes). */
static inline int64_t pos_i64(const src_pos *p)
{
    int64_t v;
    return src_pos_get_i64(p, INT64_MIN, &v) ? INT64_MIN + 1 : v;
}

#endif
