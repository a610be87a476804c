/* Private to the file source connector (files.c, csv.c, jsonl.c).
 *
 * A files source is one table made of one or more files (or stdin). Each
 * file is one range. A reader streams its file through a fixed buffer
 * (files_in), parses one record at a time, and copies each record into the
 * batch arena before moving on, so the buffer can be compacted or grown at
 * any time and a batch's rows stay valid while later batches are read.
 *
 * Memory per reader is bounded: the buffer starts at FILES_BUF_SIZE and only
 * grows to hold one record of up to max_field bytes; a batch stops early once
 * it holds FILES_BATCH_BYTES of copied text.
 */
#ifndef CQLSHIFT_SOURCE_FILES_INT_H
#define CQLSHIFT_SOURCE_FILES_INT_H

#include <stddef.h>
#include <stdint.h>

#include "format/instream.h"
#include "source/source.h"

#define FILES_BUF_SIZE ((size_t)1 << 20)        /* reader buffer, grows for long records */
#define FILES_BATCH_BYTES ((size_t)8 << 20)     /* a batch stops after this much text */
#define FILES_RAW_PREFIX 1024                   /* raw text kept for an oversized record */
#define JSONL_SAMPLE_LINES 1000                 /* lines read to find JSONL columns */

typedef enum files_kind { FILES_CSV, FILES_JSONL } files_kind;

/* A buffered input stream over a decoded stream (format/instream.h:
 * decompressed, converted to UTF-8). buf[pos..len) is unread data; buf[0]
 * is at byte offset `base` of the decoded stream (the file's own offset for
 * a plain UTF-8 file). */
typedef struct files_in {
    instream *s;
    char *buf;
    size_t cap, len, pos;
    size_t cap_max;         /* the buffer never grows past this */
    int64_t base;
    int eof;
} files_in;

/* Open path ("-": stdin) in `encoding` (NULL: UTF-8) for reading with a
 * buffer that may grow to cap_max; 0 or -1 with err (naming the path). */
int files_in_open(files_in *in, const char *path, const char *encoding, size_t cap_max,
                  source_error *err);
void files_in_close(files_in *in);
/* Get more data after the unread part: move the unread bytes to the front,
 * grow the buffer if it is full (up to cap_max), and read until the unread
 * part has at least doubled, the buffer is full, or EOF. Returns 1 if data
 * was added, 0 at EOF or when the buffer is full at cap_max, -1 on a read
 * error (err set, naming `label`). */
int files_in_more(files_in *in, const char *label, source_error *err);
/* Offset of the next unread byte in the file. */
static inline int64_t files_in_offset(const files_in *in) { return in->base + (int64_t)in->pos; }

/* CSV parsing configuration, derived from file_options. */
typedef struct csv_dialect {
    char delimiter, quote, escape;
    int quoting;            /* 0: quote == '\0', fields are never quoted */
    const char *nulls[FILE_MAX_NULLS]; /* an unquoted field equal to one is null */
    size_t null_lens[FILE_MAX_NULLS];
    int nnull;
    size_t max_field;
} csv_dialect;

void csv_dialect_init(csv_dialect *d, const file_options *o);

/* One field of a parsed record: offsets relative to the record start. */
typedef struct csv_field {
    size_t off, len;
    unsigned char quoted;   /* the field was quoted (never null) */
    unsigned char unescape; /* contains doubled quotes or escapes to resolve */
} csv_field;

/* The result of scanning one record. */
typedef struct csv_record {
    size_t consumed;        /* bytes up to and including the line end */
    size_t len;             /* bytes of the record without the line end */
    int64_t newlines;       /* '\n' bytes consumed (embedded ones and the end) */
    int nfields;
    int blank;              /* an empty line: no fields */
    char problem[256];      /* "" or the first structural problem (no "line N: ") */
} csv_record;

/* Field storage of a scanner, grown as needed (bounded by the record). */
typedef struct csv_fields {
    csv_field *f;
    int cap;
    int grow;               /* 1: grow to hold every field; 0: store cap, count the rest */
} csv_fields;

