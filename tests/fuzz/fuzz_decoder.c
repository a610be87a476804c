/* libFuzzer target: the incremental decoder on arbitrary bytes, cut into
 * arbitrary chunks, in v4, v4+LZ4, v5 and v5+LZ4 modes.
 *
 * Input: byte 0 picks the mode and a chunking seed; the rest is the stream.
 * Modes 0-3 feed the bytes as they are (v5 garbage mostly dies at the
 * header CRC24, which is itself worth testing). Modes 4-7 build frames with
 * valid CRCs around fuzzer-chosen payloads, so the envelope parsing behind
 * the CRCs gets exercised too:
 *   segment = [kind byte][2-byte length][payload]
 *   kind bit 0: self-contained; bit 1 (LZ4 modes): payload is taken as
 *   compressed bytes, announced with the uncompressed length in the next
 *   2 bytes, so corrupt LZ4 data and wrong lengths reach the decompressor. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cql/frame.h"

#define MAX_BODY (1u << 20)

/* Touch every byte handed out, so ASan sees any out-of-bounds body. */
static void drain(cql_decoder *d, int *dead)
{
    for (;;) {
        cql_envelope e;
        cql_error err;
        int rc = cql_decoder_next(d, &e, &err);
        if (rc < 0) {
            if (err.code != CQL_E_PROTOCOL && err.code != CQL_E_NOMEM)
                abort();
            *dead = 1;
            return;
        }
        if (rc == 0)
            return;
        if (e.length > MAX_BODY)
            abort();
        volatile uint8_t sink = 0;
        for (uint32_t i = 0; i < e.length; i++)
            sink ^= e.body[i];
        (void)sink;
    }
}

static void put_le(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* An LZ4 frame whose payload is `p` as is, announcing `ulen`. */
static void raw_lz4_frame(cs_buf *w, const uint8_t *p, size_t n, size_t ulen, int sc)
{
    uint8_t h[8];
    put_le(h, (uint64_t)n | ((uint64_t)ulen << 17) | ((uint64_t)(sc ? 1 : 0) << 34), 5);
    put_le(h + 5, cql_crc24(h, 5), 3);
    uint8_t t[4];
    put_le(t, cql_crc32(p, n), 4);
    if (cs_buf_append(w, h, 8) || cs_buf_append(w, p, n) || cs_buf_append(w, t, 4))
        abort();
}

static void build_frames(cs_buf *w, const uint8_t *p, size_t n, int lz4)
{
    size_t off = 0;
    while (n - off >= 3) {
        uint8_t kind = p[off];
        size_t len = (size_t)p[off + 1] | ((size_t)p[off + 2] << 8);
        off += 3;
        size_t ulen = 0;
        if (lz4 && (kind & 2)) {
            if (n - off < 2)
                break;
            ulen = ((size_t)p[off] | ((size_t)p[off + 1] << 8)) & 0x1FFFF;
            off += 2;
        }
        if (len > n - off)
            len = n - off;
        if (lz4 && (kind & 2))
            raw_lz4_frame(w, p + off, len, ulen, kind & 1);
        else if (cql_v5_frame_write(w, p + off, len, kind & 1, lz4, NULL))
            abort();
        off += len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned mode = data[0] & 7;
    uint32_t seed = data[0] >> 3;
    data++;
    size--;
    cs_buf built;
    cs_buf_init(&built, SIZE_MAX);
    if (mode >= 4) {
        build_frames(&built, data, size, mode & 1);
        data = built.data;
        size = built.len;
    }
    cql_decoder d;
    cql_decoder_init(&d, MAX_BODY);
    if (mode & 2)
        cql_decoder_set_v5(&d, mode & 1);
    else
        cql_decoder_set_v4_lz4(&d, mode & 1);
    int dead = 0;
    size_t off = 0;
    while (off < size && !dead) {
        /* chunk sizes from a tiny LCG: 1 to 4096 bytes */
        seed = seed * 1103515245u + 12345u;
        size_t k = 1 + (seed >> 8) % (seed & 0x100 ? 4096 : 16);
        if (k > size - off)
            k = size - off;
        cql_error err;
        if (cql_decoder_feed(&d, data + off, k, &err))
            abort(); /* only a failed decoder refuses input, and we stop then */
        off += k;
        drain(&d, &dead);
    }
    cql_decoder_release(&d);
    cs_buf_release(&built);
    return 0;
}
