/* Envelope headers, the v5 CRCs and framing, and the incremental decoder,
 * checked against bytes captured from a real Cassandra 5.0.6 server
 * (tests/unit/data/README). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include "testdata.h"
#include <lz4.h>

#include "cql/frame.h"
#include "cql/proto.h"

/* ---- helpers ------------------------------------------------------------- */

typedef struct blob {
    uint8_t *p;
    size_t n;
} blob;

static blob load(const char *name)
{
    blob b;
    b.p = test_data_load(name, &b.n);
    return b;
}

/* What a decoder produced from a stream: envelopes (copied) or an error. */
typedef struct decoded {
    int n;
    int16_t stream[64];
    uint8_t opcode[64];
    uint32_t length[64];
    uint8_t *body[64];
    int rc;            /* last rc of feed/next: 0 waiting, -1 error */
    cql_error err;
} decoded;

static void decoded_free(decoded *o)
{
    for (int i = 0; i < o->n; i++)
        free(o->body[i]);
    memset(o, 0, sizeof *o);
}

static int drain(cql_decoder *d, decoded *o)
{
    for (;;) {
        cql_envelope e;
        int rc = cql_decoder_next(d, &e, &o->err);
        if (rc <= 0)
            return o->rc = rc;
        assert_true(o->n < 64);
        o->stream[o->n] = e.stream;
        o->opcode[o->n] = e.opcode;
        o->length[o->n] = e.length;
        o->body[o->n] = malloc(e.length ? e.length : 1);
        memcpy(o->body[o->n], e.body, e.length);
        o->n++;
    }
}

/* Feed a server capture: the unframed READY first, then (v5) everything
 * else as frames, in chunks of `chunk` bytes. */
static void decode_capture(const blob *b, size_t upto, int v5, int lz4, size_t chunk, decoded *o)
{
    cql_decoder d;
    cql_decoder_init(&d, CQL_DEFAULT_MAX_BODY);
    memset(o, 0, sizeof *o);
    size_t off = 0, ready = upto < 9 ? upto : 9;
    if (cql_decoder_feed(&d, b->p, ready, &o->err) == 0)
        drain(&d, o);
    off = ready;
    if (o->n == 1 && o->opcode[0] == CQL_OP_READY && v5)
        cql_decoder_set_v5(&d, lz4);
    while (off < upto && o->rc == 0) {
        size_t k = upto - off < chunk ? upto - off : chunk;
        o->rc = cql_decoder_feed(&d, b->p + off, k, &o->err);
        if (o->rc == 0)
            drain(&d, o);
        off += k;
    }
    cql_decoder_release(&d);
}

/* ---- envelope header, CRCs ----------------------------------------------- */

static void test_envelope_header(void **state)
{
    uint8_t h[CQL_ENVELOPE_HEADER_SIZE];
    cql_envelope_header_write(h, 5, CQL_FLAG_TRACING, 0x1234, CQL_OP_QUERY, 0x01020304);
    const uint8_t want[] = {0x05, 0x02, 0x12, 0x34, 0x07, 0x01, 0x02, 0x03, 0x04};
    assert_memory_equal(h, want, sizeof want);
    cql_envelope_header_write(h, 4, 0, -1, CQL_OP_EVENT, 0);
    const uint8_t want2[] = {0x04, 0x00, 0xFF, 0xFF, 0x0C, 0, 0, 0, 0};
    assert_memory_equal(h, want2, sizeof want2);
}

static void test_crc_vectors(void **state)
{
    /* The first frame Cassandra 5.0.6 sent us (v5.resp after READY): header
     * 43 02 02 (579 bytes, self-contained) with CRC24 51 fd ec. */
    const uint8_t hdr[] = {0x43, 0x02, 0x02};
    assert_int_equal(cql_crc24(hdr, 3), 0xECFD51);
    /* CRC32 = zlib crc32 continued from the seed bytes FA 2D 55 CA
     * (Python: zlib.crc32(b"123456789", zlib.crc32(b"\xfa\x2d\x55\xca"))). */
    assert_int_equal(cql_crc32((const uint8_t *)"", 0), 0x44777ed3);
    assert_int_equal(cql_crc32((const uint8_t *)"123456789", 9), 0xe2a261a7);
}

