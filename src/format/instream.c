/* Decoded input streams: plain, gzip (zlib) or zstd bytes, converted to
 * UTF-8 by iconv when the file has another encoding. See instream.h. */
#include "format/instream.h"

#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define IN_BUF ((size_t)64 << 10)

typedef enum { COMP_NONE, COMP_GZIP, COMP_ZSTD } comp_kind;

struct instream {
    int fd, owns_fd;
    char label[256];
    comp_kind comp;
    /* raw bytes from the file: rbuf[rpos..rlen) not yet decompressed */
    unsigned char rbuf[IN_BUF];
    size_t rpos, rlen;
    int64_t raw_read;       /* bytes read from the file */
    int fd_eof;
    z_stream z;
    int z_init, z_end;      /* z_end: the last gzip member ended */
    ZSTD_DCtx *zd;
    size_t zs_last;         /* the last ZSTD_decompressStream result (0: frame complete) */
    int64_t dec_out;        /* decompressed bytes produced */
    /* conversion: dbuf[dpos..dlen) decompressed, not yet converted */
    iconv_t cd;
    int converting;
    char enc_name[64];
    char dbuf[IN_BUF];
    size_t dpos, dlen;
    char obuf[16];          /* converted bytes that did not fit a small read */
    size_t opos, olen;
    int dec_eof;            /* the decompressed stream ended */
    int64_t out;            /* decoded (output) bytes handed out */
    int64_t out_lines;      /* '\n' in them (converting only) */
    /* a fault after some bytes were handed out: reported by the next read
     * (dec_failed: of the decompressor; conv_failed: of the conversion) */
    int pending, dec_failed, conv_failed;
    instream_errc code;
    char msg[512];
};

static long fail(instream *s, instream_errc code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static long fail(instream *s, instream_errc code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->msg, sizeof s->msg, fmt, ap);
    va_end(ap);
    s->code = code;
    return -1;
}

static int has_suffix(const char *name, const char *suf)
{
    size_t n = strlen(name), m = strlen(suf);
    return n > m && !strcasecmp(name + n - m, suf);
}

int instream_compressed_name(const char *name, size_t *stem_len)
{
    static const char *const sufs[] = {".gz", ".zst", ".zstd"};
    for (size_t i = 0; i < sizeof sufs / sizeof *sufs; i++)
        if (has_suffix(name, sufs[i])) {
            if (stem_len)
                *stem_len = strlen(name) - strlen(sufs[i]);
            return 1;
        }
    if (stem_len)
        *stem_len = strlen(name);
    return 0;
}

/* Read more raw bytes after the unread ones. 1 read some, 0 EOF, -1 error. */
static int raw_more(instream *s)
{
    if (s->rpos > 0) {
        memmove(s->rbuf, s->rbuf + s->rpos, s->rlen - s->rpos);
        s->rlen -= s->rpos;
        s->rpos = 0;
    }
    if (s->fd_eof || s->rlen == sizeof s->rbuf)
        return 0;
    for (;;) {
        ssize_t k = read(s->fd, s->rbuf + s->rlen, sizeof s->rbuf - s->rlen);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return (int)fail(s, INSTREAM_E_OPEN, "cannot read %s: %s", s->label, strerror(errno));
        if (k == 0) {
            s->fd_eof = 1;
            return 0;
        }
        s->rlen += (size_t)k;
        s->raw_read += k;
        return 1;
    }
}

/* Offset in the file of the next raw byte the decompressor takes. */
static int64_t raw_offset(const instream *s)
{
    return s->raw_read - (int64_t)(s->rlen - s->rpos);
}

static long data_fault(instream *s, const char *what, const char *detail)
{
    return fail(s, INSTREAM_E_DATA,
                "%s: %s at compressed byte %" PRId64 " (decompressed byte %" PRId64 ")%s%s",
                s->label, what, raw_offset(s), s->dec_out, detail ? ": " : "",
                detail ? detail : "");
}

/* Damaged compressed data: the bytes decoded before the fault may be
 * wrong as well (gzip's check covers a whole member, read at its end). */
static long corrupt_fault(instream *s, const char *what, const char *detail)
{
    return fail(s, INSTREAM_E_DATA,
                "%s: %s at compressed byte %" PRId64 " (decompressed byte %" PRId64 "): %s; "
                "the rows read before it may hold damaged values too (damaged data can decode "
                "to wrong bytes before a check fails): load a good copy of the file again",
                s->label, what, raw_offset(s), s->dec_out, detail);
}

