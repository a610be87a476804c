/* CQL envelopes, v5 outer framing, and the incremental decoder.
 * Layouts and CRC parameters are described in frame.h; the CRCs follow
 * Cassandra's org.apache.cassandra.net.Crc. */
#include "cql/frame.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <lz4.h>
#include <string.h>
#include <zlib.h>

void cql_envelope_header_write(uint8_t out[CQL_ENVELOPE_HEADER_SIZE], uint8_t version, uint8_t flags,
                               int16_t stream, uint8_t opcode, uint32_t body_len)
{
    out[0] = version;
    out[1] = flags;
    cs_put_be16(out + 2, (uint16_t)stream);
    out[4] = opcode;
    cs_put_be32(out + 5, body_len);
}

/* ---- CRCs ---------------------------------------------------------------- */

#define CRC24_INIT 0x875060u
#define CRC24_POLY 0x1974F0Bu

/* Bytes are taken in the order given (the header is little-endian, so this
 * is "least significant byte first"), each byte's bits most significant
 * first into a 24-bit register, as Crc.crc24 does. Headers are 3 or 5
 * bytes, so the bitwise loop costs nothing worth a table. */
uint32_t cql_crc24(const uint8_t *p, size_t n)
{
    uint32_t crc = CRC24_INIT;
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint32_t)p[i] << 16;
        for (int b = 0; b < 8; b++) {
            crc <<= 1;
            if (crc & 0x1000000u)
                crc ^= CRC24_POLY;
        }
    }
    return crc & 0xFFFFFFu;
}

/* Cassandra seeds every frame CRC32 by first feeding these four bytes
 * (Crc.initialBytes), so a frame of all zeros does not checksum to zero. */
uint32_t cql_crc32(const uint8_t *p, size_t n)
{
    static const uint8_t seed[4] = {0xFA, 0x2D, 0x55, 0xCA};
    /* zlib's CRC-32 is the standard one (java.util.zip.CRC32, reflected
     * polynomial 0xEDB88320) and is several times faster than a byte table:
     * frames of a bulk load are checksummed at ~400 bytes a row. */
    return (uint32_t)crc32_z(crc32_z(0L, seed, sizeof seed), p, n);
}

/* ---- v5 frame writer ----------------------------------------------------- */

#define V5_HDR_CRC 6
#define V5_HDR_LZ4 8
#define V5_TRAILER 4

