/* Unload: a Cassandra table to CSV or JSONL files, read in parallel by
 * token range and written in token order.
 *
 * The token ring is cut into 2^bits equal ranges (the count is kept in the
 * state, so a resume cuts it the same way). Worker threads read ranges with
 * paged, token-routed SELECTs and format their rows into a buffer per
 * range; the output gets the ranges in ring order, so the same table gives
 * the same bytes whatever the worker count or the timing. A range that
 * finishes early waits in memory for the ones before it; one that grows
 * past UNLOAD_RANGE_MEM bytes before its turn stops reading until its turn
 * comes; at most workers + 2 ranges wait whole (memory stays bounded
 * whatever the table's size: about (2 workers + 2) x UNLOAD_RANGE_MEM).
 *
 * Output files are written under a temporary name (NAME.cqlshift-part) and
 * renamed when complete, so a killed unload never leaves a file that looks
 * whole. With a state, after each range (at most about once a second) the
 * data is synced and the state records the next range, the current file
 * and its length; a resume truncates that file to the recorded length and
 * goes on from that range: the output then holds the rows, in the order
 * and text, that an uninterrupted unload of the same data writes (byte for
 * byte without compression; compressed, the members may end elsewhere).
 */
#ifndef CQLSHIFT_UNLOAD_UNLOAD_H
#define CQLSHIFT_UNLOAD_UNLOAD_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "cql/cql.h"
#include "format/outstream.h"
#include "format/textfmt.h"
#include "state/state.h"

#define UNLOAD_RANGE_MEM ((size_t)4 << 20)   /* a waiting range's buffer limit */

typedef enum unload_format { UNLOAD_CSV, UNLOAD_JSONL } unload_format;

/* Live counters for a progress display (any thread may read them). */
typedef struct unload_progress {
    atomic_llong rows;          /* rows written (committed to the output) */
    atomic_llong bytes;         /* bytes written */
    atomic_llong ranges_done;   /* token ranges written */
    atomic_llong ranges_total;
} unload_progress;

typedef struct unload_config {
    int workers;                /* reader threads (default 2) */
    int page_size;              /* rows a page (default 5000) */
    uint16_t consistency;       /* read consistency (default LOCAL_ONE) */
    int range_bits;             /* 2^bits token ranges (default -1: from the table's size
                                 * in system.size_estimates, about 1 MB a range, 2^10 to
                                 * 2^16); a resume keeps the count its first run chose */
    unload_format format;
    char delimiter, quote;      /* CSV (default ',' and '"') */
    const char *null_text;      /* CSV: what null is written as, unquoted (default "") */
    int header;                 /* CSV: a header line with the column names (default 1) */
    int64_t max_file_bytes;     /* > 0 (directory output): a new file once a file holds
                                 * this many bytes (on disk), at a row's end */
    fmt_compression compression;/* of every file (default none); compressed files end a
                                 * member at each checkpoint, so a resume can cut there */
    const textfmt *textfmt;     /* optional: timestamps, dates and numbers (top-level
                                 * columns) written in the user's forms */
    double rate_limit;          /* > 0: read at most this many rows a second */
    unload_progress *progress;  /* optional */
    const atomic_int *interrupt;/* optional: nonzero stops at the next page (resumable) */
    const char *state_key;      /* prefix of this unload's keys in the state (default
                                 * "unload"; one per table when a job unloads several) */
} unload_config;

void unload_config_init(unload_config *c);

/* The table and columns to read, or a query. */
typedef struct unload_table {
    const char *keyspace;
    const char *table;
    const char *const *columns; /* output columns, in order (with a query: set by
                                 * unload_run from the query's result columns) */
    int ncols;
    const char *const *pk;      /* the partition key's columns, in order */
    int npk;
    /* Optional: a SELECT to run instead. With two bind markers ? ? (the
     * token range's first and last token, e.g. "... WHERE token(k) >= ? AND
     * token(k) <= ?") it is read in parallel by token range like a table;
     * without markers it is read whole, as one range. */
    const char *query;
    /* Optional (not with a query): the write time and expiry of each row,
     * from writetime() and ttl() of these columns (non-key; multi-cell
     * collections element by element), written after the columns as two
     * more fields named times_names[0] (the latest write time, in
     * microseconds since 1970) and times_names[1] (when the row expires, in
     * seconds since 1970; null: never). Where a row's cells differ, it
     * gets the latest write time, and the latest expiry, or none when a
     * cell has none (so no cell would expire earlier than it does);
     * those rows are counted in unload_result.mixed_times. A server that
     * refuses writetime() or ttl() on these columns (Cassandra before 5.0
     * on multi-cell collections) is asked again for the first
     * ntimes_single of them (the single-cell ones), then for none
     * (unload_result.times_used says how many were read). */
    const char *const *times_cols;
    int ntimes;
    int ntimes_single;
    const char *times_names[2];
} unload_table;

/* Where the rows go: exactly one of the three. */
typedef struct unload_output {
    const char *file;           /* one file */
    const char *dir;            /* files dir/base-000001.ext, ... */
    const char *base, *ext;     /* for dir: "t" and ".csv" */
    FILE *stream;               /* stdout: no temporary name, no resume */
} unload_output;

typedef struct unload_result {
    int64_t rows;               /* rows written */
    int64_t bytes;              /* bytes written by this run */
    int files;                  /* files completed */
    int64_t legacy_empty;       /* zero-length non-string values written as null */
    char first_empty[300];      /* the first of them: "column at row N" */
    int64_t mixed_times;        /* rows whose cells have different write times or expiries */
    char first_mixed[300];      /* the first of them: its key */
    int times_used;             /* of times_cols, the first times_used were read (fewer
                                 * than ntimes: the server refused; its reason in
                                 * times_why) */
    char times_why[300];
    int resumed;                /* 1: went on from a saved position */
    int interrupted;            /* 1: stopped by cfg->interrupt (resumable) */
} unload_result;

typedef struct unload_error {
    int usage;                  /* 1: the query or the request is wrong (exit code 2) */
    char msg[1024];
} unload_error;

/* Read every row of t and write it to out in cfg's format. st (optional)
 * holds the resume position (and the range count); NULL: no resume. 0 when
 * the output is complete (renamed to its final name), 1 when interrupted
 * (res->interrupted; the state says where to go on), -1 with err (one
 * sentence: what failed, the table, the range or file). */
int unload_run(cql_session *s, const unload_table *t, const unload_config *cfg, state *st,
               const unload_output *out, unload_result *res, unload_error *err);

/* The temporary name of path while it is written: path.cqlshift-part. */
void unload_part_name(const char *path, char *out, size_t n);

#endif
