/* The MySQL/MariaDB source connector's private parts, shared by mysql.c
 * (connections, snapshot, ranges, reading), my_catalog.c (describe) and
 * my_values.c (text-protocol values to typed src_values, key bounds).
 * Nothing here is used outside src/source/my_*.c and mysql.c. */
#ifndef CQLSHIFT_SOURCE_MY_INT_H
#define CQLSHIFT_SOURCE_MY_INT_H

#include <mysql.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "source/source.h"
#include "util/buf.h"
#include "util/check.h"

/* An assertion that stays on in every build: a broken invariant of this
 * connector, never bad input. */
#define MY_ASSERT(c) CS_CHECK(c)

/* How a column's text-protocol value becomes a src_value. */
typedef enum my_vk {
    MYV_ROWID,          /* the synthetic first column of a table without key */
    MYV_INT,            /* signed and unsigned integers up to INT UNSIGNED, YEAR */
    MYV_UINT64,         /* BIGINT UNSIGNED: SV_UINT */
    MYV_BOOL,           /* tinyint(1): 0/1, anything else is SV_BAD */
    MYV_BIT_BOOL,       /* bit(1): one raw byte */
    MYV_DECIMAL,
    MYV_FLOAT,          /* FLOAT: selected as (f * 1e0), its exact double */
    MYV_DOUBLE,
    MYV_TEXT,           /* text (the server sends UTF-8), enum labels, JSON */
    MYV_BYTES,          /* binary strings, blobs, bit(n > 1), geometry */
    MYV_UUID_BIN,       /* binary(16) taken as a UUID */
    MYV_UUID_TEXT,      /* MariaDB's uuid type (text form) */
    MYV_INET_TEXT,      /* MariaDB's inet4/inet6 (text form) */
    MYV_DATE,
    MYV_DATETIME,       /* datetime and timestamp: microseconds (UTC session) */
    MYV_TIME,
    MYV_SET,            /* comma-separated labels: SV_LIST of SV_TEXT */
} my_vk;

/* Per-table facts beyond the public schema. */
typedef struct my_table_info {
    char *db;               /* the database (schema) */
    char *table;            /* the table's own name */
    char *qname;            /* `db`.`table` */
    char *select_list;      /* the source columns, quoted (no rowid) */
    char *order_by;         /* the key columns, quoted, comma-separated; NULL: no key */
    my_vk *vk;              /* per schema column */
    int nkey;               /* key columns (0: none: one range, rows by ordinal) */
    int *key_cols;          /* schema column of key column k (k < nkey) */
    int keyset;             /* 1: ranges and resume points are key tuples */
    int int_first;          /* 1: key column 0 is an integer (min/max split) */
    int uint_first;         /* ... an unsigned 64-bit one */
} my_table_info;

/* One server connection of the reader pool. */
typedef struct my_conn {
    MYSQL *db;
    unsigned long thread_id;
    int busy;               /* handed to a range */
    int broken;             /* lost (killed, server gone): never reused */
} my_conn;

typedef enum my_ssl_mode {
    MY_SSL_DEFAULT = 0,     /* VERIFY_IDENTITY off loopback, DISABLED on loopback/socket */
    MY_SSL_DISABLED,
    MY_SSL_REQUIRED,        /* encrypted, server not verified */
    MY_SSL_VERIFY_CA,       /* verified (libmariadb 3.3 checks the name too) */
    MY_SSL_VERIFY_IDENTITY,
} my_ssl_mode;

typedef struct my_uri {
    char *user;             /* NULL: option file's, else the login name */
    char *host;             /* NULL with socket */
    unsigned port;          /* 0: 3306 */
    char *db;               /* NULL: none in the URI */
    char *socket;
    char *ssl_ca;
    my_ssl_mode ssl_mode;
    int lock_none;          /* lock=none: several readers without the global lock */
} my_uri;

