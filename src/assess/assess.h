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

#endif