enum { CSV_NEED_MORE = 0, CSV_RECORD = 1, CSV_END = 2, CSV_NOMEM = -1 };

/* Scan one record from p[0..n). eof: no data follows p[n-1]. Returns
 * CSV_RECORD (rec and fields filled), CSV_NEED_MORE (the record may continue
 * past n), CSV_END (n == 0 at eof) or CSV_NOMEM. `first_line` is the line
 * number of p[0] (for "starting at line M" messages). */
int csv_scan_record(const csv_dialect *d, const char *p, size_t n, int eof,
                    int64_t first_line, csv_fields *fs, csv_record *rec);
/* Copy field text into dst resolving doubled quotes and escapes; returns
 * the length written (<= f->len). */
size_t csv_unescape(const csv_dialect *d, const char *src, size_t n, char *dst);

/* State to skip the rest of an oversized CSV record without keeping it. */
typedef struct csv_skip {
    int state;
    int64_t newlines;
} csv_skip;
/* Feed p[0..n); returns the number of bytes up to and including the line
 * end of the record if it ends here, else -1 (all consumed, call again). */
long csv_skip_feed(const csv_dialect *d, csv_skip *sk, const char *p, size_t n);
/* 1 if the skipped bytes end inside a quoted field. */
int csv_skip_in_quotes(const csv_skip *sk);

typedef struct files_source files_source;

/* A reader of one range (one file or stdin). */
typedef struct files_reader {
    files_source *src;
    files_in in;
    int64_t line;           /* line number of the next unread byte */
    char label[256];
    csv_fields fields;      /* CSV scanner scratch */
    struct jl_scratch *jl;  /* JSONL scanner scratch */
    source_error failed;    /* a read error after rows of the batch: the next read's */
    int64_t nrows;          /* data records of the file so far (for --skip-rows, --max-rows) */
    int done;               /* --max-rows reached */
    int jmode;              /* JSONL: JD_LINES, JD_ARRAY or JD_SEQ (jsonl_detect) */
    int jstate;             /* JD_ARRAY: where in the array the reader is */
} files_reader;

/* The shapes of a JSON file: one object per line; one array of objects;
 * objects one after another (pretty-printed, or several on a line). */
enum { JD_LINES = 0, JD_ARRAY = 1, JD_SEQ = 2 };
/* Where a JD_ARRAY reader is: before '[', before a record or ']', after a
 * record, after ']', in text after ']' (discarded). */
enum { JA_OPEN = 0, JA_VALUE = 1, JA_NEXT = 2, JA_CLOSED = 3, JA_JUNK = 4 };

struct files_source {
    source base;
    files_kind kind;
    char kind_name[8];
    int is_stdin;
    char **paths;           /* sorted, npaths >= 1 ("-" for stdin) */
    int npaths;
    int64_t *sizes;         /* at open; -1 for stdin */
    int64_t *data_start;    /* byte offset after the header (0 without one) */
    int64_t *data_line;     /* line number at data_start */
    source_schema schema;
    int header;             /* CSV: files start with a header line */
    int columns_given;      /* the column names came from --columns */
    int late_given;         /* JSONL: the table's columns were added to the sample's keys */
    char null_store[FILE_MAX_NULLS][256]; /* the null markers, copied from the options */
    char encoding[64];      /* "" for UTF-8 */
    char comment;           /* lines starting with it are skipped (0: none) */
    int64_t skip_rows, max_rows; /* of each file; resume points then carry nrows */
    csv_dialect dialect;
    size_t max_field;
    files_in stdin_in;      /* stdin, already read up to its data (header, JSONL sample) */
    int64_t stdin_line;
    int stdin_taken;
};

/* Read the header record of a CSV stream (skipping a UTF-8 BOM); the
 * names are returned malloc'd (caller frees each and the array); *n = 0
 * for an empty stream. Leaves in->pos after the header. */
