/* Source connectors: one interface (a table of function pointers) for
 * SQLite, CSV and JSONL files now, PostgreSQL and MySQL later.
 *
 * A source describes its tables, splits each table into ranges that can be
 * read independently (in parallel, and resumed), and reads a range as row
 * batches. A batch's rows and values live in the batch's arena and stay
 * valid until the next read into the same batch.
 *
 * Positions: every row has a position in its source (a SQLite rowid, a CSV
 * or JSONL line number) for error messages and reject files, and every batch
 * ends at a resume point: an opaque int64 (last rowid, byte offset after the
 * batch's last row) from which open_range can continue after a crash,
 * reading only rows after that point.
 */
#ifndef CQLSHIFT_SOURCE_SOURCE_H
#define CQLSHIFT_SOURCE_SOURCE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"

/* The source's one error type. */
typedef enum source_errc {
    SRC_OK = 0,
    SRC_E_USAGE,     /* bad URI or option */
    SRC_E_OPEN,      /* cannot open the file/database */
    SRC_E_SCHEMA,    /* cannot read or understand the schema */
    SRC_E_READ,      /* I/O or database error while reading */
    SRC_E_FORMAT,    /* malformed input that cannot be skipped (whole file) */
    SRC_E_NOMEM,
} source_errc;

typedef struct source_error {
    source_errc code;
    char msg[512];
} source_error;

