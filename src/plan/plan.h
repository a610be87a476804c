/* The plan file: an editable YAML document (docs/plan.md, docs/plan.schema.json)
 * holding the Cassandra model (keyspace, tables, keys, options, indexes) and
 * the mappings that feed its tables from source tables.
 *
 * plan_parse_* reads and checks the file on its own (no source opened):
 * every element keeps its line and column, and anything wrong is refused
 * with "FILE:LINE:COL: sentence saying what to change". plan_check_source
 * then checks the mappings against the source's tables, plan_to_model gives
 * the existing model (model.h) of the enabled tables for the DDL code, and
 * plan_write writes the automatic plan of a source.
 *
 * Expressions (mapping columns, where, writetime, ttl) stay text here; the
 * caller compiles them (src/map) and reports their errors with plan_pos_at
 * and plan_fail_at.
 */
#ifndef CQLSHIFT_PLAN_PLAN_H
#define CQLSHIFT_PLAN_PLAN_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "cql/types.h"
#include "model/model.h"
#include "source/source.h"

/* The plan's one error type: where, and the whole message
 * "FILE:LINE:COL: sentence" (line and col 1-based; 0 when the error has no
 * place, e.g. the file cannot be read: then "FILE: sentence"). */
typedef struct plan_error {
    int line, col;
    char msg[1024];
} plan_error;

/* A YAML scalar with its place: line and col (1-based) of its first
 * character (the opening quote of a quoted scalar). text is NULL for an
 * element that is absent. */
typedef enum plan_style {
    PLAN_PLAIN = 0,
    PLAN_SINGLE_QUOTED,
    PLAN_DOUBLE_QUOTED,
    PLAN_LITERAL,           /* | block */
    PLAN_FOLDED,            /* > block */
} plan_style;

typedef struct plan_scalar {
    char *text;
    int line, col;
    plan_style style;
    const char *raw;        /* the scalar in the plan's copy of the file (for plan_pos_at) */
} plan_scalar;

typedef struct plan_column {
    plan_scalar name;       /* CQL name */
    plan_scalar type;       /* CQL type text */
    cql_type *ctype;        /* parsed */
} plan_column;

typedef struct plan_key {
    plan_scalar name;       /* "col" or "col desc" as written; see col */
    int col;                /* index into the table's columns */
    int desc;               /* clustering: descending */
} plan_key;

typedef struct plan_option {
    plan_scalar name;
    char *cql;              /* the value as CQL ("86400", "'text'", "{'class': 'X'}") */
} plan_option;

typedef struct plan_index {
    plan_scalar name;       /* the index's CQL name */
    plan_scalar column;     /* the indexed column */
    int col;                /* index into the table's columns */
    plan_scalar using;      /* "sai" (the only kind) */
} plan_index;

typedef struct plan_table {
    plan_scalar name;
    int enabled;            /* 0: not created, mappings into it skipped */
    int ncols;
    plan_column *cols;      /* in file order */
    int npk;
    plan_key *pk;           /* partition key, in order */
    int nck;
    plan_key *ck;           /* clustering columns, in order */
    int nopts;
    plan_option *opts;
    int nindexes;
    plan_index *indexes;
} plan_table;

typedef struct plan_map_column {
    plan_scalar target;     /* a column of the target table */
    int col;                /* its index in the target table's columns */
    plan_scalar expr;       /* expression over the source row */
} plan_map_column;

typedef struct plan_mapping {
    int line, col;          /* the list item */
    plan_scalar from;       /* the source table, as --tables names it (or text NULL) */
    plan_scalar query;      /* or an SQL query (text NULL when from is given) */
    plan_scalar to;
    int table;              /* index into plan.tables */
    plan_scalar where;      /* optional expressions (text NULL when absent) */
    plan_scalar writetime;
    plan_scalar ttl;
    int ncols;
    plan_map_column *cols;
    int source_table;       /* index in the source schema (plan_check_source; for a query,
                             * the table source_ops.add_query added), else -1 */
} plan_mapping;

typedef struct plan {
    char *file;             /* the name messages give */
    char *text;             /* the file's text (scalars' raw point into it) */
    int version;
    plan_scalar source;     /* the source URI (optional, text NULL if absent) */
    plan_scalar keyspace;
    char *replication;      /* JSON as model.replication; NULL: SimpleStrategy 1 */
    int durable_writes;     /* 1 unless the file says false */
    int ntables;
    plan_table *tables;
    int nmappings;
    plan_mapping *mappings;
} plan;

/* Fill err with "FILE:LINE:COL: sentence" (or "FILE: sentence" when line is
 * 0); returns -1. For callers that check parts of a plan (expressions). */
int plan_fail_at(plan_error *err, const char *file, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Parse and check the plan in text[0..n) (named `file` in messages) or in
 * the file at path. On success *p holds the plan (plan_release frees it);
 * on failure -1 with err, and *p is empty. Checks everything the file alone
 * can tell (docs/plan.md, "What is checked"). */
int plan_parse_string(plan *p, const char *text, size_t n, const char *file, plan_error *err);
int plan_parse_file(plan *p, const char *path, plan_error *err);
void plan_release(plan *p);

/* The file position of byte `offset` (0-based) of scalar s's text: its
 * line and column (1-based), following quotes, escapes and block lines.
 * An offset beyond the text gives the position after its last character. */
void plan_pos_at(const plan_scalar *s, int offset, int *line, int *col);

/* Check the mappings against the source: every `from` names a table of the
 * schema (case-insensitively, as --tables does); sets each mapping's
 * source_table. -1 with err at the `from` naming the tables there are. */
int plan_check_source(plan *p, const source_schema *schema, plan_error *err);

/* The model of the plan's enabled tables, for model_*_ddl and
 * target_apply_model: columns with their types, partition key first, then
 * clustering columns (desc kept), then the others in file order; table
 * options in options_cql. source_table/source_col are set when
 * plan_check_source has run and exactly one mapping feeds the table (and
 * the expression is a bare source column), else -1. m is released by the
 * caller with model_release. */
int plan_to_model(const plan *p, const source_schema *schema_or_null, model *m, plan_error *err);

/* CREATE CUSTOM INDEX IF NOT EXISTS ... USING 'StorageAttachedIndex' for
 * index i of table t, NUL-terminated, appended to out. 0 or -1 (memory). */
int plan_index_ddl(const plan *p, int t, int i, cs_buf *out);

/* Write the commented plan of model m (made by model_from_source for
 * schema, perhaps narrowed by model_keep_tables) to out: one table and one
 * mapping per model table, a disabled query table and its mapping per
 * foreign key (but one that leads the table's own primary key: the table
 * answers it), a commented SAI index or query table per secondary index,
 * partition sizes from assess's JSON ("partitions") when given. The number
 * of query tables proposed, or -1 when writing fails (errno). */
int plan_write(FILE *out, const model *m, const source_schema *schema, const char *source_uri_redacted,
               json_t *assess_or_null);

#endif
