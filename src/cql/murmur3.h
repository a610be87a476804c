/* Cassandra's Murmur3Partitioner token, and partition (routing) key bytes.
 *
 * Cassandra computes the token as the first 64-bit half of MurmurHash3
 * x64_128 with seed 0, but its Java code reads the 1..15 tail bytes as
 * signed bytes, which differs from the reference C code for bytes >= 0x80.
 * This module reproduces Cassandra's variant exactly. Long.MIN_VALUE is
 * mapped to Long.MAX_VALUE, as the partitioner does.
 */
#ifndef CQLSHIFT_CQL_MURMUR3_H
#define CQLSHIFT_CQL_MURMUR3_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* The Murmur3Partitioner token of the partition key bytes `key`. */
int64_t cql_murmur3_token(const uint8_t *key, size_t len);

/* Build the partition key bytes from serialized component values.
 * One component: its bytes as they are. Several: for each, uint16 length,
 * the bytes, one 0x00 byte. `vals[i]`/`lens[i]` are the raw value bytes
 * (no [int32] prefix). Appends to out; 0, or -1 if a component is longer
 * than 65535 bytes or the buffer cap is reached. */
int cql_routing_key(cs_buf *out, size_t n, const uint8_t *const *vals, const size_t *lens);

#endif
