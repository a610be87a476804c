/* The loader: source ranges -> CQL values -> asynchronous writes.
 *
 * Worker threads take (table, range) work items, read row batches from the
 * source, convert each row's values straight into a request buffer, and
 * submit prepared INSERTs (explicit write timestamp, idempotent) through the
 * CQL session, which routes each to a replica. A row batch stays alive until
 * every request made from it completed, so a failing row can be reported
 * with its raw text without copying rows. Each worker owns a fixed pool of
 * batches, so memory is bounded by workers x pool x batch size, whatever
 * the input size.
 *
 * Accounting: every row read is written or rejected. Rejected: a value that
 * cannot be converted, a null key column, a malformed source row, or a row
 * Cassandra refuses (Invalid, too large...). Transient failures (timeouts,
 * Overloaded, Unavailable) are retried by the session; if retries run out,
 * the run stops with an error (the data is not rejected) and can resume.
 *
 * Resume: per range, the resume point below which every row is settled
 * advances as batches complete in order, and is checkpointed in the state
 * store about once a second and at the end of the range.
 */
#ifndef CQLSHIFT_LOAD_LOADER_H
#define CQLSHIFT_LOAD_LOADER_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "cql/cql.h"
#include "format/textfmt.h"
#include "obs/progress.h"
#include "source/source.h"
#include "state/state.h"

typedef struct loader_config {
    int workers;                /* reader/encoder threads, default 2 */
    int batch_rows;             /* rows per source read, default 500 */
    int max_inflight_rows;      /* ceiling of the adaptive in-flight limit, default 4096 */
    double rate_limit;          /* rows per second, 0 = unlimited */
    int64_t max_errors;         /* stop after more rejects than this; -1 = no limit */
    double max_errors_pct;      /* stop when rejects exceed this % of rows read; < 0 = off */
    uint16_t consistency;       /* default LOCAL_QUORUM... set by the caller */
    int64_t write_timestamp_us; /* one explicit timestamp for every write */
    int ranges_per_table;       /* split hint, default 4 * workers */
    int batch_mode;             /* LOAD_BATCH_*, default AUTO (see loader.c) */
    int batch_max_rows;         /* rows per batch request (1..1000); 0: 64 for
                                 * partition mode, 8 for replica mode */
    int batch_max_bytes;        /* size of a batch request as Cassandra counts it
                                 * (loader.c: row_cost); 0: 64 KiB for partition
                                 * mode, 5 KiB for replica mode */
    const atomic_int *interrupt; /* non-zero: stop reading, settle, checkpoint
                                 * (err code 5); NULL: none */
} loader_config;

enum { LOAD_BATCH_PARTITION = 0, LOAD_BATCH_REPLICA = 1, LOAD_BATCH_NONE = 2, LOAD_BATCH_AUTO = 3 };

void loader_config_init(loader_config *c);

/* The unit of an integer in a timestamp column: time since 1970 in
 * milliseconds (CQL's own unit, the default), seconds or microseconds. */
typedef enum load_epoch_unit { LOAD_EPOCH_MS = 0, LOAD_EPOCH_S, LOAD_EPOCH_US } load_epoch_unit;

/* "s", "ms" or "us" -> the unit; -1 for anything else. */
int load_epoch_unit_parse(const char *s);
/* "seconds", "milliseconds", "microseconds". */
const char *load_epoch_unit_words(load_epoch_unit u);

/* Per bound column: how its integers are read, and what the workers saw
 * (atomics while the loader runs; read them after loader_run). The caller
 * owns it; all zero is the default. */
typedef struct load_column_info {
    int epoch_unit;             /* load_epoch_unit, for a timestamp column */
    atomic_llong rounded;       /* values rounded to the column's double or float
                                 * (more significant digits than it holds) */
    atomic_int first_taken;     /* the worker that counted the first one fills: */
    int64_t first_pos;          /*   its row's position */
    char first[72];             /*   the value as the source gave it (cut to fit) */
} load_column_info;

/* How a target table's row is computed when it is not column for column
 * (a plan mapping: expressions, a row filter, each row's write time and
 * TTL). The functions are called from every worker thread at once: ctx
 * must be read-only while the loader runs. Results go into arena a, which
 * the loader resets for every row. Each returns 0 (filter: 1 keep, 0 skip),
 * or -1 with a sentence in why: the row is rejected for this table. */
