/* CQL envelopes (v4 "frames", v5 "envelopes") and the v5 outer framing.
 *
 * Envelope: 9-byte header (version, flags, int16 stream, opcode, int32 body
 * length) + body. In v4 the body may be LZ4-compressed (flag 0x01; body is
 * [uint32 BE uncompressed length][LZ4 block]).
 *
 * v5 framing (after the server answers READY or AUTHENTICATE): every byte
 * travels inside frames.
 *   uncompressed: 6-byte header = 3 bytes little-endian {payload length: 17
 *     bits, self-contained: 1 bit, padding} + CRC24 of those 3 bytes (3 bytes
 *     LE); payload; CRC32 of the payload (4 bytes LE).
 *   LZ4: 8-byte header = 5 bytes LE {compressed length: 17, uncompressed
 *     length: 17, self-contained: 1, padding} + CRC24 of those 5 bytes;
 *     compressed payload; CRC32 of the compressed payload. Uncompressed
 *     length 0 means the payload was stored uncompressed.
 * Payloads are at most 128 KiB - 1. A self-contained frame holds one or more
 * whole envelopes; a larger envelope is split across non-self-contained frames.
 * CRC24: polynomial 0x1974F0B, initial value 0x875060, bytes fed LSB first as
 * in Cassandra's Crc.java. CRC32: the zlib CRC32 after first feeding the four
 * bytes FA 2D 55 CA.
 */
#ifndef CQLSHIFT_CQL_FRAME_H
#define CQLSHIFT_CQL_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "cql/error.h"
#include "util/buf.h"

enum {
    CQL_OP_ERROR = 0x00,
    CQL_OP_STARTUP = 0x01,
    CQL_OP_READY = 0x02,
    CQL_OP_AUTHENTICATE = 0x03,
    CQL_OP_OPTIONS = 0x05,
    CQL_OP_SUPPORTED = 0x06,
    CQL_OP_QUERY = 0x07,
    CQL_OP_RESULT = 0x08,
    CQL_OP_PREPARE = 0x09,
    CQL_OP_EXECUTE = 0x0A,
    CQL_OP_REGISTER = 0x0B,
    CQL_OP_EVENT = 0x0C,
    CQL_OP_BATCH = 0x0D,
    CQL_OP_AUTH_CHALLENGE = 0x0E,
    CQL_OP_AUTH_RESPONSE = 0x0F,
    CQL_OP_AUTH_SUCCESS = 0x10,
};

enum {
    CQL_FLAG_COMPRESSION = 0x01,
    CQL_FLAG_TRACING = 0x02,
    CQL_FLAG_CUSTOM_PAYLOAD = 0x04,
    CQL_FLAG_WARNING = 0x08,
    CQL_FLAG_BETA = 0x10,
};

#define CQL_ENVELOPE_HEADER_SIZE 9
#define CQL_V5_MAX_PAYLOAD ((size_t)128 * 1024 - 1)
/* Cap on an accepted envelope body: the protocol ceiling (256 MiB). Cassandra
 * itself refuses requests over native_transport_max_frame_size, 16 MiB by default. */
#define CQL_DEFAULT_MAX_BODY ((size_t)256 * 1024 * 1024)

typedef struct cql_envelope {
    uint8_t version;   /* without the 0x80 response bit */
    uint8_t response;  /* 1 if the 0x80 bit was set */
    uint8_t flags;
    int16_t stream;
    uint8_t opcode;
    uint32_t length;   /* body length */
    const uint8_t *body; /* decoder-owned; valid until the next cql_decoder call */
} cql_envelope;

/* Write a 9-byte envelope header. */
void cql_envelope_header_write(uint8_t out[CQL_ENVELOPE_HEADER_SIZE], uint8_t version, uint8_t flags,
                               int16_t stream, uint8_t opcode, uint32_t body_len);

/* CRCs of the v5 framing (see the file comment). */
uint32_t cql_crc24(const uint8_t *p, size_t n);
uint32_t cql_crc32(const uint8_t *p, size_t n);

/* Append one v5 frame holding `n` (<= CQL_V5_MAX_PAYLOAD) payload bytes.
 * With lz4, the payload is compressed (stored uncompressed when that is not
 * smaller). 0, or -1 with err. */
int cql_v5_frame_write(cs_buf *out, const uint8_t *payload, size_t n, int self_contained, int lz4,
                       cql_error *err);

/* Append v5 frames for a whole envelope stream chunk that may exceed the
 * payload limit: if n <= limit, one self-contained frame; else envelopes
 * are packed into self-contained frames, and each envelope larger than one
 * payload goes alone into consecutive non-self-contained frames (Cassandra
 * reads such a run as exactly one envelope). `p` must hold whole envelopes
 * only (else CQL_E_USAGE, out unchanged). */
int cql_v5_frames_write(cs_buf *out, const uint8_t *p, size_t n, int lz4, cql_error *err);

/* LZ4 body (de)compression for protocol v4: [uint32 BE uncompressed length][block]. */
int cql_v4_compress(cs_buf *out, const uint8_t *p, size_t n, cql_error *err);
int cql_v4_decompress(cs_buf *out, const uint8_t *p, size_t n, size_t max, cql_error *err);

/* Incremental decoder for bytes read from a connection.
 * Feed it bytes as they arrive; take out complete envelopes. All sizes read
 * from the wire are checked against caps before memory is allocated, and
 * every CRC is verified; on any violation it fails with CQL_E_PROTOCOL and
 * stays failed (the connection must be closed). */
typedef struct cql_decoder {
    int v5;                 /* outer framing active */
    int lz4;                /* v5: frames are LZ4 frames; v4: decompress flagged bodies */
    int failed;
    size_t max_body;
    cs_buf raw;             /* bytes fed but not yet parsed into frames */
    size_t raw_off;
    cs_buf env;             /* envelope stream bytes (payloads of frames, or raw for v4) */
    size_t env_off;
    cs_buf scratch;         /* decompression output */
    /* Private: a verified self-contained v5 payload whose envelopes are
     * handed out in place (no copy into env). pay_src: 0 none, 1 in raw,
     * 2 in scratch; [pay_off, pay_end) is what is left of it; the frame
     * ends at raw offset frame_end. */
    int pay_src;
    size_t pay_off, pay_end, frame_end;
} cql_decoder;

void cql_decoder_init(cql_decoder *d, size_t max_body);
void cql_decoder_release(cql_decoder *d);
/* Switch on v5 framing (with or without LZ4) for all bytes fed from now on. */
void cql_decoder_set_v5(cql_decoder *d, int lz4);
/* Switch on v4 body decompression. */
void cql_decoder_set_v4_lz4(cql_decoder *d, int lz4);
/* Add bytes read from the socket. 0, or -1 with err. */
int cql_decoder_feed(cql_decoder *d, const uint8_t *p, size_t n, cql_error *err);
/* Take the next complete envelope: 1 and *out filled (out->body valid until
 * the next call on d), 0 if more bytes are needed, -1 on error. A compressed
 * v4 body is returned decompressed with the flag cleared. */
int cql_decoder_next(cql_decoder *d, cql_envelope *out, cql_error *err);

#endif
