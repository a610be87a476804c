/* A compressing output stream over a FILE: none, gzip (zlib) or zstd.
 *
 * Compressed data is written as a sequence of independent members (gzip
 * members, zstd frames): fmt_out_end_member ends the current one, so the
 * file is a complete, valid compressed file at that point, and a writer
 * that is killed later can be resumed by cutting the file back to that
 * length and writing new members after it (gzip and zstd readers read
 * concatenated members as one stream).
 */
#ifndef CQLSHIFT_FORMAT_OUTSTREAM_H
#define CQLSHIFT_FORMAT_OUTSTREAM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum fmt_compression {
    FMT_COMP_NONE,
    FMT_COMP_GZIP,
    FMT_COMP_ZSTD,
} fmt_compression;

typedef struct fmt_out fmt_out;

/* The compression a file name asks for: ".gz" gzip, ".zst" or ".zstd"
 * zstd, anything else none. */
fmt_compression fmt_compression_of_name(const char *path);
/* "gzip", "zstd", "none". */
const char *fmt_compression_name(fmt_compression c);
/* 1 if this build can write c. */
int fmt_compression_available(fmt_compression c);

/* A stream writing to f (not closed by the stream). NULL with err (a
 * sentence) when c is not available or out of memory. */
fmt_out *fmt_out_open(FILE *f, fmt_compression c, char *err, size_t errlen);
/* Compress and write n bytes. 0, or -1 with errno set (the FILE's error). */
int fmt_out_write(fmt_out *o, const void *p, size_t n);
/* End the current member (nothing to do without compression or when no
 * byte was written since the last end) and flush it to the FILE. 0 or -1. */
int fmt_out_end_member(fmt_out *o);
/* Bytes handed to the FILE so far (compressed). */
int64_t fmt_out_bytes(const fmt_out *o);
/* End the last member and free the stream. 0 or -1. */
int fmt_out_close(fmt_out *o);

#endif
