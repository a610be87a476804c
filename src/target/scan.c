/* Token-range scans (scan.h). */
#include <stdlib.h>
#include <string.h>

#include "target/scan.h"
#include "util/buf.h"

int target_scan_run(const target_scan *sc, cql_error *err)
{
    uint8_t vals[24];
    cs_put_be32(vals, 8);
    cs_put_be64(vals + 4, (uint64_t)sc->lo);
    cs_put_be32(vals + 12, 8);
    cs_put_be64(vals + 16, (uint64_t)sc->hi);
    uint8_t *paging = NULL;
    size_t paging_len = 0;
    int rc = 0;
    for (;;) {
        if (sc->before_page && sc->before_page(sc->ctx)) {
            rc = 1;
            break;
        }
        cql_statement st = {0};
        st.prepared = sc->select;
        st.values = sc->bounded ? vals : NULL;
        st.values_len = sc->bounded ? sizeof vals : 0;
        st.nvalues = sc->bounded ? 2 : 0;
        st.consistency = sc->consistency;
        st.page_size = sc->page_size;
        st.paging_state = paging;
        st.paging_state_len = paging_len;
        st.idempotent = 1;
        st.token = sc->hi;
        st.has_token = sc->bounded;
        cql_result *r = cql_session_query_sync(sc->s, &st, err);
        if (!r) {
            rc = -1;
            break;
        }
        size_t pl = 0;
        const uint8_t *ps = cql_result_paging_state(r, &pl);
        free(paging);
        paging = NULL;
        paging_len = 0;
        if (ps && pl) {
            paging = malloc(pl);
            if (!paging) {
                cql_result_free(r);
                rc = cql_fail(err, CQL_E_NOMEM, "out of memory");
                break;
            }
            memcpy(paging, ps, pl);
            paging_len = pl;
        }
        int stop = sc->on_page(sc->ctx, r, paging == NULL);
        cql_result_free(r);
        if (stop) {
            rc = 1;
            break;
        }
        if (!paging)
            break;
    }
    free(paging);
    return rc;
}
