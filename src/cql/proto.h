/* CQL message bodies: encoding requests and parsing responses (v4 and v5).
 *
 * Request encoders append a body (without the 9-byte envelope header) to a
 * cs_buf. Response parsers read a body the caller owns; parsed objects that
 * outlive the body copy what they need, except cql_rows, which keeps
 * pointers into the body it was given (the caller keeps the body alive).
 */
#ifndef CQLSHIFT_CQL_PROTO_H
#define CQLSHIFT_CQL_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "cql/error.h"
#include "cql/types.h"
#include "util/buf.h"

typedef enum cql_consistency {
    CQL_ANY = 0x0000,
    CQL_ONE = 0x0001,
    CQL_TWO = 0x0002,
    CQL_THREE = 0x0003,
    CQL_QUORUM = 0x0004,
    CQL_ALL = 0x0005,
    CQL_LOCAL_QUORUM = 0x0006,
    CQL_EACH_QUORUM = 0x0007,
    CQL_SERIAL = 0x0008,
    CQL_LOCAL_SERIAL = 0x0009,
    CQL_LOCAL_ONE = 0x000A,
} cql_consistency;

/* Parse "LOCAL_QUORUM" (any case) etc.; -1 if unknown. */
int cql_consistency_parse(const char *s);
const char *cql_consistency_name(int c);

/* Query parameters shared by QUERY, EXECUTE (and, partly, BATCH). */
typedef struct cql_params {
    uint16_t consistency;
    const uint8_t *values;     /* nvalues pre-encoded [value]s back to back, or NULL */
    size_t values_len;
    uint16_t nvalues;
    int skip_metadata;
    int32_t page_size;         /* > 0 to request paging */
    const uint8_t *paging_state;
    size_t paging_state_len;
    uint16_t serial_consistency; /* 0 = not sent */
    int64_t timestamp;         /* microseconds; sent when has_timestamp */
    int has_timestamp;
    const char *keyspace;      /* v5 only; NULL = not sent */
} cql_params;

/* STARTUP with CQL_VERSION 3.0.0, optional COMPRESSION ("lz4"), DRIVER_NAME/VERSION. */
int cql_msg_startup(cs_buf *b, const char *compression);
/* AUTH_RESPONSE with the SASL PLAIN token \0user\0password. */
int cql_msg_auth_response(cs_buf *b, const char *user, const char *password);
int cql_msg_query(cs_buf *b, int version, const char *cql, const cql_params *p);
int cql_msg_prepare(cs_buf *b, int version, const char *cql, const char *keyspace);
/* result_md_id is sent in v5 only. */
int cql_msg_execute(cs_buf *b, int version, const uint8_t *id, size_t id_len,
                    const uint8_t *result_md_id, size_t result_md_id_len, const cql_params *p);

enum { CQL_BATCH_LOGGED = 0, CQL_BATCH_UNLOGGED = 1, CQL_BATCH_COUNTER = 2 };
/* Incremental BATCH body: begin, add statements, finish with the trailing
 * parameters. Statement values are pre-encoded [value]s. */
typedef struct cql_batch_writer {
    cs_buf *b;
    size_t count_off;
    uint16_t count;
    int version;
} cql_batch_writer;
int cql_msg_batch_begin(cql_batch_writer *w, cs_buf *b, int version, uint8_t type);
int cql_msg_batch_add_prepared(cql_batch_writer *w, const uint8_t *id, size_t id_len,
                               const uint8_t *values, size_t values_len, uint16_t nvalues);
int cql_msg_batch_add_query(cql_batch_writer *w, const char *cql,
                            const uint8_t *values, size_t values_len, uint16_t nvalues);
/* Uses consistency, serial_consistency, timestamp, keyspace of p. */
int cql_msg_batch_end(cql_batch_writer *w, const cql_params *p);
/* REGISTER for a list of event types ("TOPOLOGY_CHANGE", ...). */
int cql_msg_register(cs_buf *b, size_t n, const char *const *events);

/* Fill err from an ERROR body: CQL_E_SERVER (or CQL_E_AUTH for bad
 * credentials), server_code, and a sentence quoting the server's message
 * plus the code-specific fields (consistency, received/required, write type,
 * keyspace/table for Already_exists, the statement id for Unprepared).
 * Always returns -1. */
int cql_msg_parse_error(const uint8_t *body, size_t len, cql_error *err);

/* Result kinds. */
enum {
    CQL_RESULT_VOID = 1,
    CQL_RESULT_ROWS = 2,
    CQL_RESULT_SET_KEYSPACE = 3,
    CQL_RESULT_PREPARED = 4,
    CQL_RESULT_SCHEMA_CHANGE = 5,
};

typedef struct cql_column {
    char *keyspace;
    char *table;
    char *name;
    cql_type *type;
} cql_column;

typedef struct cql_metadata {
    int32_t flags;
    int32_t ncols;
    cql_column *cols;          /* NULL when the server skipped metadata */
    uint8_t *paging_state;     /* copy; NULL when there are no more pages */
    size_t paging_state_len;
    uint8_t *new_metadata_id;  /* v5: set when the server says metadata changed */
    size_t new_metadata_id_len;
    int32_t npk;               /* bind metadata only: partition key indexes */
    uint16_t *pk_index;
} cql_metadata;

void cql_metadata_release(cql_metadata *m);

/* Rows of a RESULT. value(r, c) is a pointer into the body. */
typedef struct cql_rows {
    cql_metadata meta;
    int32_t nrows;
    int32_t ncols;
    const uint8_t **vals;      /* nrows*ncols pointers; NULL for a null value */
    int32_t *lens;             /* nrows*ncols lengths; -1 for null */
} cql_rows;

typedef struct cql_prepared_info {
    uint8_t *id;
    size_t id_len;
    uint8_t *result_md_id;     /* v5 */
    size_t result_md_id_len;
    cql_metadata bind;         /* with pk_index */
    cql_metadata result;
} cql_prepared_info;

typedef struct cql_schema_change {
    char *change_type;         /* CREATED, UPDATED, DROPPED */
    char *target;              /* KEYSPACE, TABLE, TYPE, FUNCTION, AGGREGATE */
    char *keyspace;
    char *name;                /* table/type/function name or NULL */
} cql_schema_change;

typedef struct cql_result_body {
    int32_t kind;
    cql_rows rows;                   /* kind == ROWS */
    cql_prepared_info prepared;      /* kind == PREPARED */
    char *keyspace;                  /* kind == SET_KEYSPACE */
    cql_schema_change schema;        /* kind == SCHEMA_CHANGE */
} cql_result_body;

/* Parse a RESULT body of protocol `version`. For ROWS, `skip_meta_cols`
 * (may be NULL) supplies the columns when the server sent no metadata
 * (flag 0x0004), e.g. for EXECUTE with skip_metadata. 0, or -1 with
 * CQL_E_PROTOCOL on malformed input (never reads past len). */
int cql_result_parse(cql_result_body *out, int version, const uint8_t *body, size_t len,
                     const cql_metadata *skip_meta_cols, cql_error *err);
void cql_result_body_release(cql_result_body *r);

/* Parse a SUPPORTED body, returning the values of one option key as a
 * newly allocated, comma-joined string ("lz4,snappy"), or NULL if absent. */
char *cql_supported_get(const uint8_t *body, size_t len, const char *key);

#endif
