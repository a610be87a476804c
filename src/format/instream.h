/* An input stream of decoded bytes: a file (or stdin) read through
 * decompression and character-set conversion, so the readers above see
 * plain UTF-8 whatever the file holds.
 *
 * Compression is told by the first bytes (gzip 1f 8b, zstd 28 b5 2f fd),
 * whatever the name; a name ending in .gz, .zst or .zstd whose bytes are
 * not that format is refused. Concatenated gzip members and zstd frames are
 * read one after another.
 *
 * The encoding is UTF-8 unless one is given (any name iconv knows: latin1,
 * windows-1252, UTF-16...); a UTF-16 byte order mark at the start selects
 * UTF-16 by itself (the mark is not passed on). A UTF-8 mark is passed on
 * (the readers skip it).
 *
 * Offsets given to callers (instream_read's bytes, instream_skip) are of
 * the decoded stream. Memory is fixed: two 64 KiB buffers and the
 * decompressor's state.
 *
 * A corrupt or truncated stream, or bytes that are not of the encoding, end
 * the stream with one sentence naming the file, the byte offset in the file
 * and in the decoded stream; the bytes decoded before the fault are handed
 * out first, the error comes with the next read.
 */
#ifndef CQLSHIFT_FORMAT_INSTREAM_H
#define CQLSHIFT_FORMAT_INSTREAM_H

#include <stddef.h>
#include <stdint.h>

typedef struct instream instream;

typedef enum instream_errc {
    INSTREAM_OK = 0,
    INSTREAM_E_OPEN,     /* the file cannot be opened or read */
    INSTREAM_E_USAGE,    /* an unknown encoding */
    INSTREAM_E_DATA,     /* corrupt or truncated compressed data, a wrong encoding */
    INSTREAM_E_NOMEM,
} instream_errc;

/* Open path ("-": stdin, named `label` in messages) with `encoding` (NULL
 * or "": UTF-8, or UTF-16 by its byte order mark). NULL with *code set and
 * the message in err[0..errcap). */
instream *instream_open(const char *path, const char *label, const char *encoding,
                        instream_errc *code, char *err, size_t errcap);
/* Up to cap decoded bytes into buf: the count, 0 at the end, -1 on error
 * (instream_error). */
long instream_read(instream *s, char *buf, size_t cap);
/* Skip n decoded bytes (a seek for a plain file). 0, or -1 (instream_error;
 * reaching the end first is an error too). */
int instream_skip(instream *s, int64_t n);
/* The error of the last failed call: its message and code. */
const char *instream_error(const instream *s);
instream_errc instream_error_code(const instream *s);
/* "gzip", "zstd" or NULL for an uncompressed file. */
const char *instream_compression(const instream *s);
/* 1 if the decoded bytes are the file's own (no decompression, no
 * conversion): offsets are file offsets. */
int instream_is_plain(const instream *s);
/* The file descriptor (for fstat). */
int instream_fd(const instream *s);
void instream_close(instream *s);

/* 1 if the name ends in a compression suffix (.gz, .zst, .zstd); *stem_len
 * (if not NULL) gets the length of the name without it. */
int instream_compressed_name(const char *name, size_t *stem_len);

#endif
