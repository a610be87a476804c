/* Progress display, reject file and the run report.
 *
 * progress: per-table counters updated by workers (atomics, lock-free) and a
 * display thread: on a terminal, one line per table redrawn in place (bar,
 * rows, rows/s, ETA), each cut to the terminal's width so that none wraps;
 * otherwise a plain line per table every `interval` seconds; nothing with
 * quiet. Rates count only the rows of this run: rows that earlier runs of a
 * resumed job settled are added with progress_table_resumed, which keeps
 * them as the table's baseline.
 *
 * rejects: a JSONL file, one object per rejected row:
 *   {"table": ..., "position": ..., "reason": ..., "row": raw text or [values]}
 * written under a mutex, flushed per row (rows are rare and must survive a crash).
 *
 * report: the final summary as JSON (per table: read, written, rejected,
 * read_this_run, write_requests, server_warnings and the first one, seconds,
 * rows_per_s of this run, and "ok": read == written + rejected).
 */
#ifndef CQLSHIFT_OBS_PROGRESS_H
#define CQLSHIFT_OBS_PROGRESS_H

#include <stdatomic.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

typedef struct table_progress {
    char name[256];
    int64_t total;            /* expected rows, -1 if unknown */
    atomic_llong read;
    atomic_llong written;
    atomic_llong rejected;
    atomic_llong filtered;    /* skipped by a mapping's row filter */
    atomic_llong requests;    /* write requests sent (a batch of one partition counts once) */
    atomic_llong warned;      /* write requests whose answer carried a server warning */
    atomic_int warning_state; /* 0 none, 1 being copied, 2 first_warning is set */
    char first_warning[512];  /* the first such warning (cut to fit) */
    /* Set by progress_new, for the calls below. The table's start and
     * finish times and its baseline live in the progress object, under the
     * lock the display thread takes: set them only through these calls. */
    struct progress *owner;
    int index;
    atomic_llong source_rows; /* rows the source held to be read (counted when
                               * the job was planned), -1 unknown (the
                               * default): read must equal it to be "ok" */
} table_progress;

typedef struct progress progress;

/* tty: -1 to detect from stderr, 0 plain lines, 1 terminal display. */
progress *progress_new(int ntables, int quiet, int tty, double interval_s);
table_progress *progress_table(progress *p, int i);
void progress_start(progress *p);            /* starts the display thread */
/* The table's first range begins (this run): its clock starts. Later calls
 * until it finishes change nothing. Thread-safe; not for the per-row path. */
void progress_table_started(table_progress *t);
/* Every row of the table is done. Thread-safe. */
void progress_table_finished(table_progress *t);
/* Count rows that earlier runs of a resumed job settled: added to the
 * table's counts and to its baseline, so rows/s, ETA and the summary's rate
 * count only the rows of this run. Thread-safe (takes the display's lock;
 * call once per range, not per row). */
void progress_table_resumed(table_progress *t, long long read, long long written,
                            long long rejected, long long filtered);
/* Count one write request of table t whose answer carried a server warning
 * (e.g. Cassandra's batch size warning); the first text is kept for the
 * summary and the report. Thread-safe, lock-free. */
void progress_table_warning(table_progress *t, const char *warning);
/* Stop the display thread and print the final summary table on stderr:
 * table, read, written, rejected, seconds, rows/s (rows read by this run
 * over its seconds), and a check mark or "MISMATCH" for read = written +
 * rejected; a note when earlier runs of the job did some of the rows; then,
 * per table whose writes
 * drew server warnings, a note with their count and the first text. Returns
 * 0 if every table reconciles, -1 otherwise. */
int progress_finish(progress *p);
/* Add a member to the report (a new reference is taken; NULL: nothing):
 * e.g. "snapshot" (where the source's snapshot stands in its change
 * stream) or "source_notes" (sequence values, skipped views). */
void progress_report_set(progress *p, const char *key, json_t *value);
/* Write the report JSON to path ("-" = stdout). 0 or -1 (errno set). */
int progress_write_report(progress *p, const char *path, const char *source, const char *target);
void progress_free(progress *p);

typedef struct rejects rejects;
/* Open (append with resume, else truncate) the reject file. NULL on error. */
rejects *rejects_open(const char *path, int append);
/* One reject file per table in the folder dir: dir/rejects-<table>.jsonl,
 * created at its first row and always appended to (a run's folder is its
 * own; a resume adds to it). NULL with errno if dir is not a folder. */
rejects *rejects_open_dir(const char *dir);
/* Record one rejected row: raw text (may be NULL) or, if NULL, the JSON
 * array `values_json` (may be NULL too). Thread-safe. */
int rejects_write(rejects *r, const char *table, int64_t pos, const char *reason, const char *raw,
                  size_t raw_len, const char *values_json);
int64_t rejects_count(const rejects *r);
/* Empty table's file (dir mode), for a range that is read again from its
 * start and is the only one writing to that file. 0, or -1 with errno. */
int rejects_forget_table(rejects *r, const char *table);
/* The file, or the folder in dir mode. */
const char *rejects_path(const rejects *r);
void rejects_close(rejects *r);

double mono_seconds(void);

#endif