/* Decompressed bytes into out[0..cap): count, 0 at the end, -1 on error. */
static long decompress(instream *s, char *out, size_t cap)
{
    if (s->dec_failed)
        return -1;
    if (s->comp == COMP_NONE) {
        if (s->rpos < s->rlen) {
            size_t k = s->rlen - s->rpos < cap ? s->rlen - s->rpos : cap;
            memcpy(out, s->rbuf + s->rpos, k);
            s->rpos += k;
            s->dec_out += (int64_t)k;
            return (long)k;
        }
        if (s->fd_eof)
            return 0;
        for (;;) {
            ssize_t k = read(s->fd, out, cap);
            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0)
                return fail(s, INSTREAM_E_OPEN, "cannot read %s: %s", s->label, strerror(errno));
            if (k == 0)
                s->fd_eof = 1;
            s->raw_read += k;
            s->dec_out += k;
            return (long)k;
        }
    }
    if (s->comp == COMP_GZIP) {
        for (;;) {
            if (s->z_end) {
                /* another member follows, or the end */
                if (s->rpos == s->rlen && raw_more(s) < 0)
                    return -1;
                if (s->rpos == s->rlen)
                    return 0;
                if (inflateReset(&s->z) != Z_OK)
                    return data_fault(s, "cannot restart gzip decoding", NULL);
                s->z_end = 0;
            }
            if (s->rpos == s->rlen && raw_more(s) < 0)
                return -1;
            s->z.next_in = s->rbuf + s->rpos;
            s->z.avail_in = (uInt)(s->rlen - s->rpos);
            s->z.next_out = (Bytef *)out;
            s->z.avail_out = (uInt)cap;
            int rc = inflate(&s->z, Z_NO_FLUSH);
            size_t took = (size_t)(s->rlen - s->rpos) - s->z.avail_in;
            size_t made = cap - s->z.avail_out;
            if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT || rc == Z_STREAM_ERROR) {
                if (made) { /* hand out what came before; fault next time */
                    s->dec_out += (int64_t)made;
                    s->rpos += took;
                    corrupt_fault(s, "corrupt gzip data", s->z.msg ? s->z.msg : "invalid data");
                    s->pending = s->dec_failed = 1;
                    return (long)made;
                }
                return corrupt_fault(s, "corrupt gzip data",
                                     s->z.msg ? s->z.msg : "invalid data");
            }
            if (rc == Z_MEM_ERROR)
                return fail(s, INSTREAM_E_NOMEM, "out of memory decompressing %s", s->label);
            s->rpos += took;
            s->dec_out += (int64_t)made;
            if (rc == Z_STREAM_END)
                s->z_end = 1;
            if (made)
                return (long)made;
            if (rc == Z_STREAM_END)
                continue;
            if (s->rpos == s->rlen && s->fd_eof)
                return data_fault(s, "the gzip data ends early (a truncated file?)", NULL);
        }
    }
    /* zstd */
    for (;;) {
        if (s->rpos == s->rlen && raw_more(s) < 0)
            return -1;
        if (s->rpos == s->rlen && s->fd_eof && s->zs_last == 0)
            return 0; /* the last frame ended with the data */
        ZSTD_inBuffer in = {s->rbuf + s->rpos, s->rlen - s->rpos, 0};
        ZSTD_outBuffer ob = {out, cap, 0};
        size_t rc = ZSTD_decompressStream(s->zd, &ob, &in);
        if (ZSTD_isError(rc))
            return corrupt_fault(s, "corrupt zstd data", ZSTD_getErrorName(rc));
        s->rpos += in.pos;
        s->dec_out += (int64_t)ob.pos;
        s->zs_last = rc;
        if (ob.pos)
            return (long)ob.pos;
        if (s->rpos == s->rlen && s->fd_eof) {
            if (rc != 0)
                return data_fault(s, "the zstd data ends early (a truncated file?)", NULL);
            return 0;
        }
    }
}

/* A UTF-8 encoding name: no conversion needed. */
static int is_utf8_name(const char *e)
{
    return !strcasecmp(e, "utf-8") || !strcasecmp(e, "utf8");
}

