/* Source connectors: one interface (a table of function pointers) for
 * SQLite, CSV and JSONL files, PostgreSQL and MySQL/MariaDB.
 *
 * A source describes its tables, splits each table into ranges that can be
 * read independently (in parallel, and resumed), and reads a range as row
 * batches. A batch's rows and values live in the batch's arena and stay
 * valid until the next read into the same batch.
 *
 * Positions: every row has a position in its source (a SQLite rowid, a CSV
 * or JSONL line number, a row ordinal within its range) for error messages
 * and reject files, and every batch ends at a resume point: opaque bytes
 * (a src_pos: the last rowid, the byte offset after the batch's last row,
 * the encoded primary key of the last row) from which open_range can
 * continue after a crash, reading only rows after that point. Range bounds
 * are opaque bytes too, so a composite key fits.
 *
 * Database sources (PostgreSQL, MySQL) read every range from one
 * consistent snapshot: snapshot_begin takes it in a coordinator and
 * attaches as many reader connections as there will be workers; split and
 * count then see that snapshot, and open_range hands a free reader to the
 * calling thread.
 */
#ifndef CQLSHIFT_SOURCE_SOURCE_H
#define CQLSHIFT_SOURCE_SOURCE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/pos.h"

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
 * are not NUL-terminated (n gives the length). Database sources give typed
 * values, so nothing goes through text that was not text at the source:
 *   SV_BOOL       u.i 0 or 1
 *   SV_INT        u.i
 *   SV_UINT       u.u (an unsigned 64-bit integer, may exceed INT64_MAX)
 *   SV_DOUBLE     u.d (a float column's value too, widened exactly)
 *   SV_DECIMAL    u.s: exact decimal text, [-]digits[.digits] (no exponent),
 *                 or "NaN", "Infinity", "-Infinity"
 *   SV_TIMESTAMP  u.i microseconds since 1970-01-01 00:00 UTC
 *   SV_DATE       u.i days since 1970-01-01 (negative before)
 *   SV_TIME       u.i nanoseconds since midnight (a MySQL TIME may be
 *                 negative or beyond 24 h: the converter refuses those for
 *                 a time column)
 *   SV_DURATION   u.dur months, days, nanoseconds (PostgreSQL interval)
 *   SV_UUID       u.s 16 bytes
 *   SV_INET       u.s 4 or 16 bytes
 *   SV_LIST       u.list elements (an array; an element may be a list: a
 *                 multi-dimensional array), in the batch's arena
 *   SV_TEXT       u.s UTF-8 text (JSON documents, enum labels, and values
 *                 a connector gives in their source text form too)
 *   SV_BLOB       u.s bytes
 *   SV_JSON       u.j a parsed JSON value (JSONL files)
 * A value the connector could decode but cannot represent (a PostgreSQL
 * date of infinity for a date column, a MySQL zero date) is SV_BAD with
 * u.s the reason: the row is rejected naming the column and the reason. */
typedef enum src_kind {
    SV_NULL, SV_INT, SV_DOUBLE, SV_TEXT, SV_BLOB, SV_JSON,
    SV_BOOL, SV_UINT, SV_DECIMAL, SV_TIMESTAMP, SV_DATE, SV_TIME, SV_DURATION,
    SV_UUID, SV_INET, SV_LIST, SV_BAD,
} src_kind;

typedef struct src_value src_value;
struct src_value {
    src_kind kind;
    union {
        int64_t i;
        uint64_t u;
        double d;
        struct {
            const char *p;
            size_t n;
        } s;                /* SV_TEXT, SV_BLOB, SV_DECIMAL, SV_UUID, SV_INET, SV_BAD */
        const json_t *j;    /* SV_JSON (a reference owned by the batch) */
        struct {
            int32_t months, days;
            int64_t nanos;
        } dur;              /* SV_DURATION */
        struct {
            const src_value *v;
            int n;
        } list;             /* SV_LIST */
    } u;
};

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
    int skipped;            /* a line the options leave out (a comment, --skip-rows): no
                             * values; counted as read and filtered, never written */
} src_row;

