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

#include <stdint.h>

typedef struct state_error {
    int code;               /* 0 ok, 1 failed, 2 mismatch (another job's state) */
    char msg[512];
} state_error;

typedef struct state state;

typedef struct range_state {
    int64_t resume_after;   /* INT64_MIN: not started */
    int64_t rows_read;
    int64_t rows_written;
    int64_t rows_rejected;
    int done;
} range_state;

/* Open or create the store at path. `job_key` identifies the job (source
 * URI, target, tables): with resume=1 an existing store must have the same
 * key (else code 2, naming both); with resume=0 an existing store is
 * cleared (a fresh run). */
state *state_open(const char *path, const char *job_key, int resume, state_error *err);
void state_close(state *st);
/* The saved state of a range, or a zero state with resume_after = INT64_MIN. */
int state_get_range(state *st, const char *table, int range_id, range_state *out, state_error *err);
/* Save the state of a range (thread-safe; one transaction). */
int state_save_range(state *st, const char *table, int range_id, const range_state *rs,
                     state_error *err);
/* The job's write timestamp: the one saved by the run that started the
 * job, or now_us (saved) for a fresh job, so a resumed run writes with the
 * same timestamp as the run it continues. 0 on error (err set). */
int64_t state_write_timestamp(state *st, int64_t now_us, state_error *err);
/* Mark the whole job finished (a later --resume has nothing to do). */
int state_set_finished(state *st, state_error *err);
int state_is_finished(state *st);

#endif
