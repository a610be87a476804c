/* Mapping expressions: the small SQL-like language of a plan's mappings
 * (a target column's value, a row filter, a write time, a TTL), compiled
 * once with static types and evaluated per source row.
 *
 * The language is documented for users in docs/plan-expressions.md:
 * column references, literals, ||, comparisons, and/or/not, is [not]
 * null, + - * /, and the functions lower upper trim coalesce cast
 * to_timestamp from_epoch uuid_from_bytes name_uuid json_path unix_time.
 *
 * Compiling checks names, arity and types and reports the first problem
 * as one sentence with its 0-based offset in the text (the plan reader
 * adds it to the scalar's line:column). A compiled expression is
 * immutable: worker threads may evaluate one expression concurrently,
 * each with its own arena. Evaluation allocates its results (text, bytes)
 * in the caller's arena only: nothing to free, no malloc per row (the
 * arena grows by whole blocks; reset it per batch), except for the text
 * form of a list or JSON value (`Tags || ''`), which jansson prints.
 *
 * Results are src_values that load_convert_value turns into CQL as it does
 * source values (text into an int column is parsed then, and a bad value
 * is a per-row reject there). A failure while evaluating (timestamp text
 * that does not match its format, invalid JSON, a cast that fails) is an
 * error for that row, with a sentence.
 */
#ifndef CQLSHIFT_MAP_EXPR_H
#define CQLSHIFT_MAP_EXPR_H

#include <stddef.h>

#include "cql/types.h"
#include "source/source.h"
#include "util/arena.h"

/* Static types. MT_NULL is the type of the literal null (it fits
 * anything); MT_UNSUPPORTED is a source column that cannot be copied
 * (SL_UNSUPPORTED): naming it is a compile error. */
typedef enum map_type {
    MT_NULL, MT_BOOL, MT_INT, MT_UINT, MT_DOUBLE, MT_DECIMAL,
    MT_TEXT, MT_BLOB, MT_TIMESTAMP, MT_DATE, MT_TIME, MT_DURATION, MT_UUID,
    MT_INET, MT_LIST, MT_JSON, MT_UNSUPPORTED,
} map_type;

/* The layer's one error type: a sentence, and where in the expression's
 * text (0-based byte offset) the problem is. */
typedef struct map_error {
    int offset;
    char msg[512];
} map_error;

/* What an expression can name: the source table's columns, in row order
 * (row[i] in map_expr_eval is column i). */
typedef struct map_env {
    int ncols;
    const char *const *names;
    const map_type *types;
} map_env;

typedef struct map_expr map_expr;

/* "int", "text", "timestamp"... for messages. */
const char *map_type_name(map_type t);

/* The static type of a source column: from its logical type, or for
 * SL_DECLARED from the CQL type model_map_column gives its declared type.
 * A column without a declared type (CSV and JSONL fields, SQLite columns
 * declared without one) is MT_TEXT: cast it for arithmetic. */
map_type map_type_of_column(const source_column *c);
/* The static type of a value of CQL type t (what cast(x as t) gives):
 * tinyint..bigint, counter -> int, varint and decimal -> decimal,
 * float/double -> double, ascii/text -> text, collections -> list... */
map_type map_type_of_cql(const cql_type *t);

/* Compile `text` (NUL-terminated) against env (NULL: no columns, for
 * constants such as a ttl). Returns the expression
 * (free with map_expr_free) and its static type in *type (may be NULL);
 * NULL with err (offset and sentence) if it does not compile or out of
 * memory. The expression keeps no pointer to text or env. */
map_expr *map_expr_compile(const char *text, const map_env *env, map_type *type, map_error *err);
void map_expr_free(map_expr *e);

/* The static type of a compiled expression. */
map_type map_expr_type(const map_expr *e);
/* Is it a column reference and nothing else (then the loader keeps its
 * fast path)? The column's index, or -1. */
int map_expr_column(const map_expr *e);
/* Set used[i] = 1 for every column i < ncols the expression names (the
 * others are left as they are). */
void map_expr_uses(const map_expr *e, unsigned char *used, int ncols);
/* 1 if it names no column (a constant: a ttl of 86400, a literal value),
 * else 0. Evaluate it with any row (row may be NULL). */
int map_expr_is_constant(const map_expr *e);

/* Evaluate for one row (row[i]: column i of the env it was compiled
 * with). *out is the value; its text or bytes live in arena a or in the
 * row's own memory (a column reference returns the row's value as is), so
 * it is valid while both are. No malloc per row. 0, or -1 with a sentence
 * in err (offset: the part of the expression that failed). */
int map_expr_eval(const map_expr *e, const src_value *row, arena *a, src_value *out,
                  map_error *err);

/* The truth of a value as a row filter (`where`) sees it: 1 true; 0 false
 * or null (SQL keeps only rows where the filter is true); -1 not a
 * boolean. Booleans, and as SQLite stores them, integers (0 is false) and
 * the text true/false/t/f/yes/no/y/n/1/0 in any case. */
int map_value_truth(const src_value *v);

/* A value as a write time, in µs since 1970 (what `writetime` gives must
 * be read this way: the static type promises less than it seems, SQLite
 * keeps a DATETIME column's values as text): SV_TIMESTAMP; SV_DATE (its
 * midnight UTC); SV_INT and SV_UINT as µs; text by the timestamp text
 * rules (docs/formats.md: '2009-01-02 00:00:00', ISO 8601). 0, or -1 with
 * a sentence in why (null, another kind, text that is not a timestamp).
 * Allocates nothing. */
int map_value_timestamp_us(const src_value *v, int64_t *us, char *why, size_t n);
/* A value as a 64-bit integer (a `ttl`): SV_INT, SV_UINT up to INT64_MAX,
 * a double or decimal without a fraction, or text of one (SQLite may keep
 * an INTEGER column's value as text or real). 0, or -1 with a sentence in
 * why (null included). Allocates nothing. */
int map_value_int64(const src_value *v, int64_t *out, char *why, size_t n);

/* Can a value of static type t go into a column of CQL type ct without an
 * explicit cast? 1 yes; 0 no, with a sentence (no trailing period) in why
 * (n bytes, may be NULL) saying what to write instead. "Yes" means the
 * loader converts it without silent loss: text is parsed per row (a bad
 * value is a reject), integers are range-checked, and values a double or
 * float rounds are counted in a note. */
int map_type_fits(map_type t, const cql_type *ct, char *why, size_t n);

#endif
