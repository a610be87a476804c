/* The Cassandra side of a migration: target tables derived from a source
 * schema (type mapping and key rules), the CQL DDL that creates them, and
 * the check of an existing table against what we would create.
 *
 * Rules of the automatic model (documented in docs/model.md):
 * - one target table per source table, its name folded to lower-case
 *   letters, digits and '_' (at most 48); column names folded the same way
 *   (no length limit); two names that fold alike are refused;
 * - the source primary key becomes the Cassandra primary key: the first key
 *   column is the partition key, the others clustering columns in key order
 *   (ascending); a table without a primary key gets a first column
 *   "rowid bigint" as partition key (the connector supplies it);
 * - column types from the source column's logical type, or its declared
 *   type for SQLite and files (model_map_column);
 *   model_refine_from_values then looks at the values where the declared
 *   type does not say enough.
 */
#ifndef CQLSHIFT_MODEL_MODEL_H
#define CQLSHIFT_MODEL_MODEL_H

#include <stddef.h>

#include "cql/cql.h"
#include "source/source.h"

typedef struct model_error {
    int code;               /* 0 ok, 1 usage/model, 2 conflict with an existing table, 3 server
                             * or source (reading the values) */
    char msg[1024];
} model_error;

/* Fill err (if not NULL) with code and the formatted sentence; returns -1. */
int model_fail(model_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

typedef struct target_column {
    char *name;             /* CQL name, unquoted */
    cql_type *type;
    int source_col;         /* index in the source table's columns (rowid included) */
    int kind;               /* 0 regular, 1 partition key, 2 clustering */
    int key_pos;            /* position within the partition key or the clustering columns */
    char *note;             /* a lossy or notable mapping, e.g. "NUMERIC(10,2) -> decimal", or NULL */
    int epoch_unit;         /* timestamp column: the unit of its integers (load_epoch_unit) */
    int desc;               /* clustering column in descending order (plans; else 0: ASC) */
} target_column;

typedef struct target_table {
    char *keyspace;
    char *name;
    int ncols;
    target_column *cols;    /* partition key first, then clustering, then the rest */
    int source_table;       /* index in the source schema */
    char *note;             /* e.g. "no primary key: keyed by rowid" */
    char *options_cql;      /* table options for the DDL's WITH clause ("default_time_to_live
                             * = 86400 AND comment = 'x'", from a plan), or NULL */
} target_table;

typedef struct model {
    char *keyspace;
    int no_durable_writes;  /* a plan's durable_writes: false */
    char *replication;      /* JSON for model_keyspace_ddl (model_parse_replication);
                             * NULL: SimpleStrategy, replication factor 1 */
    int ntables;
    target_table *tables;
} model;

/* The CQL type for a SQLite declared type, by SQLite's affinity rules plus
 * common names: INT* -> bigint, BOOL* -> boolean, DATETIME/TIMESTAMP ->
 * timestamp, DATE -> date, NUMERIC/DECIMAL -> decimal, REAL/FLOA/DOUB ->
 * double, CHAR/CLOB/TEXT -> text, BLOB or no type -> blob... The returned
 * type is newly allocated; *note is set (static string) when the mapping
 * can lose information or needs checking, else NULL. */
cql_type *model_map_sqlite_type(const char *decl_type, const char **note);

/* The CQL type of a source column: by its logical type (database
 * sources: SL_INT32 -> int, SL_TIMESTAMP -> timestamp, SL_ARRAY -> list,
 * SL_TEXT_FORM -> text... docs/model.md has the table), or by its declared
 * type with model_map_sqlite_type (SL_DECLARED). NULL for SL_UNSUPPORTED
 * (or out of memory). *why as for model_map_sqlite_type. */
cql_type *model_map_column(const source_column *sc, const char **why);

/* Build the automatic model of every table of `schema` into keyspace `ks`. */
int model_from_source(model *m, const source_schema *schema, const char *ks, model_error *err);
/* The same for the tables t with only[t] != 0 (only has schema->ntables
 * entries); the others are not looked at (nor their names compared).
 * Names that fold alike are named apart (a model for its types, as a plan
 * reads them: model_from_source_tables with apart). */
int model_from_source_only(model *m, const source_schema *schema, const char *ks,
                           const unsigned char *only, model_error *err);
/* The model of the source tables named in the comma-separated `list`
 * (each matched exactly, else case-insensitively; NULL: every table), the
 * others not looked
 * at: a name that is not a source table is refused (code 2) with the list
 * of the tables there are. apart: tables or columns whose names fold alike
 * are named apart (orders_2, unit_price_2, with a note), as a plan
 * proposes them; else such a model is refused (code 1). */
int model_from_source_tables(model *m, const source_schema *schema, const char *ks,
                             const char *list, int apart, model_error *err);
void model_release(model *m);
/* Keep only the tables whose source names are in the comma-separated
 * `list` (matched case-insensitively, as SQLite does). A name that is not a
 * source table is refused (code 2) with the list of the tables there are,
 * before anything is created. */
int model_keep_tables(model *m, const source_schema *schema, const char *list, model_error *err);

/* The name proposed for the query table of foreign key k of table t:
 * "<table>_by_<referenced table>" folded as table names are (track_by_album),
 * or "<table>_by_<key columns>" when t has two foreign keys to one table;
 * cut to 48 characters. Newly allocated; NULL out of memory. */
char *model_query_table_name(const source_schema *schema, int t, int k);
/* 1 if foreign key k of st is the leading part of its primary key, in key
 * order (PlaylistTrack's PlaylistId): the table itself answers "the rows of
 * parent X" by its partition key (and clustering prefix), so no query
 * table is proposed for it. */
int model_fkey_is_key_prefix(const source_table *st, int k);

/* Parse a --replication value: "SimpleStrategy:N" or "DC:N[,DC:N...]"
 * (NetworkTopologyStrategy), N in 1..99, data center names of letters,
 * digits, '_', '-' and '.', each once. On success *json (caller frees) is
 * the map for model_keyspace_ddl; else -1 with code 1 and a sentence. */
int model_parse_replication(const char *spec, char **json, model_error *err);

/* Look at the values of the columns whose declared type does not say
 * enough, one scan per table that has any (sources without a profile
 * operation are left as they are); sets the column's type, epoch unit and
 * note:
 * - no declared type: all integers -> bigint; integers and reals -> double
 *   (text if an integer is beyond 2^53, which a double does not hold);
 *   all blobs -> blob; any text, or blobs with other values -> text; no
 *   values -> text;
 * - a timestamp column holding integers: they count time since 1970 in
 *   `epoch_unit` (a load_epoch_unit) if it is >= 0, else in the unit their
 *   range shows: magnitudes from 1e8 to 1e11 seconds, 1e11 to 1e14
 *   milliseconds, 1e14 to 1e17 microseconds (1973 to 5138 in each). A range
 *   that shows no unit, or two, is refused (code 1) with a sentence naming
 *   table.column and the range and asking for --epoch-unit.
 * Call after model_keep_tables, so that only the tables copied are read. */
int model_refine_from_values(model *m, source *src, const source_schema *schema, int epoch_unit,
                             model_error *err);

/* CQL statements (NUL-terminated, appended to out). */
/* durable_writes 0: "AND durable_writes = false" (a plan's keyspace.durable_writes). */
int model_keyspace_ddl(const char *ks, const char *replication_json_or_null, int durable_writes,
                       cs_buf *out);
int model_table_ddl(const target_table *t, cs_buf *out);
/* INSERT INTO ks.t (c1, ...) VALUES (?, ...) USING TIMESTAMP ? */
int model_insert_cql(const target_table *t, cs_buf *out);


#endif
