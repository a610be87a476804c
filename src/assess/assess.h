/* cqlshift assess: what a source holds and what moving it to Cassandra's
 * automatic model would meet, as one JSON document (docs/assess.md has its
 * fields and every rule):
 * - per table: rows (an exact count(*) up to ASSESS_COUNT_CAP rows, else
 *   the source's estimate), bytes, primary key, foreign keys, indexes;
 * - per column: source type, proposed CQL type (the automatic model, refined
 *   from the values for SQLite and files), a flag (lossy, ambiguous,
 *   unsupported) with counts from the data where one query can tell;
 * - risks: no primary key, keys that collide or change after conversion,
 *   large and hot partitions for every proposed partition key (the model's
 *   and each foreign key's query table), each with a count and an example.
 * SQL sources are read with source_ops.query (one aggregate statement per
 * check, bounded by the sample size); files with their profile operation
 * and one read of the rows.
 */
#ifndef CQLSHIFT_ASSESS_ASSESS_H
#define CQLSHIFT_ASSESS_ASSESS_H

#include <jansson.h>
#include <stdint.h>

#include "cql/types.h"
#include "source/source.h"

/* Tables with at most this many estimated rows get an exact count(*). */
#define ASSESS_COUNT_CAP 10000000LL
/* Default rows read by a scan before it samples (--sample). */
#define ASSESS_SAMPLE_DEFAULT 1000000LL
/* Warnings: a partition of at least this many rows or bytes is large; one
 * that holds more than HOT_SHARE of the table's rows, and at least HOT_ROWS
 * rows, is hot. */
#define ASSESS_LARGE_ROWS 100000LL
#define ASSESS_LARGE_BYTES 100000000LL
#define ASSESS_HOT_SHARE 0.10
#define ASSESS_HOT_ROWS 1000LL

typedef struct assess_options {
    const char *tables;         /* comma-separated source table names, or NULL: all */
    int64_t sample;             /* rows a scan reads before it samples; <= 0: default */
    const char *source_label;   /* the source as the document names it (redacted URI) */
} assess_options;

/* The assess layer's one error type. code: 1 the source failed (exit 1),
 * 2 usage (an unknown table in --tables: exit 2). */
typedef struct assess_error {
    int code;
    char msg[1024];
} assess_error;

/* Assess the tables of src (describe is called here). Returns the JSON
 * document (the caller owns the reference) or NULL with err. Risks are
 * not errors: they are in the document. */
json_t *assess_run(source *src, const assess_options *o, assess_error *err);

/* Columns a file's key may be proposed from: at most this many are checked
 * at once, each over at most `cap` rows. */
#define ASSESS_KEY_CANDIDATES 8

/* What assess_file_key found. */
typedef struct assess_key_pick {
    int col;            /* the column, or -1: none qualifies */
    int64_t rows;       /* rows checked (malformed and skipped lines left out) */
    int complete;       /* 1: every row of the table was checked; 0: only the first `cap` */
} assess_key_pick;

/* For a table without a primary key (a CSV or JSONL file), find a column
 * that can key it: the first of the candidate columns cols[0..ncols)
 * (the caller's order of preference; at most ASSESS_KEY_CANDIDATES are
 * checked), whose values converted to CQL type types[k] (as the loader
 * converts them) are all present, not empty and distinct, over the
 * table's first `cap` rows (> 0). Distinctness is tested on 64-bit hashes
 * of the converted bytes, so a "distinct" answer is never wrong; two
 * distinct values with one hash (odds about n^2 / 2^65) only drop the
 * column. Memory is about 16 bytes a row a live candidate. One read of
 * the table. 0, or -1 with err (the source failed, out of memory). */
int assess_file_key(source *src, int t, const int *cols, const cql_type *const *types, int ncols,
                    int64_t cap,
                    assess_key_pick *out, assess_error *err);

#endif