int csv_read_header(files_source *fs, files_in *in, const char *label, char ***names, int *n,
                    int64_t *lines, source_error *err);
int csv_read_batch(files_reader *r, row_batch *b, int max_rows, source_error *err);

/* Union of the keys of the first JSONL_SAMPLE_LINES lines of the stream,
 * in order of first appearance, without consuming them. */
int jsonl_sample_keys(files_source *fs, files_in *in, const char *label, char ***names, int *n,
                      source_error *err);
int jsonl_read_batch(files_reader *r, row_batch *b, int max_rows, source_error *err);
/* The shape of the JSON text at in->pos (the start of the data), reading
 * more as needed without consuming it: JD_ARRAY if it starts with '[',
 * JD_SEQ if the first object spans lines or another follows on its line,
 * else JD_LINES. -1 on a read error. */
int jsonl_detect(files_in *in, const char *label, size_t max_field, source_error *err);
void jsonl_scratch_free(struct jl_scratch *s);

/* The record at the reader's position goes on past the data read: read
 * more. 1: scan it again (more data, or EOF now known); 0: it is oversized
 * (more than `limit` bytes fill the buffer, or the buffer is at its cap);
 * -1: read error (err set). Reading on until the buffer is full before
 * calling a record oversized lets an unterminated quote at EOF be told. */
int files_need_more(files_reader *r, size_t limit, source_error *err);

/* Where a record ends in p[0..n): the bytes up to and including its line
 * end, or -1 if it goes on past n. Keeps its own state between calls. */
typedef long (*files_end_fn)(void *ctx, const char *p, size_t n);
/* Skip the oversized record at the reader's position without holding it
 * (`end` finds its end) and add a row for it with the first
 * FILES_RAW_PREFIX bytes as raw; the caller sets its problem. NULL on
 * error (err set). */
src_row *files_skip_record(files_reader *r, row_batch *b, files_end_fn end, void *ctx,
                           source_error *err);
/* Add a row with `problem` = text and `raw` = a copy of raw[0..raw_len). */
int files_add_problem(files_reader *r, row_batch *b, int64_t line, const char *raw,
                      size_t raw_len, const char *text, source_error *err);
int files_nomem(const files_reader *r, source_error *err);
/* A read error (err set) while filling batch b: with rows in b, keep the
 * error for the next read and return the rows (setting b's resume point);
 * else -1. A read batch function starts with files_take_failed. */
int files_read_failed(files_reader *r, row_batch *b, source_error *err);
/* -1 with the kept error (err set) if there is one, else 0. */
int files_take_failed(files_reader *r, source_error *err);

/* At a record start: if the line starts with the comment character,
 * consume it and, with b, add a skipped row for it. 1: consumed, 0: not a
 * comment line (or no data yet), -1: read error (err set). */
int files_comment(files_reader *r, row_batch *b, source_error *err);
/* Consume the line at in->pos (up to and including its '\n', or to EOF)
 * without holding it. 0, or -1 on a read error. */
int files_skip_line(files_in *in, const char *label, source_error *err);
/* For a data record at the reader's position (line `line`): 1 if
 * --max-rows is reached (stop: the record is not consumed), 2 if it is one
 * of the --skip-rows (the caller consumes it and adds no row: a skipped
 * row was added), 0 to read it; -1 out of memory. */
int files_count_row(files_reader *r, row_batch *b, int64_t line, source_error *err);
/* b's resume point: the offset of the next unread byte (and, with
 * --skip-rows or --max-rows, the records seen). 0, or -1 out of memory. */
int files_set_resume(files_reader *r, row_batch *b, source_error *err);
/* The same with the offset `off` (of the decoded stream). */
int files_set_resume_at(files_reader *r, row_batch *b, int64_t off, source_error *err);

/* Skip a UTF-8 BOM at the start of the stream (pos must be 0 at offset 0). */
int files_skip_bom(files_in *in, const char *label, source_error *err);

#endif