/* Every frame of a capture: our CRCs agree with the server's. */
static void check_capture_crcs(const char *name, int lz4)
{
    blob b = load(name);
    size_t off = 9, hs = lz4 ? 8 : 6;
    int frames = 0;
    while (off < b.n) {
        assert_true(b.n - off >= hs);
        const uint8_t *f = b.p + off;
        uint32_t crc24 = f[hs - 3] | (f[hs - 2] << 8) | ((uint32_t)f[hs - 1] << 16);
        assert_int_equal(cql_crc24(f, hs - 3), crc24);
        size_t plen = (f[0] | (f[1] << 8) | ((size_t)f[2] << 16)) & 0x1FFFF;
        assert_true(off + hs + plen + 4 <= b.n);
        const uint8_t *t = f + hs + plen;
        uint32_t crc32 = t[0] | (t[1] << 8) | ((uint32_t)t[2] << 16) | ((uint32_t)t[3] << 24);
        assert_int_equal(cql_crc32(f + hs, plen), crc32);
        off += hs + plen + 4;
        frames++;
    }
    assert_true(frames >= 6);
    free(b.p);
}

static void test_capture_crcs(void **state)
{
    check_capture_crcs("v5.resp", 0);
    check_capture_crcs("v5lz4.resp", 1);
}

/* ---- our requests are byte for byte what the server accepted ------------- */

#define BIG_LEN 150000

static void append_envelope(cs_buf *s, int version, int16_t stream, uint8_t op, const cs_buf *body)
{
    uint8_t h[CQL_ENVELOPE_HEADER_SIZE];
    cql_envelope_header_write(h, (uint8_t)version, 0, stream, op, (uint32_t)body->len);
    assert_int_equal(cs_buf_append(s, h, sizeof h), 0);
    assert_int_equal(cs_buf_append(s, body->data, body->len), 0);
}

/* The request envelopes capture_frames.py sent after STARTUP. */
static void build_requests(cs_buf *first, cs_buf *rest, int version)
{
    cs_buf body;
    cs_buf_init(&body, SIZE_MAX);
    cql_params p = {.consistency = CQL_ONE};
    char *big = malloc(BIG_LEN + 100);
    append_envelope(first, version, 1, CQL_OP_OPTIONS, &body);
    assert_int_equal(cql_msg_query(&body, version, "SELECT release_version FROM system.local", &p), 0);
    append_envelope(rest, version, 2, CQL_OP_QUERY, &body);
    cs_buf_reset(&body);
    assert_int_equal(cql_msg_query(&body, version, "SELEC nothing", &p), 0);
    append_envelope(rest, version, 3, CQL_OP_QUERY, &body);
    cs_buf_reset(&body);
    cql_params paged = {.consistency = CQL_ONE, .page_size = 5};
    assert_int_equal(cql_msg_query(&body, version,
                                   "SELECT keyspace_name, table_name FROM system_schema.tables",
                                   &paged), 0);
    append_envelope(rest, version, 4, CQL_OP_QUERY, &body);
    cs_buf_reset(&body);
    assert_int_equal(cql_msg_prepare(&body, version,
                                     "SELECT key, release_version FROM system.local WHERE key = ?",
                                     NULL), 0);
    append_envelope(rest, version, 5, CQL_OP_PREPARE, &body);
    cs_buf_reset(&body);
    strcpy(big, "SELECT key FROM system.local WHERE key = '");
    size_t k = strlen(big);
    memset(big + k, 'x', BIG_LEN);
    strcpy(big + k + BIG_LEN, "'");
    assert_int_equal(cql_msg_query(&body, version, big, &p), 0);
    append_envelope(rest, version, 6, CQL_OP_QUERY, &body);
    cs_buf_reset(&body);
    strcpy(big, "SELECT textAsBlob('");
    k = strlen(big);
    memset(big + k, 'x', BIG_LEN);
    strcpy(big + k + BIG_LEN, "') FROM system.local");
    assert_int_equal(cql_msg_query(&body, version, big, &p), 0);
    append_envelope(rest, version, 7, CQL_OP_QUERY, &body);
    free(big);
    cs_buf_release(&body);
}

/* The STARTUP envelope leads each .req file; compare it when our version
 * string is the one the capture used. */
