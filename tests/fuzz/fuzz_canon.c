/* libFuzzer target: verify's canonical form of a value read from the
 * server (verify_canon_value) on arbitrary bytes. Byte 0 picks the type;
 * the value is copied into a buffer of exactly its size so ASan flags any
 * read past its length. The form must not depend on anything but the
 * bytes: two calls give the same output. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "verify/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const types[] = {"set<text>", "map<int, text>", "list<bigint>",
                                        "set<frozen<list<int>>>", "map<text, frozen<set<int>>>",
                                        "text", "frozen<set<blob>>", "map<blob, blob>",
                                        "tuple<int, frozen<set<int>>>",
                                        "list<frozen<map<int, frozen<set<text>>>>>"};
    if (size < 1)
        return 0;
    cql_error e;
    cql_type *t = cql_type_parse(types[data[0] % (sizeof types / sizeof types[0])], &e);
    if (!t)
        abort();
    size_t n = size - 1;
    uint8_t *v = malloc(n ? n : 1);
    if (!v)
        abort();
    memcpy(v, data + 1, n);
    cs_buf a, b;
    cs_buf_init(&a, SIZE_MAX);
    cs_buf_init(&b, SIZE_MAX);
    int32_t len = (data[0] & 0x80) ? -1 : (int32_t)n;
    int ra = verify_canon_value(t, v, len, &a);
    int rb = verify_canon_value(t, v, len, &b);
    if (ra != rb || a.len != b.len || (a.len && memcmp(a.data, b.data, a.len)))
        abort();
    cs_buf_release(&a);
    cs_buf_release(&b);
    free(v);
    cql_type_free(t);
    return 0;
}