int source_fail(source_error *err, source_errc code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* One value as the source gave it. The text of SV_TEXT and bytes of SV_BLOB
 * are not NUL-terminated (n gives the length). */
typedef enum src_kind { SV_NULL, SV_INT, SV_DOUBLE, SV_TEXT, SV_BLOB, SV_JSON } src_kind;

typedef struct src_value {
    src_kind kind;
    union {
        int64_t i;
        double d;
        struct {
            const char *p;
            size_t n;
        } s;                /* SV_TEXT, SV_BLOB */
        const json_t *j;    /* SV_JSON (a reference owned by the batch) */
    } u;
} src_value;

/* A row that could not even be split into values (bad CSV quoting, invalid
 * JSON, wrong field count): it still counts as read and goes to the reject
 * file with `problem` as the reason. */
typedef struct src_row {
    int64_t pos;            /* line number (files, 1-based) or rowid */
    int nvals;              /* = the table's column count, unless problem is set */
    src_value *vals;
    const char *raw;        /* the row's raw text for the reject file, or NULL */
    size_t raw_len;
    const char *problem;    /* NULL, or why the row is malformed */
} src_row;

typedef struct row_batch {
    arena mem;              /* rows, values, copied text */
    src_row *rows;
    int n;
    int cap;
    int64_t resume_after;   /* resume point after the last row of this batch */
    json_t **json_refs;     /* JSON values to decref when the batch is reused */
    int njson, json_cap;
} row_batch;

void row_batch_init(row_batch *b, int cap);
/* Forget the rows (arena reset, JSON references dropped). */
void row_batch_clear(row_batch *b);
void row_batch_release(row_batch *b);
/* Append a row with room for nvals values (zeroed = SV_NULL); NULL if full
 * or out of memory. */
src_row *row_batch_add(row_batch *b, int64_t pos, int nvals);
/* Keep a JSON reference alive until the batch is cleared. */
int row_batch_keep_json(row_batch *b, json_t *j);

/* Source schema. */
typedef struct source_column {
    char *name;
    char *decl_type;        /* as declared ("NVARCHAR(40)", "INTEGER"), may be "" */
    int notnull;
    int pk_pos;             /* 1-based position in the primary key, 0 if not in it */
} source_column;

typedef struct source_table {
    char *name;
    int ncols;
    source_column *cols;
    int npk;                /* columns in the primary key (0: none) */
    int uses_rowid;         /* no primary key: the connector adds column "rowid" first */
    int64_t row_estimate;   /* -1 if unknown */
} source_table;

typedef struct source_schema {
    int ntables;
    source_table *tables;
} source_schema;

void source_schema_free(source_schema *s);

/* A piece of a table that one worker reads. lo/hi are connector-specific
 * (rowid bounds, file index); `label` names it in messages. */
typedef struct source_range {
    int table;              /* index into the schema */
    int id;                 /* 0..n-1 within the table, stable across runs */
    int64_t lo, hi;
    char label[256];
} source_range;

typedef struct source source;
typedef struct source_reader source_reader;

/* What one column holds, for choosing how to map it (source_ops.profile). */
typedef struct source_column_profile {
    int64_t nint, nreal, ntext, nblob;  /* non-null values of each kind */
    int64_t int_min, int_max;           /* of the integers (valid when nint > 0) */
} source_column_profile;

typedef struct source_ops {
    const char *name;       /* "sqlite", "csv", "jsonl" */
    /* Read the schema (once; the source keeps it; valid until close). */
    const source_schema *(*describe)(source *s, source_error *err);
    /* Split table t into at most max_ranges ranges (at least one). The
     * caller frees *out with free(). */
    int (*split)(source *s, int t, int max_ranges, source_range **out, int *n, source_error *err);
    /* Open a range for reading, continuing after resume point `after`
     * (INT64_MIN: from the start). */
    source_reader *(*open_range)(source *s, const source_range *r, int64_t after,
                                 source_error *err);
    /* Fill b (cleared first) with up to max_rows rows. Returns the number
     * of rows, 0 at the end of the range, -1 on an error that stops the
     * range (a malformed row does not: it is returned with `problem`). */
    int (*read)(source_reader *rd, row_batch *b, int max_rows, source_error *err);
    void (*close_range)(source_reader *rd);
    void (*close)(source *s);
    /* Optional (NULL: the source cannot tell). Read every row of table t
     * once and fill out[k] for column cols[k], k < n. A full scan: call it
     * only for the columns whose mapping depends on their values. */
    int (*profile)(source *s, int t, const int *cols, int n, source_column_profile *out,
                   source_error *err);
    /* Optional (NULL: the source cannot count cheaply). The rows the
     * source holds now in range r, or beyond the end of `last`, the last
     * range of its table (rows added after the split); -1 with err. */
    int64_t (*count_range)(source *s, const source_range *r, source_error *err);
    int64_t (*count_beyond)(source *s, const source_range *last, source_error *err);
    /* Optional: let the counts see changes made since the source was
     * opened (a database source's own read transaction). */
    int (*refresh)(source *s, source_error *err);
    /* What identifies the input, for the job fingerprint: a JSON array with
     * one object per input, {"path", "size", "mtime_ns"} for files (a change
     * means the resume points no longer fit), {"path"} for a database. NULL
     * with err on failure; the caller owns the reference. */
    json_t *(*fingerprint)(source *s, source_error *err);
} source_ops;

struct source {
    const source_ops *ops;
};

/* Open a source from its URI: "sqlite:PATH", "csv:PATH", "jsonl:PATH"
 * (PATH a file, a directory, a glob, or - for stdin), or a bare path whose
 * extension says (.db/.sqlite/.sqlite3, .csv, .jsonl/.ndjson). For files,
 * `table_name` names the one table they form and `opts` the format options.
 * NULL with err on failure, naming the path and the cause. */
typedef struct file_options {
    char delimiter;         /* default ',' */
    char quote;             /* default '"' */
    char escape;            /* default: same as quote (doubled quotes) */
    const char *null_marker;/* a field equal to this is NULL; default "" (empty = NULL
                             * for non-text columns; see docs/formats.md) */
    int header;             /* 1 (default): the first line names the columns */
    const char *const *columns; /* without a header: the column names, in order */
    int ncolumns;
    size_t max_field;       /* longest accepted field/line, default 16 MiB */
} file_options;

void file_options_init(file_options *o);

source *source_open(const char *uri, const char *table_name, const file_options *opts,
                    source_error *err);

/* Constructors used by source_open. */
source *source_sqlite_open(const char *path, source_error *err);
source *source_files_open(const char *kind, const char *path, const char *table_name,
                          const file_options *opts, source_error *err);

#endif