static size_t check_startup(const blob *req, int version, const char *compression)
{
    cs_buf body, s;
    cs_buf_init(&body, SIZE_MAX);
    cs_buf_init(&s, SIZE_MAX);
    assert_int_equal(cql_msg_startup(&body, compression), 0);
    append_envelope(&s, version, 0, CQL_OP_STARTUP, &body);
    if (strcmp(CQLSHIFT_VERSION, "0.1.0") == 0)
        assert_memory_equal(req->p, s.data, s.len);
    size_t n = 9 + cs_be32(req->p + 5);
    cs_buf_release(&body);
    cs_buf_release(&s);
    return n;
}

static void test_requests_match_capture(void **state)
{
    for (int lz4 = 0; lz4 <= 1; lz4++) {
        blob req = load(lz4 ? "v5lz4.req" : "v5.req");
        size_t off = check_startup(&req, 5, lz4 ? "lz4" : NULL);
        cs_buf first, rest, wire;
        cs_buf_init(&first, SIZE_MAX);
        cs_buf_init(&rest, SIZE_MAX);
        cs_buf_init(&wire, SIZE_MAX);
        build_requests(&first, &rest, 5);
        assert_int_equal(cql_v5_frames_write(&wire, first.data, first.len, lz4, NULL), 0);
        if (!lz4) {
            assert_int_equal(cql_v5_frames_write(&wire, rest.data, rest.len, 0, NULL), 0);
            assert_int_equal(wire.len, req.n - off);
            assert_memory_equal(wire.data, req.p + off, wire.len);
        } else {
            /* The script stores LZ4 payloads uncompressed; our writer
             * compresses when that is smaller, so only the tiny OPTIONS
             * frame is bound to match, the rest must round-trip. */
            assert_memory_equal(wire.data, req.p + off, wire.len);
        }
        cs_buf_release(&first);
        cs_buf_release(&rest);
        cs_buf_release(&wire);
        free(req.p);
    }
    blob req = load("v4.req");
    size_t off = check_startup(&req, 4, NULL);
    cs_buf first, rest;
    cs_buf_init(&first, SIZE_MAX);
    cs_buf_init(&rest, SIZE_MAX);
    build_requests(&first, &rest, 4);
    assert_int_equal(first.len + rest.len, req.n - off);
    assert_memory_equal(first.data, req.p + off, first.len);
    assert_memory_equal(rest.data, req.p + off + first.len, rest.len);
    cs_buf_release(&first);
    cs_buf_release(&rest);
    free(req.p);
}

/* ---- decoding the server's answers ---------------------------------------- */

static void check_answers(const decoded *o)
{
    assert_int_equal(o->rc, 0);
    assert_int_equal(o->n, 8);
    assert_int_equal(o->opcode[0], CQL_OP_READY);
    int seen = 0;
    for (int i = 1; i < o->n; i++) {
        int s = o->stream[i];
        assert_true(s >= 1 && s <= 7);
        seen |= 1 << s;
        static const uint8_t want_op[] = {0, CQL_OP_SUPPORTED, CQL_OP_RESULT, CQL_OP_ERROR,
                                          CQL_OP_RESULT, CQL_OP_RESULT, CQL_OP_ERROR, CQL_OP_RESULT};
        assert_int_equal(o->opcode[i], want_op[s]);
        if (s == 7)
            assert_true(o->length[i] > 2 * BIG_LEN); /* spans several frames */
    }
    assert_int_equal(seen, 0xFE);
}

static void test_decode_captures(void **state)
{
    static const struct { const char *name; int v5, lz4; } caps[] = {
        {"v5.resp", 1, 0}, {"v5lz4.resp", 1, 1}, {"v4.resp", 0, 0}};
    static const size_t chunks[] = {1, 7, 100, 4096, 65536, SIZE_MAX};
    for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
        blob b = load(caps[c].name);
        for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
            if (chunks[k] == 1 && b.n > 10000)
                continue; /* byte by byte is covered by the truncation test */
            decoded o;
            decode_capture(&b, b.n, caps[c].v5, caps[c].lz4, chunks[k], &o);
            check_answers(&o);
            decoded_free(&o);
        }
        free(b.p);
    }
}

