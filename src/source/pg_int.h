/* PostgreSQL source: declarations shared by postgres.c (connections,
 * snapshot, ranges, counts), pg_catalog.c (describe) and pg_copy.c (binary
 * COPY decoding). Not a public header: everything else sees source.h. */
#ifndef CQLSHIFT_SOURCE_PG_INT_H
#define CQLSHIFT_SOURCE_PG_INT_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "source/source.h"
#include "util/check.h"

/* An assertion that stays on in release builds: a broken invariant. */
#define PG_ASSERT(c) CS_CHECK(c)

/* How one field of a binary COPY tuple is decoded. */
typedef enum pg_dec {
    PGD_TEXT,       /* text, varchar, bpchar, name, json, enum labels, ::text casts */
    PGD_BOOL,
    PGD_INT2, PGD_INT4, PGD_INT8, PGD_OID,
    PGD_FLOAT4, PGD_FLOAT8,
    PGD_NUMERIC,    /* numeric, and money cast to numeric */
    PGD_BYTEA,
    PGD_UUID,
    PGD_DATE,
    PGD_TIME,
    PGD_TIMESTAMP,  /* timestamp and timestamptz */
    PGD_INTERVAL,
    PGD_INET,
    PGD_JSONB,
    PGD_ARRAY,      /* elements decoded with the column's elem decoder */
} pg_dec;

/* One column of a table as the range query selects it. */
typedef struct pg_col {
    pg_dec dec;
    pg_dec elem_dec;        /* PGD_ARRAY: the elements' decoder */
    int dims;               /* PGD_ARRAY: declared dimensions (>= 1) */
    char *expr;             /* the select-list expression ("\"c\"", "\"c\"::text") */
    char *type_sql;         /* the declared type, for casting key literals */
} pg_col;

/* Per-table facts beyond the public schema. A query table (add_query:
 * source_table.query) has no oid, qname or key: select_list is its whole
 * COPY statement and count_sql its count. */
typedef struct pg_table {
    uint32_t oid;
    char relkind;           /* 'r' ordinary, 'p' partitioned, 'v' view, 'm'
                             * materialized view (named with --tables) */
    char *qname;            /* "schema"."table", quoted */
    const char *only;       /* "ONLY " for ordinary tables (inheritance children
                             * are copied on their own), "" for partitioned */
    pg_col *cols;           /* parallel to source_table.cols (cols[0] unused
                             * when uses_rowid: it is read from ctid) */
    int *key;               /* npk column indexes in key order */
    int key_int;            /* the key is one integer column (split by arithmetic) */
    int *key_extra;         /* per key column: index of its ::text copy among
                             * the extra fields after the columns, or -1 when
                             * the decoded value gives the text form */
    int nextra;             /* extra fields after the table's columns */
    char *key_list;         /* "\"k1\", \"k2\"" for row comparisons */
    char *order_list;       /* the same qualified by the query's table alias
                             * (cqlshift_t), so that ORDER BY never means a
                             * ::text output column of the same name */
    char *select_list;      /* everything the range query selects */
    char *colsig;           /* the columns as described (name, type oid and
                             * typmod of each): compared once the tables are
                             * locked, in the snapshot */
    int nleaves;            /* partitioned without a key: leaf oids, sorted; the */
    uint32_t *leaves;       /* rowid carries the leaf's index */
    char **leaf_qnames;     /* "schema"."leaf" per leaf, quoted: the range reads
                             * the leaves one after the other in this order, so
                             * rowids increase and the last one resumes it */
    char *count_sql;        /* a query table: SELECT count(*) over the query */
} pg_table;

/* A connection that reads ranges. */
typedef struct pg_slot {
    PGconn *conn;
    PGcancel *cancel;
    int busy;               /* handed to an open range */
} pg_slot;

