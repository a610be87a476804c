/* libFuzzer target: the CSV and JSONL file parsers on arbitrary bytes.
 *
 * Byte 0 picks the format (bit 0: JSONL), the header mode (bit 1: CSV
 * without a header, fixed columns), a small max_field (bit 2: 64 bytes, so
 * the oversized-record paths run) and the batch size (bits 3-5). The rest
 * is the file (plain, or gzip or zstd by its first bytes; lines of JSON or a
 * JSON document), read through the connector's ops as the loader does; every
 * value and raw byte handed out is touched so ASan sees any overrun, and
 * every row must be either a row of the table's width or a problem. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "source/source.h"

static volatile unsigned sink;

static void touch(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sink += (unsigned char)p[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    int fd = memfd_create("fuzz", 0);
    if (fd < 0)
        abort();
    if (size > 1 && write(fd, data + 1, size - 1) != (ssize_t)(size - 1))
        abort();
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    static const char *const cols[] = {"a", "b", "c"};
    file_options o;
    file_options_init(&o);
    if (mode & 2) {
        o.header = 0;
        o.columns = cols;
        o.ncolumns = 3;
    }
    if (mode & 4)
        o.max_field = 64;
    source_error err;
    source *s = source_files_open(mode & 1 ? "jsonl" : "csv", path, "t", &o, &err);
    if (s) {
        const source_schema *sch = s->ops->describe(s, &err);
        int ncols = sch->tables[0].ncols;
        source_range *rg;
        int nr;
        if (s->ops->split(s, 0, 1, &rg, &nr, &err) == 0) {
            src_pos start = {0};
            source_reader *rd = s->ops->open_range(s, &rg[0], &start, &err);
            source_ranges_free(rg, nr);
            if (rd) {
                int batch = 1 + ((mode >> 3) & 7) * 5;
                row_batch b;
                row_batch_init(&b, batch);
                while (s->ops->read(rd, &b, batch, &err) > 0) {
                    for (int i = 0; i < b.n; i++) {
                        const src_row *r = &b.rows[i];
                        if (r->raw)
                            touch(r->raw, r->raw_len);
                        if (r->problem) {
                            touch(r->problem, strlen(r->problem));
                            continue;
                        }
                        if (r->skipped)
                            continue;
                        if (r->nvals != ncols)
                            abort();
                        for (int c = 0; c < r->nvals; c++)
                            if (r->vals[c].kind == SV_TEXT)
                                touch(r->vals[c].u.s.p, r->vals[c].u.s.n);
                    }
                }
                row_batch_release(&b);
                s->ops->close_range(rd);
            }
        }
        s->ops->close(s);
    }
    close(fd);
    return 0;
}