/* Cut anywhere, a stream yields a prefix of its envelopes and waits. */
static void check_truncations(const char *name, int v5, int lz4, size_t step)
{
    blob b = load(name);
    decoded full;
    decode_capture(&b, b.n, v5, lz4, SIZE_MAX, &full);
    int last = 0;
    for (size_t cut = 0; cut < b.n; cut += (cut < 2048 ? 1 : step)) {
        decoded o;
        decode_capture(&b, cut, v5, lz4, SIZE_MAX, &o);
        if (o.rc != 0)
            fail_msg("%s cut at %zu: %s", name, cut, o.err.msg);
        assert_true(o.n < full.n);
        assert_true(o.n >= last);
        for (int i = 0; i < o.n; i++)
            assert_int_equal(o.stream[i], full.stream[i]);
        last = o.n;
        decoded_free(&o);
    }
    decoded_free(&full);
    free(b.p);
}

static void test_truncated_everywhere(void **state)
{
    check_truncations("v5.resp", 1, 0, 997);
    check_truncations("v5lz4.resp", 1, 1, 1);
    check_truncations("v4.resp", 0, 0, 997);
}

/* Flip each bit of the first frames (everything before the large envelope):
 * the header CRC24 or the payload CRC32 must catch it. */
static void check_bit_flips(const char *name, int lz4)
{
    blob b = load(name);
    size_t hs = lz4 ? 8 : 6, end = 9;
    for (int i = 0; i < 3; i++) {
        size_t plen = (b.p[end] | (b.p[end + 1] << 8) | ((size_t)b.p[end + 2] << 16)) & 0x1FFFF;
        end += hs + plen + 4;
    }
    for (size_t pos = 9; pos < end; pos++) {
        for (int bit = 0; bit < 8; bit++) {
            b.p[pos] ^= (uint8_t)(1u << bit);
            decoded o;
            decode_capture(&b, end, 1, lz4, SIZE_MAX, &o);
            b.p[pos] ^= (uint8_t)(1u << bit);
            if (o.rc != -1)
                fail_msg("%s: flipping bit %d of byte %zu went unnoticed", name, bit, pos);
            assert_int_equal(o.err.code, CQL_E_PROTOCOL);
            assert_true(strstr(o.err.msg, "CRC24 mismatch") || strstr(o.err.msg, "CRC32 mismatch"));
            decoded_free(&o);
        }
    }
    free(b.p);
}

static void test_bit_flips_caught(void **state)
{
    check_bit_flips("v5.resp", 0);
    check_bit_flips("v5lz4.resp", 1);
}

/* ---- hand-made streams ------------------------------------------------------ */

static void put_envelope(cs_buf *s, int version, int16_t stream, uint8_t op, size_t body_len,
                         uint8_t fill)
{
    uint8_t h[CQL_ENVELOPE_HEADER_SIZE];
    cql_envelope_header_write(h, (uint8_t)(0x80 | version), 0, stream, op, (uint32_t)body_len);
    assert_int_equal(cs_buf_append(s, h, sizeof h), 0);
    uint8_t *p = cs_buf_extend(s, body_len);
    assert_true(p != NULL || body_len == 0);
    for (size_t i = 0; i < body_len; i++)
        p[i] = (uint8_t)(fill + i * 7 + i / 251);
}

/* Framed with our writer, decoded with our decoder, in many chunkings. */
static void test_roundtrip_large_and_small(void **state)
{
    for (int lz4 = 0; lz4 <= 1; lz4++) {
        cs_buf s, wire;
        cs_buf_init(&s, SIZE_MAX);
        cs_buf_init(&wire, SIZE_MAX);
        put_envelope(&s, 5, 1, CQL_OP_RESULT, 10, 1);
        put_envelope(&s, 5, 2, CQL_OP_RESULT, 300000, 2); /* 3 frames */
        put_envelope(&s, 5, 3, CQL_OP_RESULT, 0, 3);
        put_envelope(&s, 5, 4, CQL_OP_RESULT, CQL_V5_MAX_PAYLOAD - 9, 4); /* exactly one payload */
        put_envelope(&s, 5, 5, CQL_OP_RESULT, CQL_V5_MAX_PAYLOAD - 8, 5); /* one byte over */
        for (int i = 0; i < 40; i++)
            put_envelope(&s, 5, (int16_t)(6 + i), CQL_OP_RESULT, 3000, (uint8_t)i);
        assert_int_equal(cql_v5_frames_write(&wire, s.data, s.len, lz4, NULL), 0);
        static const size_t chunks[] = {3, 1000, 65536, SIZE_MAX};
        for (size_t c = 0; c < 4; c++) {
            cql_decoder d;
            cql_decoder_init(&d, 1 << 20);
            cql_decoder_set_v5(&d, lz4);
            size_t off = 0, soff = 0;
            int got = 0;
            while (off < wire.len) {
                size_t k = wire.len - off < chunks[c] ? wire.len - off : chunks[c];
                assert_int_equal(cql_decoder_feed(&d, wire.data + off, k, NULL), 0);
                off += k;
                cql_envelope e;
                cql_error err;
                int rc;
                while ((rc = cql_decoder_next(&d, &e, &err)) == 1) {
                    assert_memory_equal(e.body, s.data + soff + 9, e.length);
                    assert_int_equal(e.length, cs_be32(s.data + soff + 5));
                    soff += 9 + e.length;
                    got++;
                }
                if (rc < 0)
                    fail_msg("chunk %zu lz4 %d: %s", chunks[c], lz4, err.msg);
            }
            assert_int_equal(got, 45);
            assert_int_equal(soff, s.len);
            cql_decoder_release(&d);
        }
        cs_buf_release(&s);
        cs_buf_release(&wire);
    }
}

