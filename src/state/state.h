/* The state store: progress of a run, so a killed run can resume.
 *
 * A SQLite file (by default beside the run: <keyspace>.cqlshift-state.db in
 * the current directory) holding the job's identity and, per (table, range),
 * the resume point below which every row is written or rejected, the
 * counters up to that point, and whether the range is finished.
 * Checkpoints are small transactions (WAL mode, synchronous=NORMAL), so a
 * kill -9 loses at most the work after the last checkpoint, which is redone
 * idempotently.
 */
#ifndef CQLSHIFT_STATE_STATE_H
#define CQLSHIFT_STATE_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "util/pos.h"

typedef struct state_error {
    int code;               /* 0 ok, 1 failed, 2 mismatch (another job's state) */
    char msg[512];
} state_error;

typedef struct state state;

typedef struct range_state {
    src_pos resume;         /* empty: not started (the connector's bytes);
                             * owned: free with src_pos_free */
    int64_t rows_read;
    int64_t rows_written;
    int64_t rows_rejected;
    int64_t rows_filtered;  /* skipped by a mapping's row filter */
    int done;
} range_state;

/* Open or create the store at path. `job_key` identifies the job (source
 * URI, target, tables): with resume=1 an existing store must have the same
 * key (else code 2, naming both); with resume=0 an existing store is
 * cleared (a fresh run). */
state *state_open(const char *path, const char *job_key, int resume, state_error *err);
void state_close(state *st);
/* The saved state of a range, or a zero state with an empty resume point.
 * out->resume is reused (grown) as it is: zero it before the first call,
 * src_pos_free it after the last. */
int state_get_range(state *st, const char *table, int range_id, range_state *out, state_error *err);
/* Save the state of a range (thread-safe; one transaction). */
int state_save_range(state *st, const char *table, int range_id, const range_state *rs,
                     state_error *err);
/* Save range range_id of n tables (tables[i] -> rs[i]) in one transaction:
 * the target tables fed by one source table's range, whose resume points
 * must never disagree after a crash. Thread-safe. */
int state_save_range_n(state *st, int n, const char *const *tables, int range_id,
                       const range_state *rs, state_error *err);
/* The job's write timestamp: the one saved by the run that started the
 * job, or now_us (saved) for a fresh job, so a resumed run writes with the
 * same timestamp as the run it continues. 0 on error (err set). */
int64_t state_write_timestamp(state *st, int64_t now_us, state_error *err);
/* Mark the whole job finished (a later --resume has nothing to do). */
int state_set_finished(state *st, state_error *err);
int state_is_finished(state *st);

/* A string in the job's meta table (the command line, the fingerprint...):
 * copied into out (truncated to outsz); 1 if present, 0 if absent, -1 on
 * error. Keys "format_version", "job_key", "finished" and
 * "write_timestamp_us" belong to the store itself. */
int state_meta_get(state *st, const char *key, char *out, size_t outsz, state_error *err);
int state_meta_set(state *st, const char *key, const char *value, state_error *err);
/* The same, whatever its length: a malloc'd copy, or NULL (absent, or an
 * error with err->code set). */
char *state_meta_dup(state *st, const char *key, state_error *err);
/* commit = 0: BEGIN (one writer transaction, e.g. the whole plan); 1:
 * COMMIT; -1: ROLLBACK. Not while loader threads checkpoint. */
/* meta[key] = n bytes (binary: a blob). 0, or -1 with err. */
int state_blob_set(state *st, const char *key, const void *data, size_t n, state_error *err);
/* meta[key] in a malloc'd copy (*data, *n bytes; free it): 1 found, 0
 * absent (*data NULL), -1 with err. */
int state_blob_get(state *st, const char *key, void **data, size_t *n, state_error *err);
int state_transaction(state *st, int commit, state_error *err);

/* The plan of one range, saved at the first split of a job and read back
 * by every resume, whatever the flags say: bounds are opaque bytes that the
 * source connector defines; source_count is the number of rows the source
 * held in the range when it was planned (-1 unknown). */
typedef struct state_range {
    int id;
    const void *lo, *hi;
    size_t lo_len, hi_len;
    const char *label;
    int64_t source_count;
} state_range;

/* Save the ranges of table (once; a second save of one range id fails). */
int state_save_ranges(state *st, const char *table, const state_range *r, int n,
                      state_error *err);
/* Call each() for every saved range of table, by range id; pointers in r
 * are valid only during the call; each() returns 0, or non-zero to stop
 * (reported as out of memory). Returns the number of ranges (0: the table
 * is not planned yet) or -1 with err. */
int state_load_ranges(state *st, const char *table,
                      int (*each)(void *ctx, const state_range *r), void *ctx, state_error *err);

/* What a state file says about its job, read without taking the run lock
 * (for finding a job's runs): 0, or -1 with err if it is not a readable
 * cqlshift state. running: another process holds the run lock now. */
typedef struct state_info {
    int format_version;
    int finished;
    int abandoned;          /* meta "abandoned" = 1: given up by --restart */
    int running;
    char job_key[4096];     /* as long as the key a job has (job.h) */
    char command[4096];     /* meta "command": the command line that started it */
} state_info;

int state_peek(const char *path, state_info *out, state_error *err);

#endif
