/* Reading a token range of a table (or a whole query), page by page: the
 * loop verify and unload share. */
#ifndef CQLSHIFT_TARGET_SCAN_H
#define CQLSHIFT_TARGET_SCAN_H

#include <stdint.h>

#include "cql/cql.h"

typedef struct target_scan {
    cql_session *s;
    const cql_prepared *select; /* bound: its two markers are the range's first and last
                                 * token (token(pk) >= ? AND token(pk) <= ?) */
    int bounded;                /* 0: no markers, the query is read whole */
    int64_t lo, hi;             /* the range (bounded), routed to a replica of hi */
    uint16_t consistency;
    int32_t page_size;
    /* Called before each page: nonzero stops the scan (it may also wait,
     * e.g. for a rate limit). NULL: never. */
    int (*before_page)(void *ctx);
    /* Each page as it comes; last: no page follows. Nonzero stops. */
    int (*on_page)(void *ctx, const cql_result *r, int last);
    void *ctx;
} target_scan;

/* Run the scan. 0 when every page was read, 1 when a callback stopped it,
 * -1 with err (the request failed after the session's retries, or out of
 * memory). */
int target_scan_run(const target_scan *sc, cql_error *err);

#endif