typedef struct pg_source {
    source base;
    char *uri;
    char red[512];          /* the URI with any password hidden */
    char *schemas;          /* --schema list, or NULL */
    char *want_views;       /* views to copy (source_ops.want_views), or NULL */
    int server_version;

    PGconn *coord;          /* describe, split, count; holds the snapshot */
    PGcancel *coord_cancel;
    pthread_mutex_t coord_mu;   /* one command at a time on coord */

    int in_snapshot;
    char snapshot[128];
    char lsn[64];

    pthread_mutex_t mu;     /* slots and plain readers */
    pthread_cond_t freed;
    pg_slot *slots;
    int nslots;
    struct source_reader *plain;    /* open ranges on their own connections */

    int described;
    source_schema schema;
    pg_table *tables;
    json_t *notes;
} pg_source;

struct source_reader {
    pg_source *src;
    int table;
    pg_slot *slot;          /* a snapshot reader, or NULL (own connection) */
    PGconn *conn;
    PGcancel *own_cancel;   /* own connection's cancel handle */
    struct source_reader *next_plain;
    char label[256];
    int in_copy;            /* COPY started, its end not yet seen */
    int header_done;
    int done;
    int broken;             /* an error left the connection unusable */
    int nfields;            /* fields per tuple */
    int *fdst;              /* per field: value index, or -1 ctid, -2 tableoid */
    int64_t ordinal;        /* rows read (the position of key-range rows) */
    int64_t last_rowid;     /* ctid tables: for the order check */
    char *msg;              /* the current CopyData message (libpq's) */
    int msg_len, msg_off;
};

/* Connect with the URI as given, apply the session settings; NULL with
 * err naming the redacted URI and libpq's reason. */
PGconn *pg_connect(pg_source *s, source_error *err);
/* Forget this thread's last server FATAL (kept for pg_conn_reason). */
void pg_notice_reset(void);
/* libpq's last error on c as one line (no trailing newline), in out. */
void pg_conn_reason(PGconn *c, char *out, size_t n);
/* Run sql on the coordinator (caller holds coord_mu); a result of the
 * expected status or NULL with err ("what" names the action). */
PGresult *pg_exec(pg_source *s, PGconn *c, const char *sql, ExecStatusType want,
                  const char *what, source_error *err);
/* A quoted identifier (malloc'd) or NULL. */
char *pg_ident(PGconn *c, const char *name);

/* A reader connection attached to the source's exported snapshot. */
PGconn *pg_snapshot_reader(pg_source *s, source_error *err);
/* Called by describe once the schema is read (locks the tables when a
 * snapshot is already held). */
int pg_after_describe(pg_source *s, source_error *err);

/* pg_catalog.c */
const source_schema *pg_describe(source *base, source_error *err);
void pg_tables_free(pg_source *s);
/* source_ops.add_query (pg_catalog.c). */
int pg_add_query(source *base, const char *sql, const char *name, int *at, source_error *err);

/* pg_copy.c */
/* Decode one binary COPY field of column pc (len >= 0: not NULL) into v,
 * its bytes in arena a. 0; -1 out of memory; -2 malformed bytes. A value
 * that decodes but has no CQL form is SV_BAD with the reason (0). */
int pg_decode_field(const pg_col *pc, const uint8_t *p, int32_t len, src_value *v, arena *a);
source_reader *pg_open_range(source *base, const source_range *r, const src_pos *after,
                             source_error *err);
int pg_read(source_reader *rd, row_batch *b, int max_rows, source_error *err);
void pg_close_range(source_reader *rd);
/* The SQL condition for key (or ctid) range r continuing after `after`
 * (NULL: the whole range), appended to a malloc'd string; NULL with err. */
char *pg_range_cond(pg_source *s, PGconn *c, const source_range *r, const src_pos *after,
                    source_error *err);

/* Key encoding in src_pos bytes: per key column a 4-byte big-endian
 * length and the column's text form. ctid ranges: 8-byte rowids. */
int pg_key_append(src_pos *p, const char *text, size_t n);
/* The k-th text form in an encoded key; 0, or -1 if malformed. */
int pg_key_get(const src_pos *p, int k, const char **text, size_t *n);

#endif
