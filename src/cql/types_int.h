/* Internal helpers shared by the cql type and value codec files
 * (types.c, types_parse.c, types_text.c, types_json.c). Not a public API.
 *
 * Naming: cqlt_ prefix. Scalar converters work on caller memory and never
 * allocate on the common path, because text encoding of scalars is the hot
 * path of CSV loading.
 */
#ifndef CQLSHIFT_CQL_TYPES_INT_H
#define CQLSHIFT_CQL_TYPES_INT_H

#include <stddef.h>
#include <stdint.h>

#include "cql/error.h"
#include "cql/types.h"
#include "util/utf8.h"
#include "util/buf.h"

/* How deep types and values may nest. Real schemas stay far below; the limit
 * protects the recursive parsers from hostile metadata or input text. */
#define CQLT_MAX_DEPTH 32

/* Longest varint/decimal digit string accepted or produced. The base
 * conversions are quadratic, so this bounds the CPU spent on one value. */
#define CQLT_MAX_DIGITS 100000

/* A short printable name of t for error messages ("int", "list<text>").
 * Writes at most size bytes into buf (NUL-terminated) and returns buf. */
const char *cqlt_type_str(const cql_type *t, char *buf, size_t size);

/* Quote at most ~48 bytes of s for an error message ("'abc'" or "'abc...'"),
 * replacing control and non-ASCII bytes so the message stays printable. */
const char *cqlt_quote(const char *s, size_t n, char *buf, size_t size);


/* Unsigned vint as in the v5 spec / Cassandra's VIntCoding: the count of
 * leading 1 bits in the first byte says how many bytes follow (0..8); the
 * value is big-endian in the remaining bits. Writes 1..9 bytes into p. */
size_t cqlt_uvint_put(uint8_t *p, uint64_t v);
/* Read one unsigned vint; 0 or -1 on truncation. */
int cqlt_uvint_get(cs_rd *r, uint64_t *v);
static inline uint64_t cqlt_zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (0 - ((uint64_t)v >> 63)); }
static inline int64_t cqlt_unzigzag(uint64_t v) { return (int64_t)((v >> 1) ^ (0 - (v & 1))); }

/* Append the minimal two's-complement big-endian bytes of the integer given
 * by the decimal digits d[0..nd) (no sign, nd >= 1) and sign neg. 0 or -1
 * (out of memory / cap). */
int cqlt_varint_from_digits(const char *d, size_t nd, int neg, cs_buf *out);
/* Append the decimal text ("-123") of the two's-complement big-endian
 * integer p[0..n) (n >= 1) to out. 0 or -1. */
int cqlt_varint_to_text(const uint8_t *p, size_t n, cs_buf *out);

/* Calendar: days since 1970-01-01 <-> proleptic Gregorian y/m/d. */
int64_t cqlt_days_from_civil(int64_t y, unsigned m, unsigned d);
void cqlt_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

/* Parse an integer with optional sign in [lo, hi]; whole string. 0 or -1. */
int cqlt_parse_i64(const char *s, size_t n, int64_t lo, int64_t hi, int64_t *out);

/* Scalar text -> bytes. Each returns 0 or -1 with err filled, and appends
 * exactly the value bytes (no length prefix) to out on success. s is
 * already trimmed where the type ignores surrounding blanks. */
int cqlt_scalar_from_text(const cql_type *t, const char *s, size_t n, cs_buf *out, cql_error *err);

/* Text forms used by the JSON decoder (and docs/formats.md). Each writes a
 * NUL-terminated string into buf (at least 48 bytes) and returns its length;
 * dates and timestamps outside years 1..9999 return -1 (callers use the
 * integer form). */
int cqlt_format_date(int64_t days, char *buf);
int cqlt_format_timestamp(int64_t ms, char *buf);
/* ISO 8601 text (a text without a zone is UTC) -> ms since 1970: 0, -1 if
 * malformed, -2 if well formed but with nonzero digits below the
 * millisecond. */
int cqlt_parse_timestamp(const char *s, size_t n, int64_t *ms);
int cqlt_format_time(int64_t ns, char *buf);
int cqlt_format_duration(int32_t months, int32_t days, int64_t ns, char *buf);
void cqlt_format_uuid(const uint8_t p[16], char *buf);
/* Decimal: scale + unscaled two's complement -> "-12.50" / "12E+3". */
int cqlt_format_decimal(int32_t scale, const uint8_t *p, size_t n, cs_buf *out);

/* Decode a duration value; 0 or -1 (malformed). */
int cqlt_duration_decode(const uint8_t *p, size_t n, int32_t *months, int32_t *days, int64_t *ns);

/* Read one [int32 length][bytes] element of a collection, tuple or UDT:
 * *ep points at the bytes (NULL when *elen <= 0; -1 null, -2 unset).
 * 0, or -1 when truncated or the length is below -2. */
int cqlt_read_elem(cs_rd *r, const uint8_t **ep, int32_t *elen);

/* Length-prefixed value framing: begin remembers where the [int32] goes,
 * end patches it (failing if the value passed 2^31-1 bytes). */
static inline int cqlt_value_begin(cs_buf *out, size_t *mark)
{
    *mark = out->len;
    return cs_buf_put_u32(out, 0);
}
int cqlt_value_end(cs_buf *out, size_t mark, cql_error *err);

/* Vector elements are not [int32]-prefixed: fixed-size ones stand back to
 * back, variable-size ones carry an unsigned vint length. Given an element
 * just appended at `mark` as [int32 len][bytes], rewrite it in vector form.
 * 0 or -1 (null element, wrong fixed size, cap). */
int cqlt_vector_fix_element(const cql_type *vec, cs_buf *out, size_t mark, cql_error *err);

/* Text encoder of one value with its length prefix, used recursively by the
 * collection literal parser; depth counts nesting. */
int cqlt_encode_text(const cql_type *t, const char *s, size_t n, cs_buf *out, cql_error *err, int depth);

#endif