instream *instream_open(const char *path, const char *label, const char *encoding,
                        instream_errc *code, char *err, size_t errcap)
{
    instream *s = calloc(1, sizeof *s);
    if (!s) {
        *code = INSTREAM_E_NOMEM;
        snprintf(err, errcap, "out of memory opening %s", label);
        return NULL;
    }
    s->fd = -1;
    s->cd = (iconv_t)-1;
    snprintf(s->label, sizeof s->label, "%s", label);
    if (!strcmp(path, "-")) {
        s->fd = STDIN_FILENO;
    } else {
        s->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (s->fd < 0) {
            fail(s, INSTREAM_E_OPEN, "cannot open %s: %s", path, strerror(errno));
            goto bad;
        }
        s->owns_fd = 1;
    }
    /* the magic bytes */
    while (s->rlen < 4 && !s->fd_eof)
        if (raw_more(s) < 0)
            goto bad;
    if (s->rlen >= 2 && s->rbuf[0] == 0x1f && s->rbuf[1] == 0x8b)
        s->comp = COMP_GZIP;
    else if (s->rlen >= 4 && !memcmp(s->rbuf, "\x28\xb5\x2f\xfd", 4))
        s->comp = COMP_ZSTD;
    size_t stem;
    if (instream_compressed_name(path, &stem)) {
        const char *suf = path + stem;
        int want = !strcasecmp(suf, ".gz") ? COMP_GZIP : COMP_ZSTD;
        if ((int)s->comp != want && s->rlen > 0) {
            fail(s, INSTREAM_E_DATA,
                 "%s: not %s data: the name says %s but its first bytes are not the %s magic "
                 "bytes (compressed byte 0, decompressed byte 0)",
                 label, want == COMP_GZIP ? "gzip" : "zstd", suf,
                 want == COMP_GZIP ? "gzip (1f 8b)" : "zstd (28 b5 2f fd)");
            goto bad;
        }
    }
    if (s->comp == COMP_GZIP) {
        if (inflateInit2(&s->z, 15 + 16) != Z_OK) {
            fail(s, INSTREAM_E_NOMEM, "out of memory decompressing %s", label);
            goto bad;
        }
        s->z_init = 1;
    } else if (s->comp == COMP_ZSTD) {
        s->zs_last = 1; /* no frame ended yet */
        if (!(s->zd = ZSTD_createDCtx())) {
            fail(s, INSTREAM_E_NOMEM, "out of memory decompressing %s", label);
            goto bad;
        }
    }
    /* the encoding: given, or UTF-16 by its byte order mark */
    const char *enc = encoding && *encoding && !is_utf8_name(encoding) ? encoding : NULL;
    long k = 0;
    while (s->dlen < 2 && (k = decompress(s, s->dbuf + s->dlen, 2 - s->dlen)) > 0)
        s->dlen += (size_t)k;
    if (k < 0 && !s->pending)
        goto bad;
    int bom16 = 0;
    if (s->dlen == 2 && (!enc || !strncasecmp(enc, "utf-16", 6) || !strncasecmp(enc, "utf16", 5))) {
        if (!memcmp(s->dbuf, "\xff\xfe", 2))
            bom16 = 1;
        else if (!memcmp(s->dbuf, "\xfe\xff", 2))
            bom16 = 2;
    }
    if (bom16) {
        enc = bom16 == 1 ? "UTF-16LE" : "UTF-16BE";
        s->dpos = 2;
    }
    if (enc) {
        s->cd = iconv_open("UTF-8", enc);
        if (s->cd == (iconv_t)-1) {
            fail(s, INSTREAM_E_USAGE,
                 "unknown encoding '%s' (iconv -l lists the names this system knows: latin1, "
                 "windows-1252, UTF-16...)",
                 enc);
            goto bad;
        }
        s->converting = 1;
        snprintf(s->enc_name, sizeof s->enc_name, "%s", enc);
    }
    return s;
bad:
    *code = s->code;
    snprintf(err, errcap, "%s", s->msg);
    instream_close(s);
    return NULL;
}

/* Move the unconverted bytes of dbuf to its front and decompress more
 * after them. 0, or -1 on error. */
static int refill_dbuf(instream *s)
{
    if (s->dpos > 0) {
        memmove(s->dbuf, s->dbuf + s->dpos, s->dlen - s->dpos);
        s->dlen -= s->dpos;
        s->dpos = 0;
    }
    if (s->dec_eof || s->dlen == sizeof s->dbuf)
        return 0;
    long k = decompress(s, s->dbuf + s->dlen, sizeof s->dbuf - s->dlen);
    if (k < 0)
        return -1;
    if (k == 0)
        s->dec_eof = 1;
    s->dlen += (size_t)k;
    return 0;
}