static void put_le(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Header fields go first, then their CRC24, both little-endian. */
static void frame_header_put(uint8_t *h, uint64_t fields, size_t nfield)
{
    put_le(h, fields, nfield);
    put_le(h + nfield, cql_crc24(h, nfield), 3);
}

int cql_v5_frame_write(cs_buf *out, const uint8_t *payload, size_t n, int self_contained, int lz4,
                       cql_error *err)
{
    if (n > CQL_V5_MAX_PAYLOAD)
        return cql_fail(err, CQL_E_USAGE, "v5 frame payload of %zu bytes exceeds the %zu-byte limit",
                        n, CQL_V5_MAX_PAYLOAD);
    size_t start = out->len;
    size_t hdr = lz4 ? V5_HDR_LZ4 : V5_HDR_CRC;
    size_t room = lz4 ? (size_t)LZ4_compressBound((int)n) : n;
    if (cs_buf_reserve(out, hdr + room + V5_TRAILER))
        return cql_fail(err, CQL_E_NOMEM, "output buffer limit reached while writing a v5 frame");
    uint8_t *h = out->data + start;
    uint8_t *body = h + hdr;
    size_t plen = n;
    uint64_t sc = self_contained ? 1 : 0;
    if (lz4) {
        int c = n ? LZ4_compress_default((const char *)payload, (char *)body, (int)n, (int)room) : 0;
        uint64_t ulen = 0;
        if (c > 0 && (size_t)c < n) {
            plen = (size_t)c;
            ulen = n;
        } else if (n) {
            /* Not smaller: stored as is, which uncompressed length 0 announces. */
            memcpy(body, payload, n);
        }
        frame_header_put(h, (uint64_t)plen | (ulen << 17) | (sc << 34), 5);
    } else {
        if (n)
            memcpy(body, payload, n);
        frame_header_put(h, (uint64_t)plen | (sc << 17), 3);
    }
    put_le(body + plen, cql_crc32(body, plen), 4);
    out->len = start + hdr + plen + V5_TRAILER;
    return 0;
}

/* Size of the whole envelope starting at p (n bytes available), or 0 if
 * the bytes do not start with a complete envelope. */
static size_t envelope_size_at(const uint8_t *p, size_t n)
{
    if (n < CQL_ENVELOPE_HEADER_SIZE)
        return 0;
    uint32_t body = cs_be32(p + 5);
    if ((size_t)body > n - CQL_ENVELOPE_HEADER_SIZE)
        return 0;
    return CQL_ENVELOPE_HEADER_SIZE + (size_t)body;
}

/* Small envelopes share self-contained frames; an envelope larger than one
 * payload travels alone in non-self-contained frames, because Cassandra
 * reads a non-self-contained sequence as exactly one envelope
 * (CQLMessageHandler's "large message"). */
int cql_v5_frames_write(cs_buf *out, const uint8_t *p, size_t n, int lz4, cql_error *err)
{
    size_t start = out->len;
    size_t group = 0, group_len = 0, off = 0;
    while (off < n) {
        size_t esz = envelope_size_at(p + off, n - off);
        if (!esz) {
            out->len = start;
            return cql_fail(err, CQL_E_USAGE,
                            "bytes to frame end inside an envelope at offset %zu of %zu", off, n);
        }
        if (group_len && group_len + esz > CQL_V5_MAX_PAYLOAD) {
            if (cql_v5_frame_write(out, p + group, group_len, 1, lz4, err))
                goto fail;
            group_len = 0;
        }
        if (esz > CQL_V5_MAX_PAYLOAD) {
            for (size_t o = 0; o < esz; o += CQL_V5_MAX_PAYLOAD) {
                size_t k = esz - o < CQL_V5_MAX_PAYLOAD ? esz - o : CQL_V5_MAX_PAYLOAD;
                if (cql_v5_frame_write(out, p + off + o, k, 0, lz4, err))
                    goto fail;
            }
        } else {
            if (!group_len)
                group = off;
            group_len += esz;
        }
        off += esz;
    }
    if (group_len && cql_v5_frame_write(out, p + group, group_len, 1, lz4, err))
        goto fail;
    return 0;
fail:
    out->len = start;
    return -1;
}

/* ---- v4 body compression -------------------------------------------------- */

int cql_v4_compress(cs_buf *out, const uint8_t *p, size_t n, cql_error *err)
{
    if (n > (size_t)LZ4_MAX_INPUT_SIZE)
        return cql_fail(err, CQL_E_USAGE, "body of %zu bytes is too large for LZ4", n);
    int bound = LZ4_compressBound((int)n);
    size_t start = out->len;
    if (cs_buf_reserve(out, 4 + (size_t)bound))
        return cql_fail(err, CQL_E_NOMEM, "output buffer limit reached while compressing a body");
    uint8_t *dst = out->data + start;
    int c = LZ4_compress_default((const char *)p, (char *)dst + 4, (int)n, bound);
    if (c <= 0)
        return cql_fail(err, CQL_E_ENCODE, "LZ4 compression of a %zu-byte body failed", n);
    cs_put_be32(dst, (uint32_t)n);
    out->len = start + 4 + (size_t)c;
    return 0;
}

/* Decompress one LZ4 block into exactly `want` bytes at dst; the block must
 * produce exactly that many bytes, no fewer. */
static int lz4_exact(uint8_t *dst, size_t want, const uint8_t *src, size_t n, const char *what,
                     cql_error *err)
{
    if (n > (size_t)INT_MAX)
        return cql_fail(err, CQL_E_PROTOCOL, "%s: compressed size %zu is too large", what, n);
    uint8_t dummy;
    int got = LZ4_decompress_safe((const char *)src, want ? (char *)dst : (char *)&dummy, (int)n,
                                  (int)want);
    if (got < 0)
        return cql_fail(err, CQL_E_PROTOCOL, "%s: corrupt LZ4 data (%zu compressed bytes)", what, n);
    if ((size_t)got != want)
        return cql_fail(err, CQL_E_PROTOCOL,
                        "%s: announced %zu uncompressed bytes but LZ4 data holds %d", what, want, got);
    return 0;
}

int cql_v4_decompress(cs_buf *out, const uint8_t *p, size_t n, size_t max, cql_error *err)
{
    if (n < 4)
        return cql_fail(err, CQL_E_PROTOCOL,
                        "compressed body of %zu bytes is too short for its length prefix", n);
    size_t want = cs_be32(p);
    if (want > max)
        return cql_fail(err, CQL_E_PROTOCOL,
                        "compressed body announces %zu uncompressed bytes, over the %zu-byte limit",
                        want, max);
    /* At least one byte, so an empty body still has a non-NULL address. */
    if (want > (size_t)INT_MAX || cs_buf_reserve(out, want ? want : 1))
        return cql_fail(err, CQL_E_NOMEM, "no room for a %zu-byte decompressed body", want);
    if (lz4_exact(out->data + out->len, want, p + 4, n - 4, "v4 compressed body", err))
        return -1;
    out->len += want;
    return 0;
}

/* ---- incremental decoder --------------------------------------------------- */

enum { PAY_NONE = 0, PAY_RAW = 1, PAY_SCRATCH = 2 };

static int dec_fail(cql_decoder *d, cql_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int dec_fail(cql_decoder *d, cql_error *err, const char *fmt, ...)
{
    d->failed = 1;
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        char msg[sizeof err->msg];
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        cql_fail(err, CQL_E_PROTOCOL, "%s", msg);
    }
    return -1;
}

void cql_decoder_init(cql_decoder *d, size_t max_body)
{
    memset(d, 0, sizeof *d);
    d->max_body = max_body;
    /* raw only ever holds what the caller fed and has not taken yet; the
     * wire lengths that could make it grow are checked against max_body as
     * soon as their header arrives. */
    cs_buf_init(&d->raw, SIZE_MAX);
    cs_buf_init(&d->env, max_body > SIZE_MAX - CQL_ENVELOPE_HEADER_SIZE
                             ? SIZE_MAX
                             : max_body + CQL_ENVELOPE_HEADER_SIZE);
    cs_buf_init(&d->scratch, SIZE_MAX);
}

void cql_decoder_release(cql_decoder *d)
{
    cs_buf_release(&d->raw);
    cs_buf_release(&d->env);
    cs_buf_release(&d->scratch);
    memset(d, 0, sizeof *d);
}

void cql_decoder_set_v5(cql_decoder *d, int lz4)
{
    d->v5 = 1;
    d->lz4 = lz4 ? 1 : 0;
}

void cql_decoder_set_v4_lz4(cql_decoder *d, int lz4)
{
    if (!d->v5)
        d->lz4 = lz4 ? 1 : 0;
}

/* Drop consumed input. Moving the unconsumed tail only when it is no larger
 * than what was consumed keeps the cost amortised O(1) per byte. */
static void dec_compact(cql_decoder *d)
{
    size_t used = d->raw_off, left = d->raw.len - d->raw_off;
    if (used == 0 || left > used)
        return;
    if (left)
        memmove(d->raw.data, d->raw.data + used, left);
    d->raw.len = left;
    d->raw_off = 0;
    if (d->pay_src == PAY_RAW) {
        d->pay_off -= used;
        d->pay_end -= used;
    }
    if (d->pay_src != PAY_NONE)
        d->frame_end -= used;
}

int cql_decoder_feed(cql_decoder *d, const uint8_t *p, size_t n, cql_error *err)
{
    if (d->failed)
        return cql_fail(err, CQL_E_PROTOCOL, "the connection's input already broke the protocol");
    dec_compact(d);
    if (cs_buf_append(&d->raw, p, n))
        return cql_fail(err, CQL_E_NOMEM, "no memory to buffer %zu received bytes", n);
    return 0;
}

/* Validate an envelope header; 0 or -1 with the sentence. */
static int envelope_header_check(cql_decoder *d, const uint8_t *h, cql_error *err)
{
    unsigned ver = h[0] & 0x7Fu;
    uint8_t op = h[4];
    uint32_t len = cs_be32(h + 5);
    if (d->v5 ? (ver < 5 || ver > 6) : (ver < 1 || ver > 6)) {
        /* Text where a header should be: another protocol on this port
         * (an HTTP server, the internode port...). */
        int text = 1;
        for (int i = 0; i < 9; i++)
            text &= h[i] >= 0x20 && h[i] < 0x7f;
        if (text)
            return dec_fail(d, err,
                            "the server answered with something that is not the CQL native "
                            "protocol (it begins with \"%.9s\"): is this Cassandra's CQL port "
                            "(9042 by default)?",
                            (const char *)h);
        return dec_fail(d, err,
                        "envelope with unexpected protocol version byte 0x%02x (is this "
                        "Cassandra's CQL port, 9042 by default?)",
                        h[0]);
    }
    if (op > CQL_OP_AUTH_SUCCESS || op == 0x04)
        return dec_fail(d, err, "envelope with unknown opcode 0x%02x", op);
    if ((size_t)len > d->max_body)
        return dec_fail(d, err, "envelope body of %u bytes exceeds the %zu-byte limit", len,
                        d->max_body);
    return 0;
}

static void envelope_fill(cql_envelope *out, const uint8_t *h)
{
    out->version = h[0] & 0x7F;
    out->response = (h[0] & 0x80) ? 1 : 0;
    out->flags = h[1];
    out->stream = (int16_t)cs_be16(h + 2);
    out->opcode = h[4];
    out->length = cs_be32(h + 5);
    out->body = h + CQL_ENVELOPE_HEADER_SIZE;
}

/* Turn a v4 compressed body into a plain one held in scratch. */
static int envelope_inflate(cql_decoder *d, cql_envelope *out, cql_error *err)
{
    cs_buf_reset(&d->scratch);
    if (cql_v4_decompress(&d->scratch, out->body, out->length, d->max_body, err)) {
        d->failed = 1;
        if (err)
            err->code = CQL_E_PROTOCOL;
        return -1;
    }
    out->body = d->scratch.data;
    out->length = (uint32_t)d->scratch.len;
    out->flags &= (uint8_t)~CQL_FLAG_COMPRESSION;
    return 0;
}

/* The envelope whose header is at h, with avail bytes there: 1 and out
 * filled when complete, 0 if more bytes are needed, -1 on a bad header. */
static int envelope_at(cql_decoder *d, const uint8_t *h, size_t avail, cql_envelope *out,
                       cql_error *err)
{
    if (avail < CQL_ENVELOPE_HEADER_SIZE)
        return 0;
    if (envelope_header_check(d, h, err))
        return -1;
    if (avail - CQL_ENVELOPE_HEADER_SIZE < (size_t)cs_be32(h + 5))
        return 0;
    envelope_fill(out, h);
    return 1;
}

/* v4 (and the unframed v5 handshake): envelopes straight from raw. */
static int next_unframed(cql_decoder *d, cql_envelope *out, cql_error *err)
{
    int rc = envelope_at(d, d->raw.data + d->raw_off, d->raw.len - d->raw_off, out, err);
    if (rc <= 0)
        return rc;
    d->raw_off += CQL_ENVELOPE_HEADER_SIZE + out->length;
    if ((out->flags & CQL_FLAG_COMPRESSION) && !d->v5) {
        if (!d->lz4)
            return dec_fail(d, err, "envelope on stream %d is compressed but no compression was "
                            "negotiated", out->stream);
        if (envelope_inflate(d, out, err))
            return -1;
    }
    return 1;
}

/* Next envelope of the self-contained payload being served: it must be
 * whole, since a self-contained frame holds whole envelopes only. */
static int next_from_payload(cql_decoder *d, cql_envelope *out, cql_error *err)
{
    const uint8_t *base = d->pay_src == PAY_RAW ? d->raw.data : d->scratch.data;
    size_t avail = d->pay_end - d->pay_off;
    int rc = envelope_at(d, base + d->pay_off, avail, out, err);
    if (rc == 0)
        return dec_fail(d, err, "self-contained frame ends inside an envelope (%zu bytes left in "
                        "the frame)", avail);
    if (rc > 0)
        d->pay_off += CQL_ENVELOPE_HEADER_SIZE + out->length;
    return rc;
}

/* Next complete envelope gathered in env from non-self-contained frames. */
static int next_from_env(cql_decoder *d, cql_envelope *out, cql_error *err)
{
    int rc = envelope_at(d, d->env.data + d->env_off, d->env.len - d->env_off, out, err);
    if (rc > 0)
        d->env_off += CQL_ENVELOPE_HEADER_SIZE + out->length;
    return rc;
}

/* Parse and verify the frame at raw_off. 1 when a frame was taken (its
 * payload is now being served, or appended to env), 0 if incomplete. */
static int take_frame(cql_decoder *d, cql_error *err)
{
    const uint8_t *f = d->raw.data + d->raw_off;
    size_t avail = d->raw.len - d->raw_off;
    size_t hdr = d->lz4 ? V5_HDR_LZ4 : V5_HDR_CRC;
    size_t nfield = hdr - 3;
    if (avail < hdr)
        return 0;
    uint64_t fields = get_le(f, nfield);
    uint32_t rx = (uint32_t)get_le(f + nfield, 3), crc = cql_crc24(f, nfield);
    if (rx != crc)
        return dec_fail(d, err, "frame header CRC24 mismatch: computed 0x%06x, received 0x%06x",
                        crc, rx);
    size_t plen = (size_t)(fields & 0x1FFFF);
    size_t ulen = d->lz4 ? (size_t)((fields >> 17) & 0x1FFFF) : 0;
    int sc = (int)((fields >> (d->lz4 ? 34 : 17)) & 1);
    if (plen > CQL_V5_MAX_PAYLOAD || ulen > CQL_V5_MAX_PAYLOAD)
        return dec_fail(d, err, "frame payload length %zu/%zu over the %zu-byte limit", plen, ulen,
                        CQL_V5_MAX_PAYLOAD);
    if (avail - hdr < plen + V5_TRAILER)
        return 0;
    const uint8_t *pay = f + hdr;
    uint32_t prx = (uint32_t)get_le(pay + plen, 4), pcrc = cql_crc32(pay, plen);
    if (prx != pcrc)
        return dec_fail(d, err, "frame payload CRC32 mismatch: computed 0x%08x, received 0x%08x "
                        "(%zu-byte payload)", pcrc, prx, plen);
    int src = PAY_RAW;
    size_t off = d->raw_off + hdr, end = off + plen;
    if (ulen) {
        cs_buf_reset(&d->scratch);
        if (cs_buf_reserve(&d->scratch, ulen))
            return cql_fail(err, CQL_E_NOMEM, "no memory for a %zu-byte frame payload", ulen);
        if (lz4_exact(d->scratch.data, ulen, pay, plen, "v5 LZ4 frame", err)) {
            d->failed = 1;
            return -1;
        }
        d->scratch.len = ulen;
        src = PAY_SCRATCH;
        off = 0;
        end = ulen;
    }
    size_t frame_end = d->raw_off + hdr + plen + V5_TRAILER;
    int pending = d->env_off < d->env.len;
    if (sc) {
        if (pending)
            return dec_fail(d, err, "self-contained frame arrived while a %zu-byte envelope was "
                            "still incomplete", d->env.len - d->env_off);
        d->pay_src = src;
        d->pay_off = off;
        d->pay_end = end;
        d->frame_end = frame_end;
        return 1;
    }
    /* Part of a large envelope: gather it in env. */
    if (!pending)
        d->env.len = d->env_off = 0;
    const uint8_t *part = (src == PAY_RAW ? d->raw.data : d->scratch.data) + off;
    size_t n = end - off;
    size_t had = d->env.len;
    if (n && cs_buf_append(&d->env, part, n)) {
        return dec_fail(d, err, "large envelope grows past the %zu-byte body limit", d->max_body);
    }
    d->raw_off = frame_end;
    /* Check the announced size as soon as the header is in, before the
     * rest of the body is gathered. */
    if (had < d->env_off + CQL_ENVELOPE_HEADER_SIZE &&
        d->env.len >= d->env_off + CQL_ENVELOPE_HEADER_SIZE &&
        envelope_header_check(d, d->env.data + d->env_off, err))
        return -1;
    return 1;
}

int cql_decoder_next(cql_decoder *d, cql_envelope *out, cql_error *err)
{
    if (d->failed)
        return cql_fail(err, CQL_E_PROTOCOL, "the connection's input already broke the protocol");
    if (!d->v5)
        return next_unframed(d, out, err);
    for (;;) {
        if (d->pay_src != PAY_NONE) {
            if (d->pay_off < d->pay_end)
                return next_from_payload(d, out, err);
            d->raw_off = d->frame_end;
            d->pay_src = PAY_NONE;
        }
        if (d->env_off < d->env.len) {
            int rc = next_from_env(d, out, err);
            if (rc)
                return rc;
        } else if (d->env.len) {
            d->env.len = d->env_off = 0;
        }
        int rc = take_frame(d, err);
        if (rc <= 0)
            return rc;
    }
}
