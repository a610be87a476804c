/* verify: prove, row by row and in bounded memory, that Cassandra holds
 * what the source holds.
 *
 * Both sides become (token, key, row hash) through the same mapping and
 * conversions as the copy (load_encode_values), each value in a canonical
 * form (verify_canon_value): the elements of sets and maps in one order,
 * an empty collection as null, null and unset alike. The token ring is cut
 * into 2^k equal buckets per target table (k from the source's row
 * estimate: about 4096 rows a bucket). The source is read once, in
 * parallel ranges (one snapshot for databases), and every mapped row adds
 * one to its bucket's count and its row hash to the bucket's sum (order
 * does not matter); every bucket of the target is read by a token range
 * query, paged, and summed the same way, at the same time. Buckets that
 * agree hold the same rows. Only for the buckets that differ are the rows
 * of both sides (the source read again, keeping those buckets' rows) put
 * in a spill file (SQLite, on disk) and matched by key: missing in the
 * target, extra in the target, different (naming the columns), and keys
 * that several source rows map to.
 *
 * Memory: per worker one bucket array (16 bytes a bucket) per target table
 * and a batch of rows; the spill file holds the differing buckets' rows on
 * disk, with a bounded page cache.
 *
 * Resume: with a state store, each finished source range's bucket sums and
 * each finished target bucket are saved; a resume reads only what is not
 * (the differing buckets' spill is redone).
 */
#ifndef CQLSHIFT_VERIFY_VERIFY_H
#define CQLSHIFT_VERIFY_VERIFY_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>

#include "cql/cql.h"
#include "load/loader.h"
#include "source/source.h"
#include "state/state.h"
#include "util/buf.h"

/* Counters for a progress display, updated while verify runs (read them
 * from any thread). */
typedef struct verify_progress {
    atomic_llong source_rows;   /* source rows read (every pass) */
    atomic_llong target_rows;   /* target rows read */
    atomic_llong ranges_done;   /* target token ranges (buckets) read */
    atomic_llong ranges_total;  /* of the first pass */
    atomic_int pass;            /* 0 digests, 1 differing ranges, 2 re-check, 3 repair,
                                 * 4 waiting to re-check */
    atomic_llong waiting;       /* keys that differ, looked at again after the wait */
} verify_progress;

typedef struct verify_config {
    int workers;                /* source readers (default 2); the target is read by
                                 * 2 * workers + 2 threads */
    int batch_rows;             /* rows per source read (default 500) */
    int page_size;              /* target rows per page (default 5000) */
    uint16_t consistency;       /* of the target reads (default LOCAL_QUORUM) */
    int bucket_bits;            /* 0: from the row estimate; else 2^bits buckets (1..20) */
    const char *spill_path;     /* the spill file for differing buckets (required) */
    const atomic_int *interrupt; /* non-zero: stop, keep what is saved (code 5) */
    int repair;                 /* write the missing and different rows from the source */
    int delete_extra;           /* delete the rows only the target has (with repair) */
    int64_t repair_timestamp_us; /* the write time of repairs and deletes (a mapping's
                                 * own `writetime` wins): the time the source was read,
                                 * so a newer write to the target is never overwritten */
    double recheck_s;           /* > 0: a difference is looked at again this many seconds
                                 * later, in the source opened anew, and reported only
                                 * if it is still there (a live source) */
    /* With recheck_s: the source opened again as the copy opened it (same
     * tables in the same order), its snapshot taken; verify closes it. */
    source *(*reopen)(void *ctx, source_error *err);
    void *reopen_ctx;
    verify_progress *progress;  /* NULL: none */
    int source_once;            /* the source can be read once only (standard input): the
                                 * buckets that differ are counted (counts.unmatched), not
                                 * matched key by key, which reads the source again */
} verify_config;

void verify_config_init(verify_config *c);

/* What one target table's comparison found. Rows are source rows after
 * the mapping (filtered and rejected ones excluded). */
typedef struct verify_counts {
    int64_t source_rows;        /* mapped source rows: what the target should hold */
    int64_t target_rows;
    int64_t equal;
    int64_t missing;            /* keys the source has and the target not */
    int64_t extra;              /* keys the target has and the source not */
    int64_t different;          /* keys on both sides, some column differs */
    int64_t duplicate;          /* keys that more than one source row maps to */
    int64_t rejected;           /* source rows the copy would reject (conversion, null key) */
    int64_t filtered;           /* source rows the mapping's filter leaves out */
    int64_t buckets, buckets_differing;
    int64_t repaired;           /* rows written by --repair (missing and different) */
    int64_t deleted;            /* extra rows deleted (--delete-extra) */
    int64_t buckets_after_repair; /* buckets that still differ when read again */
    int64_t transient;          /* with recheck_s: keys that differed, then no longer */
    int64_t unmatched;          /* with source_once: buckets that differ, their rows not
                                 * matched (nor counted as equal) */
} verify_counts;

/* One target table: the keyspace and table, and its counts. */
typedef struct verify_table_result {
    char keyspace[256];
    char table[256];
    verify_counts counts;
} verify_table_result;

/* Where differences go, in order (keys sorted within a kind), from the
 * calling thread. The object (the report's form, docs/verify.md):
 *   {"type":"difference","table":"ks.t","kind":"missing"|"extra"|"different"|"duplicate",
 *    "key":{...},"columns":[...],"source":{...},"target":{...}}
 * borrowed for the call. Return 0 to go on, -1 to stop with an error. */
/* The columns of the target table a difference is in (its values' types,
 * for printing them as CQL literals). */
typedef struct verify_columns {
    int n;
    const char *const *names;
    const cql_type *const *types;
} verify_columns;

typedef struct verify_sink {
    void *ctx;
    int (*difference)(void *ctx, const json_t *diff, const verify_columns *cols);
} verify_sink;

typedef struct verify_error {
    int code;                   /* 0, 1 failed, 5 interrupted */
    char msg[1024];
} verify_error;

/* Compare every target table the tables feed (several tables of one
 * target table, e.g. mappings from two source tables, are compared
 * together; they must bind the same columns) with the source. The ranges
 * must be planned (load_ranges_plan), a database source's snapshot taken.
 * st may be NULL (nothing saved, nothing resumed). Fills *results (an
 * array the caller frees) with one entry per target table, in the order
 * the tables first name them. 0 (whatever was found), or -1 with err. */
int verify_run(source *src, cql_session *s, const load_table *tables, int ntables,
               const verify_config *cfg, state *st, const verify_sink *sink,
               verify_table_result **results, int *nresults, verify_error *err);

/* The canonical form of a value of CQL type t (len < 0: null or unset),
 * appended to out: a tag byte (0 null, 1 value), then for a value its
 * length (4 bytes) and bytes, the elements of a set or map sorted by their
 * bytes and a repeated one kept once (the last given, as Cassandra keeps a
 * map's repeated key), an empty collection written as null, and sets and
 * maps inside other values (a frozen set in a set, list, tuple or UDT) in
 * their canonical form too, since Cassandra sorts those again.
 * 0, or -1 (malformed collection bytes: the raw bytes are written, so
 * the comparison still works; or out of memory). */
int verify_canon_value(const cql_type *t, const uint8_t *p, int32_t len, cs_buf *out);

/* The bucket of a token among 2^bits, and the first and last token of
 * bucket b. */
uint32_t verify_bucket_of(int64_t token, int bits);
void verify_bucket_bounds(uint32_t b, int bits, int64_t *lo, int64_t *hi);

#endif