/* Converted bytes into buf[0..cap). */
static long convert(instream *s, char *buf, size_t cap)
{
    if (s->conv_failed)
        return -1;
    int partial = 0; /* dbuf ends inside a character */
    for (;;) {
        if (s->dpos == s->dlen || partial || (s->dlen - s->dpos < 8 && !s->dec_eof)) {
            if (partial && s->dpos == 0 && s->dlen == sizeof s->dbuf)
                return fail(s, INSTREAM_E_DATA, "%s: cannot convert from %s", s->label,
                            s->enc_name);
            if (refill_dbuf(s))
                return -1;
        }
        if (s->dpos == s->dlen && s->dec_eof)
            return 0;
        char *in = s->dbuf + s->dpos, *o = buf;
        size_t inleft = s->dlen - s->dpos, oleft = cap;
        size_t r = iconv(s->cd, &in, &inleft, &o, &oleft);
        int e = r == (size_t)-1 ? errno : 0;
        /* the decompressed offset of the byte iconv stopped at */
        int64_t at = s->dec_out - (int64_t)(s->dlen - s->dpos) +
                     (int64_t)(in - (s->dbuf + s->dpos));
        s->dpos = (size_t)(in - s->dbuf);
        size_t made = cap - oleft;
        for (size_t i = 0; i < made; i++)
            s->out_lines += buf[i] == '\n';
        if (e == EILSEQ || (e == EINVAL && s->dec_eof)) {
            fail(s, INSTREAM_E_DATA,
                 "%s: line %" PRId64 ", byte %" PRId64 " of the %s: %s %s; give the file's "
                 "encoding with --encoding",
                 s->label, s->out_lines + 1, at,
                 s->comp == COMP_NONE ? "file" : "decompressed data",
                 e == EILSEQ ? "these bytes are not valid" : "the data ends inside a character of",
                 s->enc_name);
            s->conv_failed = 1;
            return made ? (long)made : -1;
        }
        if (e && e != EINVAL && e != E2BIG)
            return fail(s, INSTREAM_E_DATA, "%s: cannot convert from %s: %s", s->label,
                        s->enc_name, strerror(e));
        if (made)
            return (long)made;
        partial = e == EINVAL;
    }
}

long instream_read(instream *s, char *buf, size_t cap)
{
    if (cap == 0)
        return 0;
    long k;
    if (s->converting && s->opos < s->olen) {
        k = (long)(s->olen - s->opos < cap ? s->olen - s->opos : cap);
        memcpy(buf, s->obuf + s->opos, (size_t)k);
        s->opos += (size_t)k;
    } else if (s->converting && cap < sizeof s->obuf) {
        /* one character may need up to 4 bytes: convert into obuf */
        long m = convert(s, s->obuf, sizeof s->obuf);
        if (m <= 0)
            return m;
        s->olen = (size_t)m;
        k = (long)((size_t)m < cap ? (size_t)m : cap);
        memcpy(buf, s->obuf, (size_t)k);
        s->opos = (size_t)k;
    } else if (s->converting) {
        k = convert(s, buf, cap);
    } else if (s->dpos < s->dlen) { /* the bytes peeked at open */
        k = (long)(s->dlen - s->dpos < cap ? s->dlen - s->dpos : cap);
        memcpy(buf, s->dbuf + s->dpos, (size_t)k);
        s->dpos += (size_t)k;
    } else {
        k = decompress(s, buf, cap);
    }
    if (k > 0)
        s->out += k;
    return k;
}

int instream_skip(instream *s, int64_t n)
{
    if (instream_is_plain(s) && s->fd != STDIN_FILENO) {
        size_t peeked = s->dlen - s->dpos < (uint64_t)n ? s->dlen - s->dpos : (size_t)n;
        s->dpos += peeked;
        s->out += (int64_t)peeked;
        n -= (int64_t)peeked;
        int64_t buffered = (int64_t)(s->rlen - s->rpos);
        if (n <= buffered) {
            s->rpos += (size_t)n;
        } else {
            off_t to = (off_t)(s->raw_read + (n - buffered));
            if (lseek(s->fd, to, SEEK_SET) < 0)
                return (int)fail(s, INSTREAM_E_OPEN, "cannot seek in %s: %s", s->label,
                                 strerror(errno));
            s->raw_read = (int64_t)to;
            s->rpos = s->rlen = 0;
        }
        s->out += n;
        s->dec_out += n; /* dec_out counted the peeked bytes when they were read */
        return 0;
    }
    char tmp[16384];
    while (n > 0) {
        long k = instream_read(s, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp);
        if (k < 0)
            return -1;
        if (k == 0)
            return (int)fail(s, INSTREAM_E_DATA, "%s: the data ends before byte %" PRId64,
                             s->label, s->out + n);
        n -= k;
    }
    return 0;
}

const char *instream_error(const instream *s) { return s->msg; }
instream_errc instream_error_code(const instream *s) { return s->code; }
int instream_fd(const instream *s) { return s->fd; }

const char *instream_compression(const instream *s)
{
    return s->comp == COMP_GZIP ? "gzip" : s->comp == COMP_ZSTD ? "zstd" : NULL;
}

int instream_is_plain(const instream *s)
{
    return s->comp == COMP_NONE && !s->converting;
}

void instream_close(instream *s)
{
    if (!s)
        return;
    if (s->owns_fd && s->fd >= 0)
        close(s->fd);
    if (s->z_init)
        inflateEnd(&s->z);
    ZSTD_freeDCtx(s->zd);
    if (s->cd != (iconv_t)-1)
        iconv_close(s->cd);
    free(s);
}
