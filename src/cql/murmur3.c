/* Cassandra's Murmur3Partitioner token (MurmurHash3 x64_128, first half,
 * seed 0, with Java's signed-byte tail) and routing key composition. */
#include "cql/murmur3.h"

#include <string.h>

static uint64_t rotl64(uint64_t v, int r) { return (v << r) | (v >> (64 - r)); }

static uint64_t fmix64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

/* Full 16-byte blocks are read as unsigned little-endian words, exactly as
 * in the reference code. */
static uint64_t block_le(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* Java's `(long) key.get(i) << shift`: the byte is sign-extended to 64
 * bits before the shift, so a tail byte >= 0x80 sets all higher bits. This
 * is where Cassandra's variant departs from the reference implementation. */
static uint64_t tail_byte(uint8_t b, int shift) { return (uint64_t)(int64_t)(int8_t)b << shift; }

int64_t cql_murmur3_token(const uint8_t *key, size_t len)
{
    const uint64_t c1 = 0x87c37b91114253d5ULL, c2 = 0x4cf5ad432745937fULL;
    uint64_t h1 = 0, h2 = 0;
    size_t nblocks = len / 16;
    for (size_t i = 0; i < nblocks; i++) {
        uint64_t k1 = block_le(key + 16 * i), k2 = block_le(key + 16 * i + 8);
        k1 *= c1;
        k1 = rotl64(k1, 31);
        k1 *= c2;
        h1 ^= k1;
        h1 = rotl64(h1, 27);
        h1 += h2;
        h1 = h1 * 5 + 0x52dce729;
        k2 *= c2;
        k2 = rotl64(k2, 33);
        k2 *= c1;
        h2 ^= k2;
        h2 = rotl64(h2, 31);
        h2 += h1;
        h2 = h2 * 5 + 0x38495ab5;
    }
    const uint8_t *tail = key + 16 * nblocks;
    size_t rem = len & 15;
    uint64_t k1 = 0, k2 = 0;
    /* Bytes 8..14 of the tail feed k2, bytes 0..7 feed k1. */
    for (size_t i = rem; i > 8; i--)
        k2 ^= tail_byte(tail[i - 1], (int)(8 * (i - 9)));
    if (rem > 8) {
        k2 *= c2;
        k2 = rotl64(k2, 33);
        k2 *= c1;
        h2 ^= k2;
    }
    for (size_t i = rem < 8 ? rem : 8; i > 0; i--)
        k1 ^= tail_byte(tail[i - 1], (int)(8 * (i - 1)));
    if (rem > 0) {
        k1 *= c1;
        k1 = rotl64(k1, 31);
        k1 *= c2;
        h1 ^= k1;
    }
    /* Java mixes in the length as a (non-negative) int widened to long. */
    h1 ^= (uint64_t)len;
    h2 ^= (uint64_t)len;
    h1 += h2;
    h2 += h1;
    h1 = fmix64(h1);
    h2 = fmix64(h2);
    h1 += h2;
    int64_t token = (int64_t)h1;
    /* Long.MIN_VALUE is the partitioner's "minimum token", never a key's. */
    return token == INT64_MIN ? INT64_MAX : token;
}

int cql_routing_key(cs_buf *out, size_t n, const uint8_t *const *vals, const size_t *lens)
{
    if (n == 1)
        return cs_buf_append(out, vals[0], lens[0]);
    size_t start = out->len;
    for (size_t i = 0; i < n; i++) {
        if (lens[i] > 0xFFFF || cs_buf_put_u16(out, (uint16_t)lens[i]) || cs_buf_append(out, vals[i], lens[i]) ||
            cs_buf_put_u8(out, 0)) {
            out->len = start;
            return -1;
        }
    }
    return 0;
}
