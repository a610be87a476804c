/* CQL data types and value codecs.
 *
 * A cql_type is a small tree (collections, tuples, UDTs and vectors have
 * children). Types come from three places: result/bind metadata on the wire
 * ([option] in the spec), CQL type text ("map<text, frozen<list<int>>>"), and
 * code. Values on the wire are [int32 length][bytes]; length -1 is null and
 * -2 is "unset" (v4+).
 *
 * The JSON form of a value (used by JSONL files, tests and debugging tools)
 * is one fixed convention, the same in both directions:
 *   ascii, text, varchar ........ string
 *   tinyint..bigint, counter .... integer
 *   varint ...................... string of decimal digits (integers also accepted on input)
 *   decimal ..................... string: unscaled digits with the point placed by the
 *                                 scale ("-12.50"; negative scale as "12E+3")
 *   float, double ............... number; "NaN", "Infinity", "-Infinity" as strings
 *   boolean ..................... true / false
 *   blob ........................ "0x" followed by lowercase hex
 *   uuid, timeuuid .............. canonical lowercase 8-4-4-4-12 string
 *   inet ........................ "1.2.3.4" or RFC 5952 IPv6 text
 *   date ........................ "YYYY-MM-DD" for years 1..9999, else integer days since 1970-01-01
 *   time ........................ "HH:MM:SS.nnnnnnnnn"
 *   timestamp ................... "YYYY-MM-DDTHH:MM:SS.mmmZ" for years 1..9999, else integer ms
 *   duration .................... "[-]<months>mo<days>d<nanoseconds>ns"
 *   list, set, vector, tuple .... array (tuple elements may be null)
 *   map ......................... object when the key type is text/ascii/varchar,
 *                                 else array of [key, value] pairs (both accepted on input)
 *   UDT ......................... object keyed by field name (missing fields are null)
 * JSON null is the null value. Collections may not hold nulls.
 */
#ifndef CQLSHIFT_CQL_TYPES_H
#define CQLSHIFT_CQL_TYPES_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "cql/error.h"
#include "util/buf.h"

typedef enum cql_type_id {
    CQL_T_CUSTOM = 0x00,
    CQL_T_ASCII = 0x01,
    CQL_T_BIGINT = 0x02,
    CQL_T_BLOB = 0x03,
    CQL_T_BOOLEAN = 0x04,
    CQL_T_COUNTER = 0x05,
    CQL_T_DECIMAL = 0x06,
    CQL_T_DOUBLE = 0x07,
    CQL_T_FLOAT = 0x08,
    CQL_T_INT = 0x09,
    CQL_T_TIMESTAMP = 0x0B,
    CQL_T_UUID = 0x0C,
    CQL_T_VARCHAR = 0x0D, /* "text" */
    CQL_T_VARINT = 0x0E,
    CQL_T_TIMEUUID = 0x0F,
    CQL_T_INET = 0x10,
    CQL_T_DATE = 0x11,
    CQL_T_TIME = 0x12,
    CQL_T_SMALLINT = 0x13,
    CQL_T_TINYINT = 0x14,
    CQL_T_DURATION = 0x15,
    CQL_T_LIST = 0x20,
    CQL_T_MAP = 0x21,
    CQL_T_SET = 0x22,
    CQL_T_UDT = 0x30,
    CQL_T_TUPLE = 0x31,
    /* Not a wire id: Cassandra sends vectors as a custom type
     * "org.apache.cassandra.db.marshal.VectorType(<elem>, <n>)". */
    CQL_T_VECTOR = 0x100,
} cql_type_id;

typedef struct cql_type cql_type;
struct cql_type {
    cql_type_id id;
    int frozen;           /* only meaningful for CQL text and DDL */
    char *custom;         /* class name, for CQL_T_CUSTOM */
    char *udt_keyspace;   /* for CQL_T_UDT */
    char *udt_name;       /* for CQL_T_UDT */
    uint16_t nsub;        /* list/set/vector: 1; map: 2 (key, value); tuple/UDT: fields */
    cql_type **sub;
    char **field_names;   /* UDT only, nsub entries */
    uint32_t dimension;   /* vector only */
};

/* Parse an [option] type from result/bind metadata. Returns a new tree
 * (free with cql_type_free) or NULL with err filled (r->err set on truncation). */
cql_type *cql_type_read_option(cs_rd *r, cql_error *err);
/* Parse CQL type text such as "frozen<map<text, list<int>>>" or
 * "vector<float, 3>". UDT names are kept as CQL_T_UDT with no fields. */
cql_type *cql_type_parse(const char *text, cql_error *err);
/* Append the CQL type text (as in CREATE TABLE) for t to out. 0 or -1. */
int cql_type_format(const cql_type *t, cs_buf *out);
/* Deep copy; NULL on allocation failure. */
cql_type *cql_type_clone(const cql_type *t);
void cql_type_free(cql_type *t);
/* Name of a scalar type id ("bigint"), or NULL for compound ids. */
const char *cql_type_name(cql_type_id id);
/* Size in bytes of a fixed-width type's value, or 0 if variable width
 * (used by vector encoding). */
size_t cql_type_fixed_size(const cql_type *t);

/* Append a null ([int32 -1]) or unset ([int32 -2]) value. 0 or -1. */
int cql_value_put_null(cs_buf *out);
int cql_value_put_unset(cs_buf *out);

/* Encode the JSON value `v` as type t, appending [int32 length][bytes] to out.
 * JSON null appends a null value. Returns 0, or -1 with CQL_E_ENCODE and a
 * sentence naming the expected form ("expected an integer in -128..127 for
 * tinyint, got 300"). On failure `out` is left at its original length. */
int cql_value_encode_json(const cql_type *t, const json_t *v, cs_buf *out, cql_error *err);

/* Decode the value bytes (len < 0 means null) of type t into a new JSON
 * value (caller owns the reference). NULL with CQL_E_ENCODE on malformed bytes. */
json_t *cql_value_decode_json(const cql_type *t, const uint8_t *p, int32_t len, cql_error *err);

/* Encode text (as found in a CSV field) as type t, appending
 * [int32 length][bytes]. Scalars use the forms of the JSON convention above
 * plus the common spellings documented in docs/formats.md (integers with an
 * optional sign, booleans true/false/yes/no/1/0 in any case, timestamps as
 * ISO 8601 with optional fraction and zone, or integer milliseconds).
 * Collections accept JSON-like text with single or double quotes:
 * ['a','b'], ["a","b"], {'k': 1}, [1, 2]. An empty string is an empty text
 * value for text types and an error for others (callers map their null
 * marker to null before calling). 0 or -1; out unchanged on failure. */
int cql_value_encode_text(const cql_type *t, const char *s, size_t n, cs_buf *out, cql_error *err);

#endif
