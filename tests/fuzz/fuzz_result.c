/* libFuzzer target: RESULT, ERROR and SUPPORTED parsing on arbitrary bodies.
 * Byte 0 picks the parser and protocol version; the body is copied into a
 * buffer of exactly its size so ASan flags any read past `len`. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cql/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    size_t n = size - 1;
    uint8_t *body = malloc(n ? n : 1);
    if (!body)
        return 0;
    memcpy(body, data + 1, n);
    int version = (sel & 1) ? 5 : 4;
    cql_error err;
    switch ((sel >> 1) & 3) {
    case 0:
    case 1: {
        /* skip_metadata columns supplied on odd selectors */
        cql_metadata skip = {.ncols = sel >> 4};
        cql_result_body r;
        int rc = cql_result_parse(&r, version, body, n, (sel & 4) ? &skip : NULL, &err);
        if (rc == 0) {
            if (r.kind == CQL_RESULT_ROWS) {
                volatile uint8_t sink = 0;
                for (int64_t i = 0; i < (int64_t)r.rows.nrows * r.rows.ncols; i++) {
                    if (r.rows.lens[i] >= 0 && r.rows.lens[i] > 0)
                        sink ^= r.rows.vals[i][r.rows.lens[i] - 1];
                    if (r.rows.vals[i] && (r.rows.vals[i] < body ||
                                           r.rows.vals[i] + r.rows.lens[i] > body + n))
                        abort();
                }
                (void)sink;
            }
            cql_result_body_release(&r);
        } else if (err.code != CQL_E_PROTOCOL && err.code != CQL_E_NOMEM &&
                   err.code != CQL_E_ENCODE) {
            abort();
        }
        break;
    }
    case 2:
        if (cql_msg_parse_error(body, n, &err) != -1 || strlen(err.msg) >= sizeof err.msg)
            abort();
        break;
    case 3: {
        char *v = cql_supported_get(body, n, (sel & 0x10) ? "COMPRESSION" : "");
        free(v);
        break;
    }
    }
    free(body);
    return 0;
}