/* Several envelopes of one self-contained frame come straight out of the
 * input buffer, without a copy per envelope. */
static void test_small_envelopes_in_place(void **state)
{
    cs_buf s, wire;
    cs_buf_init(&s, SIZE_MAX);
    cs_buf_init(&wire, SIZE_MAX);
    for (int i = 0; i < 300; i++)
        put_envelope(&s, 5, (int16_t)i, CQL_OP_RESULT, 200, (uint8_t)i);
    assert_int_equal(cql_v5_frames_write(&wire, s.data, s.len, 0, NULL), 0);
    cql_decoder d;
    cql_decoder_init(&d, 1 << 20);
    cql_decoder_set_v5(&d, 0);
    assert_int_equal(cql_decoder_feed(&d, wire.data, wire.len, NULL), 0);
    cql_envelope e;
    int n = 0;
    while (cql_decoder_next(&d, &e, NULL) == 1) {
        assert_true(e.body >= d.raw.data && e.body + e.length <= d.raw.data + d.raw.len);
        n++;
    }
    assert_int_equal(n, 300);
    assert_int_equal(d.env.cap, 0); /* nothing was gathered */
    cql_decoder_release(&d);
    cs_buf_release(&s);
    cs_buf_release(&wire);
}

/* A long stream read 64 KiB at a time keeps the buffers small. */
static void test_buffers_stay_bounded(void **state)
{
    for (int v5 = 0; v5 <= 1; v5++) {
        cs_buf s, wire;
        cs_buf_init(&s, SIZE_MAX);
        cs_buf_init(&wire, SIZE_MAX);
        for (int i = 0; i < 2000; i++)
            put_envelope(&s, v5 ? 5 : 4, (int16_t)(i & 0x7FFF), CQL_OP_RESULT, 100 + i % 900,
                         (uint8_t)i);
        if (v5)
            assert_int_equal(cql_v5_frames_write(&wire, s.data, s.len, 0, NULL), 0);
        else
            assert_int_equal(cs_buf_append(&wire, s.data, s.len), 0);
        cql_decoder d;
        cql_decoder_init(&d, 1 << 20);
        if (v5)
            cql_decoder_set_v5(&d, 0);
        int n = 0;
        for (int round = 0; round < 10; round++) {
            for (size_t off = 0; off < wire.len; off += 65536) {
                size_t k = wire.len - off < 65536 ? wire.len - off : 65536;
                assert_int_equal(cql_decoder_feed(&d, wire.data + off, k, NULL), 0);
                cql_envelope e;
                while (cql_decoder_next(&d, &e, NULL) == 1)
                    n++;
            }
        }
        assert_int_equal(n, 20000);
        assert_true(d.raw.cap <= 4 * 65536 + 4 * CQL_V5_MAX_PAYLOAD);
        cql_decoder_release(&d);
        cs_buf_release(&s);
        cs_buf_release(&wire);
    }
}

