/* Unit tests of Cassandra's Murmur3 token and routing key composition.
 *
 * Expected tokens were read from a Cassandra 5.0.6 node (2026-11-24) with
 * the query shown next to each, after inserting the key into a table
 * `b (k blob PRIMARY KEY)` or `c (a int, b text, PRIMARY KEY ((a, b)))`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cql/murmur3.h"

static size_t unhex(const char *h, uint8_t *out)
{
    size_t n = strlen(h) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

static int64_t token_hex(const char *h)
{
    uint8_t b[256];
    size_t n = unhex(h, b);
    return cql_murmur3_token(b, n);
}

static void test_server_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *key;
        int64_t token;
    } v[] = {
        /* SELECT token(k) FROM b WHERE k = 0x00 */
        {"00", 5048724184180415669LL},
        /* ... k = 0x80: one tail byte >= 0x80 (sign-extended by Java) */
        {"80", -5284281814142962636LL},
        {"ff", -4442228696663692417LL},
        /* 15 bytes: the longest tail, no full block */
        {"000102030405060708090a0b0c0d0e", 5125964547706398185LL},
        /* exactly one block, no tail */
        {"000102030405060708090a0b0c0d0e0f", 4920504430128807728LL},
        /* one block of high bytes and a 1-byte high tail */
        {"808182838485868788898a8b8c8d8e8f90", -3616694464407856223LL},
        /* 40 bytes >= 0xd7: two blocks plus an 8-byte high tail */
        {"fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0efeeedecebeae9e8e7e6e5e4e3e2e1e0dfdedddcdbdad9d8d7",
         -2058195887243186306LL},
        /* int key 1 (the well-known first token of the stress tool's keys) */
        {"00000001", -4069959284402364209LL},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        int64_t got = token_hex(v[i].key);
        if (got != v[i].token)
            fail_msg("token(0x%s): expected %lld, got %lld", v[i].key, (long long)v[i].token, (long long)got);
    }
}

static void test_empty_key(void **state)
{
    (void)state;
    /* MurmurHash3 of nothing with seed 0 is 0 in both halves. */
    assert_int_equal(cql_murmur3_token(NULL, 0), 0);
}

static void test_composite(void **state)
{
    (void)state;
    /* SELECT token(a, b) FROM c WHERE a = 1 AND b = 'héllo' */
    const uint8_t a[] = {0, 0, 0, 1};
    const uint8_t b[] = {'h', 0xc3, 0xa9, 'l', 'l', 'o'};
    const uint8_t *vals[] = {a, b};
    const size_t lens[] = {sizeof a, sizeof b};
    cs_buf key;
    cs_buf_init(&key, 1024);
    assert_int_equal(cql_routing_key(&key, 2, vals, lens), 0);
    const uint8_t want[] = {0, 4, 0, 0, 0, 1, 0, 0, 6, 'h', 0xc3, 0xa9, 'l', 'l', 'o', 0};
    assert_int_equal(key.len, sizeof want);
    assert_memory_equal(key.data, want, sizeof want);
    assert_true(cql_murmur3_token(key.data, key.len) == -4247972273698047188LL);
    cs_buf_release(&key);
}

static void test_routing_key_single_and_limits(void **state)
{
    (void)state;
    cs_buf key;
    cs_buf_init(&key, 1 << 20);
    static uint8_t big[70000];
    const uint8_t *vals[] = {big, big};
    size_t lens[] = {sizeof big, 3};
    /* one component: bytes as they are, any length */
    assert_int_equal(cql_routing_key(&key, 1, vals, lens), 0);
    assert_int_equal(key.len, sizeof big);
    cs_buf_reset(&key);
    cs_buf_put_u8(&key, 0x55);
    /* several: a component over 65535 bytes cannot be framed; out unchanged */
    lens[0] = 3;
    lens[1] = 65536;
    assert_int_equal(cql_routing_key(&key, 2, vals, lens), -1);
    assert_int_equal(key.len, 1);
    lens[1] = 65535;
    assert_int_equal(cql_routing_key(&key, 2, vals, lens), 0);
    assert_int_equal(key.len, 1 + 2 + 3 + 1 + 2 + 65535 + 1);
    /* the buffer cap is respected */
    cs_buf small;
    cs_buf_init(&small, 8);
    lens[1] = 3;
    assert_int_equal(cql_routing_key(&small, 2, vals, lens), -1);
    assert_int_equal(small.len, 0);
    cs_buf_release(&small);
    cs_buf_release(&key);
}

static void test_min_token_maps_to_max(void **state)
{
    (void)state;
    /* No short key is known to hash to Long.MIN_VALUE; check instead that
     * tokens never equal it over many keys, and that the range is wide. */
    uint8_t k[8];
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (uint32_t i = 0; i < 100000; i++) {
        memcpy(k, &i, 4);
        memcpy(k + 4, &i, 4);
        int64_t t = cql_murmur3_token(k, 1 + i % 8);
        assert_true(t != INT64_MIN);
        lo = t < lo ? t : lo;
        hi = t > hi ? t : hi;
    }
    assert_true(lo < INT64_MIN / 2 && hi > INT64_MAX / 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_vectors),
        cmocka_unit_test(test_empty_key),
        cmocka_unit_test(test_composite),
        cmocka_unit_test(test_routing_key_single_and_limits),
        cmocka_unit_test(test_min_token_maps_to_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
