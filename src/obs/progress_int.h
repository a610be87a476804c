/* Internals of the progress display, shared with its unit tests only. */
#ifndef CQLSHIFT_OBS_PROGRESS_INT_H
#define CQLSHIFT_OBS_PROGRESS_INT_H

#include "util/buf.h"

/* What one terminal line shows of a table. */
typedef struct progress_line {
    const char *name;       /* any bytes: controls and invalid UTF-8 show as '?' */
    long long total;        /* expected rows, -1 if unknown (no bar, no ETA) */
    long long read, written, rejected; /* with earlier runs' rows */
    double rate;            /* rows/s of this run */
    double seconds;         /* finished: how long this run took on the table */
    int finished;
} progress_line;

/* Append l as one line ending in "\n" that takes at most width - 1 columns
 * of a terminal `width` columns wide, so it never wraps (the last column is
 * left free: some terminals wrap on it). What does not fit is dropped in
 * this order: rows read, "rejected 0", the name beyond 16 columns, the bar,
 * the name beyond 10 columns, rows written, rows rejected, the ETA (or
 * "done in"), the percentage, the rate; then the line is cut. Returns the
 * columns the line takes (without its newline). */
int progress_format_line(cs_buf *b, const progress_line *l, int width);

/* Columns of the terminal on fd: TIOCGWINSZ, else $COLUMNS, else 80; rows
 * likewise (LINES, else 24). */
void progress_term_size(int fd, int *cols, int *rows);

#endif