static void test_oversized_lengths(void **state)
{
    cql_decoder d;
    cql_error err;
    cql_envelope e;
    /* v4: a body length over max_body fails at the header. */
    uint8_t h[9];
    cql_envelope_header_write(h, 0x84, 0, 1, CQL_OP_RESULT, 0x7FFFFFFF);
    cql_decoder_init(&d, 1 << 20);
    assert_int_equal(cql_decoder_feed(&d, h, 9, NULL), 0);
    assert_int_equal(cql_decoder_next(&d, &e, &err), -1);
    assert_int_equal(err.code, CQL_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "exceeds"));
    assert_true(d.raw.cap < 4096);
    /* stays failed */
    assert_int_equal(cql_decoder_next(&d, &e, &err), -1);
    assert_int_equal(cql_decoder_feed(&d, h, 9, &err), -1);
    cql_decoder_release(&d);

    /* v5: a large envelope announcing more than max_body, in a
     * non-self-contained frame: rejected before its body is gathered. */
    cs_buf wire;
    cs_buf_init(&wire, SIZE_MAX);
    uint8_t part[1000] = {0};
    cql_envelope_header_write(part, 0x85, 0, 1, CQL_OP_RESULT, 200u << 20);
    assert_int_equal(cql_v5_frame_write(&wire, part, sizeof part, 0, 0, NULL), 0);
    cql_decoder_init(&d, 1 << 20);
    cql_decoder_set_v5(&d, 0);
    assert_int_equal(cql_decoder_feed(&d, wire.data, wire.len, NULL), 0);
    assert_int_equal(cql_decoder_next(&d, &e, &err), -1);
    assert_non_null(strstr(err.msg, "exceeds"));
    assert_true(d.env.cap < 8192);
    cql_decoder_release(&d);

    /* v4 LZ4 body announcing a huge uncompressed length. */
    cs_buf_reset(&wire);
    uint8_t body[16] = {0x7F, 0xFF, 0xFF, 0xFF, 0x00};
    cql_envelope_header_write(h, 0x84, CQL_FLAG_COMPRESSION, 1, CQL_OP_RESULT, sizeof body);
    cs_buf_append(&wire, h, 9);
    cs_buf_append(&wire, body, sizeof body);
    cql_decoder_init(&d, 1 << 20);
    cql_decoder_set_v4_lz4(&d, 1);
    assert_int_equal(cql_decoder_feed(&d, wire.data, wire.len, NULL), 0);
    assert_int_equal(cql_decoder_next(&d, &e, &err), -1);
    assert_non_null(strstr(err.msg, "limit"));
    assert_true(d.scratch.cap < 4096);
    cql_decoder_release(&d);
    cs_buf_release(&wire);

    /* The writer refuses payloads over the frame limit. */
    cs_buf_init(&wire, SIZE_MAX);
    static uint8_t big[CQL_V5_MAX_PAYLOAD + 1];
    assert_int_equal(cql_v5_frame_write(&wire, big, sizeof big, 1, 0, &err), -1);
    assert_int_equal(wire.len, 0);
    cs_buf_release(&wire);
}

/* Write one LZ4 frame by hand with a chosen announced uncompressed length. */
static void lz4_frame_with_ulen(cs_buf *out, const uint8_t *p, size_t n, size_t ulen)
{
    char comp[4096];
    int c = LZ4_compress_default((const char *)p, comp, (int)n, sizeof comp);
    assert_true(c > 0 && (size_t)c < n);
    uint64_t fields = (uint64_t)c | ((uint64_t)ulen << 17) | (1ull << 34);
    uint8_t h[8];
    for (int i = 0; i < 5; i++)
        h[i] = (uint8_t)(fields >> (8 * i));
    uint32_t crc = cql_crc24(h, 5);
    h[5] = (uint8_t)crc;
    h[6] = (uint8_t)(crc >> 8);
    h[7] = (uint8_t)(crc >> 16);
    cs_buf_append(out, h, 8);
    cs_buf_append(out, comp, (size_t)c);
    uint32_t c32 = cql_crc32((const uint8_t *)comp, (size_t)c);
    uint8_t t[4] = {(uint8_t)c32, (uint8_t)(c32 >> 8), (uint8_t)(c32 >> 16), (uint8_t)(c32 >> 24)};
    cs_buf_append(out, t, 4);
}