typedef struct my_source {
    source base;
    my_uri uri;
    char redacted[1024];    /* the URI for messages (no password can be in it) */
    char **dbs;             /* the databases read */
    int ndbs;
    int mariadb;            /* the server is MariaDB (else MySQL) */
    char server[256];       /* what identifies the server, for the fingerprint */

    MYSQL *coord;           /* schema, split, count; its own snapshot */
    pthread_mutex_t mu;     /* guards the pool and coord_busy */
    pthread_cond_t cv;
    int coord_busy;         /* the coordinator runs a query (or reads a range: shared) */
    my_conn *readers;       /* the pool (snapshot_begin) */
    int nreaders;
    int shared;             /* one reader: the coordinator itself reads */
    int snapshot;           /* snapshot_begin succeeded */
    json_t *position;       /* snapshot_position's answer */

    /* The counts of the ranges the last split of table walk_table found by
     * walking the key (each but range walk_middle holds exactly walk_step
     * rows, in the snapshot; walk_middle holds walk_middle_count, -1:
     * not counted yet), for count_ranges; walk_table -1: none. */
    int walk_table;
    int walk_ranges;
    int64_t walk_step;
    int walk_middle;
    int64_t walk_middle_count;

    int described;
    source_schema schema;
    my_table_info *info;
    json_t *notes;          /* JSON array of strings */
} my_source;

/* mysql.c */
/* Connect a new session to the source's server (database db or none),
 * pinned to UTC, utf8mb4 and a neutral sql_mode. NULL with err. */
MYSQL *my_connect(my_source *s, const char *db, source_error *err);
/* Run one statement that returns nothing (results are drained). */
int my_exec(MYSQL *db, const char *sql);
/* Add one note (printf-formatted) to s->notes. */
void my_note(my_source *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* `name` with backquotes doubled, appended to b. */
int my_append_ident(cs_buf *b, const char *name);

/* my_catalog.c: read the schema of s->dbs into s->schema and s->info. */
int my_describe(my_source *s, source_error *err);
void my_info_free(my_table_info *info, int n);
/* The logical type and decoder of a query's result column from its
 * metadata, as map_column gives them for a table column (c->name set
 * first; sets decl_type; a FLOAT is MYV_FLOAT: select it as (c * 1e0)).
 * 0, or -1 out of memory. */
int my_map_field(const MYSQL_FIELD *f, source_column *c, my_vk *vk);

/* my_values.c */
/* Decode one text-protocol field (p, n; p == NULL: SQL NULL) of kind vk
 * into v; text and bytes are copied into a. 0, or -1 out of memory. */
int my_decode(my_vk vk, const char *p, unsigned long n, src_value *v, arena *a);
/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t my_days_from_civil(int64_t y, unsigned m, unsigned d);

/* Key tuples (range bounds, resume points) as bytes: a version byte 1, a
 * count byte, then per value a 4-byte big-endian length and the value's
 * text-protocol bytes. */
int my_key_encode(src_pos *out, const char *const *vals, const unsigned long *lens, int n);
/* The values of an encoded tuple: pointers into pos (count in *n, at most
 * max); -1 if the bytes are not a tuple. */
int my_key_decode(const src_pos *pos, const char **vals, unsigned long *lens, int max, int *n);
/* Append the literal of one key value of kind vk to sql, escaped with
 * db's character set; -1 if the value cannot be a literal of that kind
 * (a tampered state file) or out of memory. */
int my_key_literal(MYSQL *db, cs_buf *sql, my_vk vk, const char *p, unsigned long n);
/* Append "(k1 > v1 OR (k1 = v1 AND ...))" (gt = 1) or the matching "<="
 * predicate for the first n key columns of table ti. */
int my_key_predicate(MYSQL *db, cs_buf *sql, const source_table *tb, const my_table_info *ti,
                     int gt, const char *const *vals, const unsigned long *lens, int n);
/* 1 if a key column of kind vk can be compared with a literal in the order
 * ORDER BY gives (keyset ranges and resume points). */
int my_vk_keyset(my_vk vk);

#endif