typedef struct load_row_map {
    void *ctx;
    /* The value of bound column c (its src_cols entry is LOAD_COL_COMPUTED). */
    int (*value)(void *ctx, int c, const src_row *r, arena *a, src_value *out, char *why,
                 size_t n);
    /* NULL: every row goes in. */
    int (*filter)(void *ctx, const src_row *r, arena *a, char *why, size_t n);
    /* NULL: the run's write timestamp; else microseconds since 1970. */
    int (*timestamp)(void *ctx, const src_row *r, arena *a, int64_t *us, char *why, size_t n);
    /* NULL: no TTL; else seconds (0: none, -1: the table's default TTL);
     * the INSERT then ends with USING TIMESTAMP ? AND TTL ? and ncols
     * counts both. */
    int (*ttl)(void *ctx, const src_row *r, arena *a, int32_t *secs, char *why, size_t n);
} load_row_map;

#define LOAD_COL_COMPUTED (-2)  /* src_cols: the bound column comes from map->value */
#define LOAD_MAX_FED 16         /* target tables one source table's reads feed */

/* What the loader writes for one target table. */
typedef struct load_table {
    int src_table;              /* index in the source schema */
    const char *name;           /* for messages, state and progress (the target table) */
    const char *keyspace;       /* the target keyspace (replica lookups) */
    int ncols;                  /* bound columns, in the INSERT's order (timestamp last) */
    const cql_type *const *types; /* CQL type of each bound column */
    const char *const *col_names;
    const int *src_cols;        /* source column feeding each bound column (-1: null;
                                 * LOAD_COL_COMPUTED: map->value) */
    const int *is_key;          /* 1 partition key, 2 clustering column, 0 other (a null
                                 * key is refused; with clustering columns, consecutive
                                 * rows of one partition go as one unlogged batch) */
    const cql_prepared *insert; /* INSERT ... VALUES (?, ..., ?) USING TIMESTAMP ? */
    /* A table with static columns: the INSERT of the bound values with
     * in_static[c] set (the partition key and the static columns, in the
     * bound order), then the write time [and TTL], for a row whose
     * clustering columns and other columns are all null: a partition that
     * holds static values alone (Cassandra refuses a null clustering
     * column in the full INSERT). NULL: such a row is rejected. */
    const cql_prepared *insert_static;
    const unsigned char *in_static;
    load_column_info *info;     /* ncols entries, or NULL: defaults, nothing counted */
    table_progress *progress;
    const source_range *ranges; /* the ranges to read (kept in the state by
                                 * the caller), or NULL: split here */
    int nranges;
    const load_row_map *map;    /* NULL: every bound column from src_cols */
    int fed_by;                 /* 0: the table reads its source table itself; i + 1:
                                 * the rows read for tables[i] (an earlier table with the
                                 * same src_table) feed this one too, so the source
                                 * table is read once for all of them (at most
                                 * LOAD_MAX_FED in all); its ranges are tables[i]'s */
    const textfmt *textfmt;     /* how texts are read into timestamp, date and number
                                 * columns (load's format options); NULL: defaults */
    int quiet_values;           /* 1: do not count values rounded to a double or float
                                 * column (verify: the copy's notes said it; it saves
                                 * the check, a second conversion of each such value) */
    const char *table;          /* the target table's CQL name when `name` says more
                                 * ("t (from s)"); NULL: name */
    int rereads;                /* 1: its source table cannot continue from a resume
                                 * point (a query: source_table.query): an unfinished
                                 * range is read again from its start, its settled
                                 * counts reset (the writes are idempotent upserts with
                                 * the job's timestamp, so the content converges); set
                                 * on the tables a reading table feeds too */
    int counter;                /* 1: a counter table: `insert` is UPDATE ... SET c = c + ?,
                                 * ... WHERE k = ? ... (bound: the counters, then the
                                 * key; no write time or TTL), batches are COUNTER
                                 * batches and no request is retried (an increment is
                                 * not idempotent) */
} load_table;

/* The values a row binds, before the write time and TTL. */
static inline int load_nvalues(const load_table *t)
{
    return t->ncols - (t->counter ? 0 : 1) - (t->map && t->map->ttl ? 1 : 0);
}