static void test_lz4_wrong_length(void **state)
{
    cs_buf s;
    cs_buf_init(&s, SIZE_MAX);
    put_envelope(&s, 5, 1, CQL_OP_RESULT, 0, 0);
    uint8_t *z = cs_buf_extend(&s, 2000);
    memset(z, 'a', 2000);
    cs_put_be32(s.data + 5, 2000);
    const long deltas[] = {0, -1, 1, -100, 5000};
    for (size_t i = 0; i < sizeof deltas / sizeof deltas[0]; i++) {
        cs_buf wire;
        cs_buf_init(&wire, SIZE_MAX);
        lz4_frame_with_ulen(&wire, s.data, s.len, (size_t)((long)s.len + deltas[i]));
        cql_decoder d;
        cql_decoder_init(&d, 1 << 20);
        cql_decoder_set_v5(&d, 1);
        cql_envelope e;
        cql_error err;
        assert_int_equal(cql_decoder_feed(&d, wire.data, wire.len, NULL), 0);
        int rc = cql_decoder_next(&d, &e, &err);
        if (deltas[i] == 0) {
            assert_int_equal(rc, 1);
            assert_int_equal(e.length, 2000);
        } else {
            assert_int_equal(rc, -1);
            assert_int_equal(err.code, CQL_E_PROTOCOL);
            assert_non_null(strstr(err.msg, "LZ4"));
        }
        cql_decoder_release(&d);
        cs_buf_release(&wire);
    }
    cs_buf_release(&s);
}

static void test_garbage_after_frame(void **state)
{
    blob b = load("v5.resp");
    size_t first = 9 + 6 + 579 + 4; /* READY + the first frame */
    const uint8_t garbage[] = {0xde, 0xad, 0xbe, 0xef, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55};
    uint8_t *p = malloc(first + sizeof garbage);
    memcpy(p, b.p, first);
    memcpy(p + first, garbage, sizeof garbage);
    blob g = {p, first + sizeof garbage};
    decoded o;
    decode_capture(&g, g.n, 1, 0, SIZE_MAX, &o);
    assert_int_equal(o.rc, -1);
    assert_int_equal(o.n, 1 + 4); /* READY, then the 4 envelopes of the first frame */
    assert_non_null(strstr(o.err.msg, "CRC24 mismatch: computed 0x"));
    decoded_free(&o);
    /* Fewer bytes than a header: just wait. */
    decode_capture(&g, first + 3, 1, 0, SIZE_MAX, &o);
    assert_int_equal(o.rc, 0);
    decoded_free(&o);
    /* v4: garbage is a bad version or opcode or length. */
    cql_decoder d;
    cql_decoder_init(&d, 1 << 20);
    cql_envelope e;
    cql_error err;
    assert_int_equal(cql_decoder_feed(&d, garbage, sizeof garbage, NULL), 0);
    assert_int_equal(cql_decoder_next(&d, &e, &err), -1);
    assert_int_equal(err.code, CQL_E_PROTOCOL);
    cql_decoder_release(&d);
    free(p);
    free(b.p);
}

/* A self-contained frame that ends inside an envelope, or arrives while a
 * large envelope is incomplete, is a protocol error. */
static void test_frame_structure_errors(void **state)
{
    cs_buf s, wire;
    cs_buf_init(&s, SIZE_MAX);
    cs_buf_init(&wire, SIZE_MAX);
    put_envelope(&s, 5, 1, CQL_OP_RESULT, 100, 0);
    assert_int_equal(cql_v5_frame_write(&wire, s.data, s.len - 1, 1, 0, NULL), 0);
    cql_decoder d;
    cql_envelope e;
    cql_error err;
    cql_decoder_init(&d, 1 << 20);
    cql_decoder_set_v5(&d, 0);
    cql_decoder_feed(&d, wire.data, wire.len, NULL);
    assert_int_equal(cql_decoder_next(&d, &e, &err), -1);
    assert_non_null(strstr(err.msg, "ends inside an envelope"));
    cql_decoder_release(&d);

    cs_buf_reset(&wire);
    assert_int_equal(cql_v5_frame_write(&wire, s.data, 50, 0, 0, NULL), 0);
    assert_int_equal(cql_v5_frame_write(&wire, s.data, s.len, 1, 0, NULL), 0);
    cql_decoder_init(&d, 1 << 20);
    cql_decoder_set_v5(&d, 0);
    cql_decoder_feed(&d, wire.data, wire.len, NULL);
    assert_int_equal(cql_decoder_next(&d, &e, &err), -1);
    assert_non_null(strstr(err.msg, "still incomplete"));
    cql_decoder_release(&d);

    /* Unframed bytes that do not end in whole envelopes cannot be framed. */
    cs_buf_reset(&wire);
    assert_int_equal(cql_v5_frames_write(&wire, s.data, s.len - 1, 0, &err), -1);
    assert_int_equal(err.code, CQL_E_USAGE);
    assert_int_equal(wire.len, 0);
    cs_buf_release(&s);
    cs_buf_release(&wire);
}

