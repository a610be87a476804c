/* Value writers for unload: CQL wire bytes -> the text and JSON spellings
 * that load reads back (docs/formats.md), plus CSV field and JSON string
 * quoting.
 *
 * The round trip is the contract: for every value these functions accept,
 * cql_value_encode_text of fmt_value_text's output (and cql_value_encode_json
 * of json_loads of fmt_value_json's output) gives back the same wire bytes,
 * except for the non-canonical wire forms listed at fmt_value_text.
 *
 * All writers append to a caller-owned cs_buf and allocate nothing per value
 * (varints and decimals of more than ~380 digits use a temporary), so they
 * can run once per cell. On failure (-1) the buffer is left at its original
 * length.
 */
#ifndef CQLSHIFT_FORMAT_VALUE_OUT_H
#define CQLSHIFT_FORMAT_VALUE_OUT_H

#include <stddef.h>
#include <stdint.h>

#include "cql/error.h"
#include "cql/types.h"
#include "util/buf.h"

/* Append the text of one CQL value of type t (wire bytes p[0..len); len < 0
 * is null and must not be passed) to out, in the canonical text form that
 * cql_value_encode_text(t, text) reads back to the same bytes:
 *   scalars as in the canonical JSON of docs/formats.md but without JSON
 *   quotes (text and ascii byte for byte, blob 0x.., 1.5, NaN, 2024-01-31,
 *   2024-01-31T12:00:00.000Z, 12:00:00.000000000, 1mo2d3ns, 12E+3 ...);
 *   floats and doubles as their shortest text that reads back exactly;
 *   collections, tuples, UDTs and vectors exactly as fmt_value_json writes
 *   them (JSON is one of the literal forms the text reader accepts).
 * Returns 0; 1 when the value was a zero-length value of a non-string type
 * (Cassandra's legacy "empty"): nothing appended, the caller writes null and
 * counts it; -1 with err (CQL_E_ENCODE, a sentence) on malformed bytes or
 * bytes the reader would not take back (text that is not UTF-8, a timeuuid
 * that is not version 1, a null or empty element inside a collection),
 * CQL_E_NOMEM when out is full.
 * Wire forms that read back as the same value but other bytes (the value
 * is written, the bytes differ): a non-minimal varint or decimal (00 01),
 * a boolean byte other than 0/1, non-minimal duration vints, a NaN with a
 * payload, a tuple/UDT that ends before its last fields (written with
 * explicit nulls), a legacy empty tuple/UDT field (written as null). */
int fmt_value_text(const cql_type *t, const uint8_t *p, int32_t len, cs_buf *out, cql_error *err);

/* The same value as one JSON text (number, string, true/false, array,
 * object), compact (no blanks), in the canonical form of docs/formats.md.
 * Byte for byte what json_dumps(cql_value_decode_json(t, p, len),
 * JSON_COMPACT | JSON_ENCODE_ANY) gives, except:
 *   floats and doubles are their shortest text that reads back exactly
 *   ("0.1", not %.17g's "0.10000000000000001"; a float is the shortest text
 *   that reads back as the same float), laid out as %.17g would lay out
 *   those digits (exponent without '+' or leading zeros, ".0" when integral);
 *   a map with a text key containing U+0000 is written as [[key, value]...]
 *   pairs (json_loads does not take NUL in object keys);
 *   a text map with duplicate keys keeps all of them (decode keeps the last;
 *   Cassandra never sends duplicates);
 *   a null or empty element in a collection is an error (decode writes null,
 *   which the encoder refuses);
 *   a decimal whose scale is 100000 or more is "<unscaled>E-<scale>" (the
 *   plain form would have more digits than the reader takes).
 * Strings are UTF-8 (not \u-escaped beyond what JSON requires). Reading
 * back needs json_loads with JSON_ALLOW_NUL when text holds U+0000.
 * Same return codes as fmt_value_text. */
int fmt_value_json(const cql_type *t, const uint8_t *p, int32_t len, cs_buf *out, cql_error *err);

/* Append s[0..n) as one CSV field: bare when it needs no quoting, else in
 * quote characters with quotes doubled (RFC 4180). A field needs quoting
 * when it is empty (an empty string must not read back as null: load's
 * default null is an empty unquoted field), or holds the delimiter, the
 * quote, CR or LF, or starts or ends with a blank (space or tab).
 * 0, or -1 when out is full (out unchanged). */
int fmt_csv_field(const char *s, size_t n, char delim, char quote, cs_buf *out);
/* s[0..n) as a quoted CSV field, whatever it holds (a text equal to the
 * null marker, which bare would read back as null). 0 or -1. */
int fmt_csv_quoted(const char *s, size_t n, char quote, cs_buf *out);
/* 1 if fmt_csv_field would quote s (the rule above). */
int fmt_csv_needs_quotes(const char *s, size_t n, char delim, char quote);

/* Append s[0..n) as a JSON string: in double quotes, with \" \\ and the
 * control characters escaped as json_dumps escapes them (\b \f \n \r \t,
 * else \u00XX); other bytes, UTF-8 or not, pass through unchanged (the
 * caller validates). 0, or -1 when out is full (out unchanged). */
int fmt_json_string(const char *s, size_t n, cs_buf *out);

#endif