/* Encode the bound values of source row r for table t as the loader
 * writes them (the mapping's computed values, the column conversions; a
 * null source value becomes "unset"), appending load_nvalues(t)
 * [int32 len][bytes] values to out; scratch holds computed values (the
 * caller resets it). The row filter is not applied here. A row of a
 * partition's static values alone (insert_static) is encoded whole, its
 * clustering columns null. 0, or -1 with a sentence in why naming the
 * column (the row is rejected). Thread-safe when the row map's functions
 * are. */
int load_encode_values(const load_table *t, const src_row *r, arena *scratch, cs_buf *out,
                       char *why, size_t whylen);

typedef struct loader_error {
    int code;                   /* 0 ok, 1 failed (source/Cassandra), 4 too many rejects,
                                 * 5 interrupted (cfg.interrupt) */
    char msg[1024];
} loader_error;

/* Load every range of every table. Blocks until done or failed. State and
 * rejects may not be NULL; progress counters come from each table's
 * `progress`. Returns 0, or -1 with err (the first fatal error). */
int loader_run(source *src, cql_session *s, const load_table *tables, int ntables,
               const loader_config *cfg, state *st, rejects *rej, loader_error *err);

/* The ranges of every table: read back from the state when planned by an
 * earlier run (whatever ranges_per_table says now), else split now (hint
 * ranges_per_table), counted where the source can count, and saved, all
 * unplanned tables in one transaction. Sets each table's ranges/nranges
 * (free with load_ranges_free) and expected[t]: the rows the source held in
 * the ranges when they were planned (-1 unknown). A fed table (fed_by)
 * shares the ranges and the expected count of the table that reads for it.
 * expected NULL: the ranges are not counted (verify does not need it, and
 * a count is a read of the range). 0, or -1 with err. */
int load_ranges_plan(source *src, state *st, load_table *tables, int ntables,
                     int ranges_per_table, int64_t *expected, loader_error *err);
void load_ranges_free(load_table *tables, int ntables);

/* Convert one source value to the CQL type t, appending [int32 len][bytes]
 * to out (a null source value appends "unset", which writes no tombstone).
 * 0, or -1 with a sentence in err. Exposed for tests. */
int load_convert_value(const cql_type *t, const src_value *v, cs_buf *out, cql_error *err);

/* load_convert_value for the typed kinds of database sources (SV_BOOL,
 * SV_UINT, SV_DECIMAL, SV_TIMESTAMP, SV_DATE, SV_TIME, SV_DURATION,
 * SV_UUID, SV_INET, SV_LIST, SV_BAD): straight to the natural CQL type,
 * through the value's text form to any other. 0, or -1 with err. */
int load_convert_typed(const cql_type *t, const src_value *v, cs_buf *out, cql_error *err);
/* The text form of a source value appended to out (no NUL): ISO 8601
 * dates and timestamps ("2024-01-02T03:04:05.123456Z", years outside
 * 0..9999 with a sign), "HH:MM:SS[.f]" times, CQL durations, canonical
 * uuids and addresses, JSON arrays for lists, 0x-hex for blobs. 0 or -1. */
int load_value_text(const src_value *v, cs_buf *out);
/* A source value as JSON (for reject files): numbers and booleans as
 * such, lists as arrays, the rest as their text form. New reference. */
json_t *load_value_json(const src_value *v);

/* The part of load_convert_column for integers in timestamp columns, for
 * double and float columns and for texts read with t->textfmt (out of
 * line: the other values pay one test on the hot path). */
int load_convert_watched(const load_table *t, int c, const src_value *v, int64_t pos, cs_buf *out,
                         cql_error *err);

/* load_convert_value for bound column c of table t, with the column's
 * load_column_info (the epoch unit of integers in a timestamp column; a
 * value that a double or float column cannot hold exactly is counted, and
 * the first one kept, with its row's position pos). 0, or -1 with err. */
static inline int load_convert_column(const load_table *t, int c, const src_value *v, int64_t pos,
                                      cs_buf *out, cql_error *err)
{
    cql_type_id id = t->types[c]->id;
    if (t->textfmt ||
        (id == CQL_T_TIMESTAMP ? v->kind == SV_INT : id == CQL_T_DOUBLE || id == CQL_T_FLOAT))
        return load_convert_watched(t, c, v, pos, out, err);
    return load_convert_value(t->types[c], v, out, err);
}

/* Print a note for every column of t whose values were rounded
 * ("cqlshift: note: ks.t.col: ..."), after the run. */
void load_print_value_notes(const load_table *t, FILE *out);

#endif