static void test_v4_lz4(void **state)
{
    uint8_t body[5000];
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (uint8_t)(i % 13);
    cs_buf c, wire;
    cs_buf_init(&c, SIZE_MAX);
    cs_buf_init(&wire, SIZE_MAX);
    assert_int_equal(cql_v4_compress(&c, body, sizeof body, NULL), 0);
    assert_int_equal(cs_be32(c.data), sizeof body);
    assert_true(c.len < sizeof body);
    /* decompress round trip, and the exact-length rule */
    cs_buf out;
    cs_buf_init(&out, SIZE_MAX);
    assert_int_equal(cql_v4_decompress(&out, c.data, c.len, 1 << 20, NULL), 0);
    assert_memory_equal(out.data, body, sizeof body);
    cql_error err;
    cs_put_be32(c.data, sizeof body + 1);
    cs_buf_reset(&out);
    assert_int_equal(cql_v4_decompress(&out, c.data, c.len, 1 << 20, &err), -1);
    assert_int_equal(cql_v4_decompress(&out, c.data, 3, 1 << 20, &err), -1);
    cs_put_be32(c.data, sizeof body);
    /* through the decoder */
    uint8_t h[9];
    cql_envelope_header_write(h, 0x84, CQL_FLAG_COMPRESSION | CQL_FLAG_WARNING, 7, CQL_OP_RESULT,
                              (uint32_t)c.len);
    cs_buf_append(&wire, h, 9);
    cs_buf_append(&wire, c.data, c.len);
    cql_decoder d;
    cql_decoder_init(&d, 1 << 20);
    cql_decoder_feed(&d, wire.data, wire.len, NULL);
    cql_envelope e;
    assert_int_equal(cql_decoder_next(&d, &e, &err), -1); /* not negotiated */
    cql_decoder_release(&d);
    cql_decoder_init(&d, 1 << 20);
    cql_decoder_set_v4_lz4(&d, 1);
    cql_decoder_feed(&d, wire.data, wire.len, NULL);
    assert_int_equal(cql_decoder_next(&d, &e, &err), 1);
    assert_int_equal(e.flags, CQL_FLAG_WARNING);
    assert_int_equal(e.length, sizeof body);
    assert_memory_equal(e.body, body, sizeof body);
    assert_int_equal(cql_decoder_next(&d, &e, &err), 0);
    cql_decoder_release(&d);
    /* An empty compressed body (found by fuzz_decoder: the empty output
     * buffer had no address yet) decodes to an empty body. */
    cs_buf_reset(&c);
    cs_buf_reset(&wire);
    assert_int_equal(cql_v4_compress(&c, body, 0, NULL), 0);
    cql_envelope_header_write(h, 0x84, CQL_FLAG_COMPRESSION, 8, CQL_OP_READY, (uint32_t)c.len);
    cs_buf_append(&wire, h, 9);
    cs_buf_append(&wire, c.data, c.len);
    cql_decoder_init(&d, 1 << 20);
    cql_decoder_set_v4_lz4(&d, 1);
    cql_decoder_feed(&d, wire.data, wire.len, NULL);
    assert_int_equal(cql_decoder_next(&d, &e, &err), 1);
    assert_int_equal(e.length, 0);
    assert_non_null(e.body);
    cql_decoder_release(&d);
    cs_buf_release(&c);
    cs_buf_release(&out);
    cs_buf_release(&wire);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_envelope_header),
        cmocka_unit_test(test_crc_vectors),
        cmocka_unit_test(test_capture_crcs),
        cmocka_unit_test(test_requests_match_capture),
        cmocka_unit_test(test_decode_captures),
        cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_bit_flips_caught),
        cmocka_unit_test(test_roundtrip_large_and_small),
        cmocka_unit_test(test_small_envelopes_in_place),
        cmocka_unit_test(test_buffers_stay_bounded),
        cmocka_unit_test(test_oversized_lengths),
        cmocka_unit_test(test_lz4_wrong_length),
        cmocka_unit_test(test_garbage_after_frame),
        cmocka_unit_test(test_frame_structure_errors),
        cmocka_unit_test(test_v4_lz4),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
