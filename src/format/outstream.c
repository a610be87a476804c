/* Compressing output stream (outstream.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "format/outstream.h"

#define OUT_CHUNK ((size_t)1 << 18)

struct fmt_out {
    FILE *f;
    fmt_compression c;
    int64_t bytes;          /* handed to f */
    int open_member;        /* bytes went in since the last member ended */
    z_stream z;
    int z_ready;
    ZSTD_CCtx *zc;
    unsigned char *buf;     /* compressed output, OUT_CHUNK bytes */
};

fmt_compression fmt_compression_of_name(const char *path)
{
    size_t n = strlen(path);
    if (n >= 3 && !strcmp(path + n - 3, ".gz"))
        return FMT_COMP_GZIP;
    if ((n >= 4 && !strcmp(path + n - 4, ".zst")) || (n >= 5 && !strcmp(path + n - 5, ".zstd")))
        return FMT_COMP_ZSTD;
    return FMT_COMP_NONE;
}

const char *fmt_compression_name(fmt_compression c)
{
    return c == FMT_COMP_GZIP ? "gzip" : c == FMT_COMP_ZSTD ? "zstd" : "none";
}

int fmt_compression_available(fmt_compression c)
{
    return c == FMT_COMP_NONE || c == FMT_COMP_GZIP || c == FMT_COMP_ZSTD;
}

static int put(fmt_out *o, const void *p, size_t n)
{
    if (n && fwrite(p, 1, n, o->f) != n) {
        if (!errno)
            errno = EIO;
        return -1;
    }
    o->bytes += (int64_t)n;
    return 0;
}

fmt_out *fmt_out_open(FILE *f, fmt_compression c, char *err, size_t errlen)
{
    fmt_out *o = calloc(1, sizeof *o);
    if (!o || (c != FMT_COMP_NONE && !(o->buf = malloc(OUT_CHUNK)))) {
        free(o);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    o->f = f;
    o->c = c;
    if (c == FMT_COMP_ZSTD) {
        o->zc = ZSTD_createCCtx();
        if (!o->zc || ZSTD_isError(ZSTD_CCtx_setParameter(o->zc, ZSTD_c_compressionLevel, 3))) {
            snprintf(err, errlen, "cannot start zstd compression");
            fmt_out_close(o);
            return NULL;
        }
    }
    return o;
}

/* gzip: deflate with a gzip header, level 6 (gzip's default); a member
 * starts at the first byte after the previous one ended. */
static int gz_start(fmt_out *o)
{
    if (o->z_ready)
        return deflateReset(&o->z) == Z_OK ? 0 : -1;
    memset(&o->z, 0, sizeof o->z);
    if (deflateInit2(&o->z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    o->z_ready = 1;
    return 0;
}

static int gz_run(fmt_out *o, const void *p, size_t n, int flush)
{
    o->z.next_in = (Bytef *)(uintptr_t)p;
    o->z.avail_in = (uInt)n;
    int r;
    do {
        o->z.next_out = o->buf;
        o->z.avail_out = (uInt)OUT_CHUNK;
        r = deflate(&o->z, flush);
        if (r == Z_STREAM_ERROR)
            return errno = EIO, -1;
        if (put(o, o->buf, OUT_CHUNK - o->z.avail_out))
            return -1;
    } while (o->z.avail_out == 0 || (flush == Z_FINISH && r != Z_STREAM_END));
    return 0;
}

static int zs_run(fmt_out *o, const void *p, size_t n, ZSTD_EndDirective end)
{
    ZSTD_inBuffer in = {p, n, 0};
    for (;;) {
        ZSTD_outBuffer out = {o->buf, OUT_CHUNK, 0};
        size_t left = ZSTD_compressStream2(o->zc, &out, &in, end);
        if (ZSTD_isError(left))
            return errno = EIO, -1;
        if (put(o, o->buf, out.pos))
            return -1;
        if (end == ZSTD_e_continue ? in.pos == in.size : left == 0)
            return 0;
    }
}

int fmt_out_write(fmt_out *o, const void *p, size_t n)
{
    if (!n)
        return 0;
    if (o->c == FMT_COMP_NONE)
        return put(o, p, n);
    if (!o->open_member && o->c == FMT_COMP_GZIP && gz_start(o))
        return errno = ENOMEM, -1;
    o->open_member = 1;
    while (n) {     /* avail_in is 32 bits */
        size_t k = n > ((size_t)1 << 30) ? (size_t)1 << 30 : n;
        if (o->c == FMT_COMP_GZIP ? gz_run(o, p, k, Z_NO_FLUSH) : zs_run(o, p, k, ZSTD_e_continue))
            return -1;
        p = (const char *)p + k;
        n -= k;
    }
    return 0;
}

int fmt_out_end_member(fmt_out *o)
{
    if (o->c == FMT_COMP_NONE || !o->open_member)
        return 0;
    o->open_member = 0;
    return o->c == FMT_COMP_GZIP ? gz_run(o, NULL, 0, Z_FINISH) : zs_run(o, NULL, 0, ZSTD_e_end);
}

int64_t fmt_out_bytes(const fmt_out *o) { return o->bytes; }

int fmt_out_close(fmt_out *o)
{
    if (!o)
        return 0;
    int rc = fmt_out_end_member(o);
    if (o->z_ready)
        deflateEnd(&o->z);
    ZSTD_freeCCtx(o->zc);
    free(o->buf);
    free(o);
    return rc;
}