typedef struct row_batch {
    arena mem;              /* rows, values, copied text */
    src_row *rows;
    int n;
    int cap;
    src_pos resume;         /* resume point after the last row of this batch
                             * (kept across clears; freed by release) */
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
/* v = a value of `kind` (SV_TEXT, SV_BLOB, SV_DECIMAL...) holding a copy of
 * the n bytes at p in arena a (no allocation for n = 0). 0, or -1 out of
 * memory. */
int src_value_set_bytes(src_value *v, src_kind kind, arena *a, const void *p, size_t n);
/* v = SV_BAD with the formatted reason (at most 299 bytes) in arena a. 0;
 * -1 out of memory (v then holds a fixed reason without detail). */
int src_value_set_bad(src_value *v, arena *a, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Keep a JSON reference alive until the batch is cleared. */
int row_batch_keep_json(row_batch *b, json_t *j);

/* Source schema. A database column carries a neutral logical type that
 * the model maps to CQL (model.h); SQLite and files leave it at
 * SL_DECLARED and the model reads decl_type by SQLite's rules. */
typedef enum src_ltype {
    SL_DECLARED = 0,        /* no logical type: see decl_type */
    SL_BOOL,
    SL_INT8, SL_INT16, SL_INT32, SL_INT64,  /* signed, or unsigned that fits
                                             * the next wider signed type */
    SL_UINT64,              /* BIGINT UNSIGNED: may exceed INT64_MAX */
    SL_DECIMAL,             /* precision/scale (precision 0: unconstrained) */
    SL_FLOAT32, SL_FLOAT64,
    SL_TEXT,                /* length: declared maximum in characters, 0 none */
    SL_BYTES,
    SL_UUID,
    SL_DATE,
    SL_TIME,                /* precision: fractional digits */
    SL_TIMESTAMP,           /* precision: fractional digits; with_tz */
    SL_INTERVAL,
    SL_INET,                /* an address (PostgreSQL inet without a prefix) */
    SL_JSON,
    SL_ENUM,                /* labels */
    SL_SET,                 /* MySQL SET: labels; values as a list of text */
    SL_ARRAY,               /* elem (and elem's precision...), dims */
    SL_TEXT_FORM,           /* no CQL counterpart: copied as the source's text
                             * form of the value (decl_type says what it was) */
    SL_UNSUPPORTED,         /* cannot be copied: the model refuses the column */
} src_ltype;

typedef struct source_column {
    char *name;
    char *decl_type;        /* as declared ("NVARCHAR(40)", "numeric(10,2)"), may be "" */
    int notnull;
    int pk_pos;             /* 1-based position in the primary key, 0 if not in it */
    src_ltype ltype;
    src_ltype elem;         /* SL_ARRAY: the element's type */
    int precision, scale;   /* SL_DECIMAL, SL_TIME, SL_TIMESTAMP (-1: unknown) */
    int length;             /* SL_TEXT, SL_BYTES: declared maximum, 0 none */
    int dims;               /* SL_ARRAY: dimensions (1 for int[], 2 for int[][]) */
    int with_tz;            /* SL_TIMESTAMP, SL_TIME: with time zone */
    int nlabels;            /* SL_ENUM, SL_SET */
    char **labels;
    char *note;             /* the connector's word on this column for the
                             * model's notes ("generated column", "timestamp
                             * with zero dates"), or NULL */
} source_column;

/* A foreign key of a table (for assess and plan: query tables). */
typedef struct source_fkey {
    char *name;             /* the constraint's name, or "" */
    int ncols;
    int *cols;              /* this table's columns, indexes into source_table.cols */
    char *ref_table;        /* the referenced table, as source_table.name would name it */
    int ref_index;          /* its index in the schema, or -1 (not read: another schema) */
    char **ref_cols;        /* the referenced columns' names, ncols of them */
} source_fkey;

/* A secondary index (not the primary key's own). */
typedef struct source_index {
    char *name;
    int unique;
    int ncols;
    int *cols;              /* indexes into source_table.cols; -1 for an expression part */
    char *note;             /* "partial index (WHERE ...)", "expression index", "fulltext"...
                             * or NULL */
} source_index;

typedef struct source_table {
    char *name;             /* as the user names it in --tables: SQLite's
                             * name; "schema.table" for databases, unless
                             * the source has one schema (then "table") */
    int ncols;
    source_column *cols;
    int npk;                /* columns in the primary key (0: none) */
    int uses_rowid;         /* no primary key: the connector adds column "rowid" first */
    int64_t row_estimate;   /* -1 if unknown */
    char *schema;           /* the database schema (PostgreSQL) or database
                             * (MySQL) it lives in, or NULL */
    char *sql_name;         /* SQL sources: the table as a query names it, quoted and
                             * qualified ("public"."Album", `db`.`t`, "Album"); NULL
                             * for files */
    int64_t bytes_estimate; /* on-disk size of its data, -1 if unknown */
    int nfkeys;
    source_fkey *fkeys;
    int nindexes;
    source_index *indexes;
    char *query;            /* a query table (source_ops.add_query): the SELECT it
                             * reads; NULL for a table. A query has no key: it is one
                             * range, its rows numbered 1.. in the order the query
                             * gives them, and a resume reads it again from its start
                             * (the loader resets the range's counts) */
} source_table;

typedef struct source_schema {
    int ntables;
    source_table *tables;
} source_schema;

void source_schema_free(source_schema *s);

/* A piece of a table that one worker reads. lo/hi are connector-specific
 * opaque bytes (rowid bounds, file index and size, encoded key values);
 * `label` names it in messages. */
typedef struct source_range {
    int table;              /* index into the schema */
    int id;                 /* 0..n-1 within the table, stable across runs */
    src_pos lo, hi;
    char label[256];
} source_range;

/* Free the bounds of n ranges and the array. */
void source_ranges_free(source_range *r, int n);

typedef struct source source;
typedef struct source_reader source_reader;

/* What one column holds, for choosing how to map it (source_ops.profile). */
typedef struct source_column_profile {
    int64_t nint, nreal, ntext, nblob;  /* non-null values of each kind */
    int64_t int_min, int_max;           /* of the integers (valid when nint > 0) */
} source_column_profile;

/* One row of a query's result (source_ops.query): ncols values as text in
 * the source's text form (NULL for SQL NULL; lens[k] their lengths, the
 * bytes are NUL-terminated too), valid during the call. Return 0 to go on;
 * anything else stops the query, which then returns that value. */
typedef int (*source_row_fn)(void *ctx, int ncols, const char *const *vals, const size_t *lens);

typedef struct source_ops {
    const char *name;       /* "sqlite", "csv", "jsonl", "postgresql", "mysql": for the SQL
                             * sources also the dialect that query takes */
    /* Read the schema (once; the source keeps it; valid until close). */
    const source_schema *(*describe)(source *s, source_error *err);
    /* Split table t into at most max_ranges ranges (at least one). The
     * caller frees *out with source_ranges_free. */
    int (*split)(source *s, int t, int max_ranges, source_range **out, int *n, source_error *err);
    /* Open a range for reading, continuing after resume point `after`
     * (empty: from the start). Thread-safe: workers call it concurrently. */
    source_reader *(*open_range)(source *s, const source_range *r, const src_pos *after,
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
    /* Optional: what count_range gives for each of the n ranges r[0..n-1]
     * of one table (as split returned them), into counts[], in one pass
     * over the table where the source can; 0, or -1 with err. */
    int (*count_ranges)(source *s, const source_range *r, int n, int64_t *counts,
                        source_error *err);
    int64_t (*count_beyond)(source *s, const source_range *last, source_error *err);
    /* Optional: let the counts see changes made since the source was
     * opened (a database source's own read transaction). */
    int (*refresh)(source *s, source_error *err);
    /* What identifies the input, for the job fingerprint: a JSON array with
     * one object per input, {"path", "size", "mtime_ns"} for files (a change
     * means the resume points no longer fit), {"path"} for a database. NULL
     * with err on failure; the caller owns the reference. */
    json_t *(*fingerprint)(source *s, source_error *err);
    /* Optional (databases): take one consistent snapshot and attach
     * `readers` reader connections to it (one per worker), before split
     * and count; every open_range then reads in that snapshot. */
    int (*snapshot_begin)(source *s, int readers, source_error *err);
    /* Optional: where the snapshot stands in the source's change stream,
     * for change capture to start from: {"lsn": "0/16B3748"} (PostgreSQL),
     * {"binlog_file": "...", "binlog_pos": N, "gtid_set": "..."} (MySQL).
     * NULL if unknown; the caller owns the reference. */
    json_t *(*snapshot_position)(source *s, source_error *err);
    /* Optional: abort the queries in flight (from any thread, e.g. on a
     * signal), so that blocked reads return -1 soon. */
    void (*cancel)(source *s);
    /* Optional: notes for the summary and report (sequence and
     * AUTO_INCREMENT values, views skipped...), one per line, or NULL; the
     * caller owns the reference (a JSON array of strings). */
    json_t *(*notes)(source *s);
    /* Optional (PostgreSQL): the names --tables gives, comma-separated,
     * each "name" or "schema.name", matched without regard to case. Views
     * and materialized views among them are described as tables, keyed by
     * a synthetic rowid, instead of being skipped with a note. Call before
     * describe. 0, or -1 with err (out of memory). */
    int (*want_views)(source *s, const char *names, source_error *err);
    /* Optional (SQL sources): append the result of one read-only SELECT
     * (or WITH ... SELECT) in the source's dialect as a table named `name`
     * (source_table.query holds the SQL), its columns described with the
     * logical types the catalog gives table columns, without running it
     * (PostgreSQL: a prepared statement's description; MySQL: the result
     * metadata of the statement run with LIMIT 0; SQLite: declared types,
     * else the type of the first non-null value). Call before
     * snapshot_begin; the query is then read in the same snapshot as the
     * tables. Returns the new table's index (call describe again: the
     * schema may have moved), or -1 with err: SRC_E_USAGE when the text is
     * not one read-only SELECT, SRC_E_SCHEMA with the server's message
     * when the query is wrong (syntax, unknown table or column), and *at
     * the 0-based byte of sql the error is at when the server says (else
     * -1). */
    int (*add_query)(source *s, const char *sql, const char *name, int *at, source_error *err);
    /* Optional (SQL sources: NULL for files): run one read-only SELECT in
     * the source's own dialect (ops->name) and call row for each result
     * row, streamed (not held in memory). PostgreSQL runs it on the
     * coordinator connection, in its own READ ONLY transaction, or inside
     * the snapshot (under a savepoint) once snapshot_begin has run: an
     * error (a statement_timeout, a bad query) leaves the source usable;
     * sql may start with SET LOCAL statements (statement_timeout, work_mem),
     * which end with it.
     * 0; -1 with err (SRC_E_READ naming the statement); or what row
     * returned when it stopped the query. Not for the hot path. */
    int (*query)(source *s, const char *sql, source_row_fn row, void *ctx, source_error *err);
} source_ops;

/* The text of a query for add_query: sql without trailing blanks and
 * semicolons, in a malloc'd copy (same offsets as sql), if it is one
 * statement that starts with SELECT or WITH (after blanks, comments and
 * opening parentheses); `mysql` also skips `...` quotes. NULL with err
 * (SRC_E_USAGE, a sentence) and *at the offending byte otherwise. */
char *source_query_text(const char *sql, int mysql, int *at, source_error *err);

struct source {
    const source_ops *ops;
};

/* name as an identifier of the SQL dialect of source `s` (ops->name:
 * backquotes for "mysql", double quotes otherwise, the quote character
 * doubled inside), NUL-terminated in out. 0, or -1 if it does not fit in n. */
int source_quote_ident(const source *s, const char *name, char *out, size_t n);

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
    const char *encoding;   /* the files' character set (NULL: UTF-8, or UTF-16 by its
                             * byte order mark); any name iconv knows */
    const char *const *null_markers; /* CSV: several null markers (then null_marker is
                             * ignored), nnull of them (at most FILE_MAX_NULLS) */
    int nnull;
    long long skip_rows;    /* data rows skipped at the start of each file (after the header) */
    long long max_rows;     /* stop after this many data rows of each file (0: all) */
    char comment;           /* lines starting with it are skipped and counted (0: none) */
    const char *const *late_columns; /* JSONL without columns: names a key may have that the
                             * sample of the first lines lacks (the target table's columns);
                             * added to the columns unless a sampled key has the name in any
                             * case */
    int nlate;
} file_options;

#define FILE_MAX_NULLS 16

void file_options_init(file_options *o);
/* The options that change which rows or values are read, as text for a
 * job key (" encoding=latin1 null=[,N/A] skip=2"...), "" for the
 * defaults, so that a resume with other options is another job. */
void file_options_key(const file_options *o, char *out, size_t n);

source *source_open(const char *uri, const char *table_name, const file_options *opts,
                    source_error *err);

/* 1 if uri names a database server (postgresql://, postgres://, mysql://,
 * mariadb://). */
int source_uri_is_db(const char *uri);
/* uri with any password replaced by "***" (for messages, logs, reports,
 * job keys), NUL-terminated in out (truncated to n). */
void source_uri_redact(const char *uri, char *out, size_t n);
/* Open a database source with its scope: the schemas (PostgreSQL) or
 * databases (MySQL) to read, comma-separated, or NULL for the default (all
 * user schemas; the URI's database). */
source *source_open_db(const char *uri, const char *scope, source_error *err);

/* Constructors used by source_open. A database URI names the server and
 * database in libpq's or MySQL's form; passwords come from the
 * environment or option files, never from the URI in a log (the URI is
 * redacted in every message). `schemas` (PostgreSQL) or `databases` (MySQL)
 * is a comma-separated list or NULL for the default. */
source *source_sqlite_open(const char *path, source_error *err);
source *source_pg_open(const char *uri, const char *schemas, source_error *err);
source *source_mysql_open(const char *uri, const char *databases, source_error *err);
source *source_files_open(const char *kind, const char *path, const char *table_name,
                          const file_options *opts, source_error *err);

#endif
