/* The file source connector: CSV and JSONL files (one file, a directory, a
 * glob, or stdin) read as one table.
 *
 * Ranges: one per file, in byte order of the file names (range id = index,
 * label = path), so ids stay stable across runs whatever the split hint;
 * stdin is one range. The number of ranges ignores max_ranges for the same
 * reason: range ids must not depend on --workers.
 *
 * Resume points are byte offsets in the range's file, just after the last
 * row of a batch. Resuming seeks there; the line number to continue from is
 * recovered by counting '\n' bytes before the offset (one sequential read of
 * that part of the file, at memory speed), which is exact because positions
 * are physical line numbers. A resume point that is not at a line start, or
 * past the end of the file, means the file changed: open_range refuses it.
 * stdin cannot be resumed.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source/files_int.h"

/* ---- buffered input ---------------------------------------------------- */

int files_in_open(files_in *in, const char *path, const char *encoding, size_t cap_max,
                  source_error *err)
{
    memset(in, 0, sizeof *in);
    instream_errc code;
    char msg[512];
    in->s = instream_open(path, strcmp(path, "-") ? path : "stdin", encoding, &code, msg,
                          sizeof msg);
    if (!in->s)
        return source_fail(err,
                           code == INSTREAM_E_NOMEM   ? SRC_E_NOMEM
                           : code == INSTREAM_E_USAGE ? SRC_E_USAGE
                           : code == INSTREAM_E_DATA  ? SRC_E_FORMAT
                                                      : SRC_E_OPEN,
                           "%s", msg);
    in->cap = FILES_BUF_SIZE;
    in->cap_max = cap_max > FILES_BUF_SIZE ? cap_max : FILES_BUF_SIZE;
    in->buf = malloc(in->cap);
    if (!in->buf) {
        files_in_close(in);
        return source_fail(err, SRC_E_NOMEM, "out of memory opening %s", path);
    }
    return 0;
}

void files_in_close(files_in *in)
{
    instream_close(in->s);
    in->s = NULL;
    free(in->buf);
    in->buf = NULL;
    in->cap = in->len = in->pos = 0;
}

int files_in_more(files_in *in, const char *label, source_error *err)
{
    if (in->pos > 0) {
        memmove(in->buf, in->buf + in->pos, in->len - in->pos);
        in->base += (int64_t)in->pos;
        in->len -= in->pos;
        in->pos = 0;
    }
    if (in->eof)
        return 0;
    if (in->len == in->cap) {
        if (in->cap >= in->cap_max)
            return 0;
        size_t ncap = in->cap * 2 < in->cap_max ? in->cap * 2 : in->cap_max;
        char *nb = realloc(in->buf, ncap);
        if (!nb)
            return source_fail(err, SRC_E_NOMEM, "out of memory reading %s", label);
        in->buf = nb;
        in->cap = ncap;
    }
    /* Read until the unread part doubled (so a record rescanned after each
     * refill costs linear time overall), the buffer is full, or EOF. */
    size_t before = in->len, target = in->len ? in->len * 2 : 1;
    if (target > in->cap)
        target = in->cap;
    while (in->len < target) {
        long k = instream_read(in->s, in->buf + in->len, in->cap - in->len);
        if (k < 0) {
            (void)label; /* the stream's messages name the file */
            return source_fail(err,
                               instream_error_code(in->s) == INSTREAM_E_DATA ? SRC_E_FORMAT
                                                                             : SRC_E_READ,
                               "%s", instream_error(in->s));
        }
        if (k == 0) {
            in->eof = 1;
            break;
        }
        in->len += (size_t)k;
    }
    return in->len > before;
}

int files_skip_bom(files_in *in, const char *label, source_error *err)
{
    while (in->len - in->pos < 3 && !in->eof)
        if (files_in_more(in, label, err) < 0)
            return -1;
    if (in->base + (int64_t)in->pos == 0 && in->len - in->pos >= 3 &&
        !memcmp(in->buf + in->pos, "\xEF\xBB\xBF", 3))
        in->pos += 3;
    return 0;
}

int files_need_more(files_reader *r, size_t limit, source_error *err)
{
    files_in *in = &r->in;
    size_t pending = in->len - in->pos;
    if (pending > limit && pending == in->cap)
        return 0;
    int m = files_in_more(in, r->label, err);
    if (m < 0)
        return -1;
    return m == 0 && !in->eof ? 0 : 1;
}

int files_read_failed(files_reader *r, row_batch *b, source_error *err)
{
    if (b->n == 0)
        return -1;
    r->failed = *err;
    if (r->failed.code == 0)
        r->failed.code = SRC_E_READ;
    if (files_set_resume(r, b, err))
        return -1;
    return b->n;
}

int files_set_resume(files_reader *r, row_batch *b, source_error *err)
{
    return files_set_resume_at(r, b, files_in_offset(&r->in), err);
}

int files_set_resume_at(files_reader *r, row_batch *b, int64_t off, source_error *err)
{
    int rc;
    if (r->src->skip_rows || r->src->max_rows) {
        uint8_t p[16];
        int64_t v[2] = {off, r->nrows};
        for (int k = 0; k < 2; k++)
            for (int i = 0; i < 8; i++)
                p[k * 8 + i] = (uint8_t)((uint64_t)v[k] >> (56 - 8 * i));
        rc = src_pos_set(&b->resume, p, sizeof p);
    } else {
        rc = src_pos_set_i64(&b->resume, off);
    }
    return rc ? source_fail(err, SRC_E_NOMEM, "out of memory") : 0;
}

int files_skip_line(files_in *in, const char *label, source_error *err)
{
    for (;;) {
        const char *nl = memchr(in->buf + in->pos, '\n', in->len - in->pos);
        if (nl) {
            in->pos = (size_t)(nl - in->buf) + 1;
            return 0;
        }
        in->pos = in->len;
        if (in->eof)
            return 0;
        if (files_in_more(in, label, err) < 0)
            return -1;
    }
}

int files_comment(files_reader *r, row_batch *b, source_error *err)
{
    files_in *in = &r->in;
    if (!r->src->comment || in->pos == in->len || in->buf[in->pos] != r->src->comment)
        return 0;
    src_row *row = row_batch_add(b, r->line, 0);
    if (!row)
        return files_nomem(r, err);
    row->skipped = 1;
    if (files_skip_line(in, r->label, err))
        return -1;
    r->line++;
    return 1;
}

int files_count_row(files_reader *r, row_batch *b, int64_t line, source_error *err)
{
    files_source *fs = r->src;
    if (!fs->skip_rows && !fs->max_rows)
        return 0;
    if (fs->max_rows && r->nrows >= fs->skip_rows + fs->max_rows) {
        r->done = 1;
        return 1;
    }
    if (r->nrows++ >= fs->skip_rows)
        return 0;
    src_row *row = row_batch_add(b, line, 0);
    if (!row)
        return files_nomem(r, err);
    row->skipped = 1;
    return 2;
}

int files_take_failed(files_reader *r, source_error *err)
{
    if (!r->failed.code)
        return 0;
    *err = r->failed;
    return -1;
}

int files_nomem(const files_reader *r, source_error *err)
{
    return source_fail(err, SRC_E_NOMEM, "out of memory reading %s", r->label);
}

int files_add_problem(files_reader *r, row_batch *b, int64_t line, const char *raw,
                      size_t raw_len, const char *text, source_error *err)
{
    src_row *row = row_batch_add(b, line, 0);
    if (!row || !(row->raw = arena_strndup(&b->mem, raw, raw_len)) ||
        !(row->problem = arena_strndup(&b->mem, text, strlen(text))))
        return files_nomem(r, err);
    row->raw_len = raw_len;
    return 0;
}

src_row *files_skip_record(files_reader *r, row_batch *b, files_end_fn end, void *ctx,
                           source_error *err)
{
    files_in *in = &r->in;
    size_t keep = in->len - in->pos < FILES_RAW_PREFIX ? in->len - in->pos : FILES_RAW_PREFIX;
    src_row *row = row_batch_add(b, r->line, 0);
    if (!row || !(row->raw = arena_strndup(&b->mem, in->buf + in->pos, keep))) {
        files_nomem(r, err);
        return NULL;
    }
    row->raw_len = keep;
    for (;;) {
        long k = end(ctx, in->buf + in->pos, in->len - in->pos);
        if (k >= 0) {
            in->pos += (size_t)k;
            return row;
        }
        in->pos = in->len;
        if (in->eof)
            return row;
        if (files_in_more(in, r->label, err) < 0)
            return NULL;
    }
}

/* ---- opening: the list of files ---------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_ext(const char *name, const char *ext)
{
    size_t n = strlen(name), m = strlen(ext);
    return n > m && !strcasecmp(name + n - m, ext);
}

static int kind_matches(files_kind k, const char *full)
{
    char name[1024];
    size_t sl;
    instream_compressed_name(full, &sl); /* data.csv.gz is a CSV file */
    snprintf(name, sizeof name, "%.*s", (int)(sl < sizeof name ? sl : sizeof name - 1), full);
    if (k == FILES_CSV)
        return has_ext(name, ".csv");
    return has_ext(name, ".jsonl") || has_ext(name, ".ndjson");
}

static int push_path(files_source *fs, int *cap, const char *p, source_error *err)
{
    if (fs->npaths == *cap) {
        int ncap = *cap ? *cap * 2 : 16;
        char **n = realloc(fs->paths, (size_t)ncap * sizeof *n);
        if (!n)
            return source_fail(err, SRC_E_NOMEM, "out of memory listing files");
        fs->paths = n;
        *cap = ncap;
    }
    if (!(fs->paths[fs->npaths] = strdup(p)))
        return source_fail(err, SRC_E_NOMEM, "out of memory listing files");
    fs->npaths++;
    return 0;
}

static int is_regular(const char *path)
{
    struct stat st;
    return !stat(path, &st) && S_ISREG(st.st_mode);
}

static int list_files(files_source *fs, const char *path, source_error *err)
{
    int cap = 0;
    const char *ext = fs->kind == FILES_CSV ? "*.csv" : "*.jsonl or *.ndjson";
    if (!strcmp(path, "-")) {
        fs->is_stdin = 1;
        return push_path(fs, &cap, "-", err);
    }
    struct stat st;
    if (!stat(path, &st)) {
        if (!S_ISDIR(st.st_mode))
            return push_path(fs, &cap, path, err);
        DIR *d = opendir(path);
        if (!d)
            return source_fail(err, SRC_E_OPEN, "cannot read the directory %s: %s", path,
                               strerror(errno));
        struct dirent *de;
        char full[4096];
        while ((de = readdir(d))) {
            if (!kind_matches(fs->kind, de->d_name))
                continue;
            snprintf(full, sizeof full, "%s%s%s", path,
                     path[strlen(path) - 1] == '/' ? "" : "/", de->d_name);
            if (is_regular(full) && push_path(fs, &cap, full, err)) {
                closedir(d);
                return -1;
            }
        }
        closedir(d);
        if (!fs->npaths)
            return source_fail(err, SRC_E_OPEN, "no %s files in the directory %s", ext, path);
    } else if (strpbrk(path, "*?[")) {
        glob_t g;
        int rc = glob(path, 0, NULL, &g);
        if (rc == GLOB_NOMATCH)
            return source_fail(err, SRC_E_OPEN, "no file matches %s", path);
        if (rc) {
            globfree(&g);
            return source_fail(err, SRC_E_OPEN, "cannot expand %s", path);
        }
        for (size_t i = 0; i < g.gl_pathc; i++)
            if (is_regular(g.gl_pathv[i]) && push_path(fs, &cap, g.gl_pathv[i], err)) {
                globfree(&g);
                return -1;
            }
        globfree(&g);
        if (!fs->npaths)
            return source_fail(err, SRC_E_OPEN, "no regular file matches %s", path);
    } else {
        return source_fail(err, SRC_E_OPEN, "cannot open %s: %s", path, strerror(errno));
    }
    qsort(fs->paths, (size_t)fs->npaths, sizeof *fs->paths, cmp_str);
    return 0;
}

/* ---- opening: the schema ----------------------------------------------- */

static void free_names(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* "a, b, c" (shortened) for messages. */
static void names_text(char *out, size_t cap, char *const *names, int n)
{
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; i < n && o + 1 < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? "," : "", names[i]);
    if (o >= cap && cap > 4)
        strcpy(out + cap - 4, "...");
}

static int same_names(char *const *a, int na, char *const *b, int nb)
{
    if (na != nb)
        return 0;
    for (int i = 0; i < na; i++)
        if (strcmp(a[i], b[i]))
            return 0;
    return 1;
}

/* Take ownership of names[0..n) as the table's columns. */
static int set_columns(files_source *fs, char **names, int n, const char *where,
                       source_error *err)
{
    source_table *t = &fs->schema.tables[0];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(names[i], names[j])) {
                source_fail(err, SRC_E_USAGE, "column '%s' appears twice in %s", names[i], where);
                free_names(names, n);
                return -1;
            }
    t->cols = calloc(n > 0 ? (size_t)n : 1, sizeof *t->cols);
    if (!t->cols) {
        free_names(names, n);
        return source_fail(err, SRC_E_NOMEM, "out of memory");
    }
    t->ncols = n;
    for (int i = 0; i < n; i++)
        t->cols[i].name = names[i];
    free(names);
    for (int i = 0; i < n; i++)
        if (!(t->cols[i].decl_type = strdup("")))
            return source_fail(err, SRC_E_NOMEM, "out of memory");
    return 0;
}

static int copy_given_columns(const file_options *o, char ***names, source_error *err)
{
    char **n = calloc((size_t)o->ncolumns + 1, sizeof *n);
    if (!n)
        return source_fail(err, SRC_E_NOMEM, "out of memory");
    for (int i = 0; i < o->ncolumns; i++)
        if (!(n[i] = strdup(o->columns[i]))) {
            free_names(n, i);
            return source_fail(err, SRC_E_NOMEM, "out of memory");
        }
    *names = n;
    return 0;
}

/* Estimate rows from the bytes per line of a sample (CSV and JSONL both
 * have about one line per row). */
static void estimate_rows(files_source *fs, const files_in *in)
{
    int64_t total = 0;
    for (int i = 0; i < fs->npaths; i++)
        total += fs->sizes[i] > 0 ? fs->sizes[i] : 0;
    size_t nl = 0;
    for (size_t i = in->pos; i < in->len; i++)
        nl += in->buf[i] == '\n';
    if (nl >= 2 && !fs->is_stdin)
        fs->schema.tables[0].row_estimate =
            (int64_t)((double)total * (double)nl / (double)(in->len - in->pos));
}

static int read_csv_schema(files_source *fs, const file_options *o, source_error *err)
{
    char **first = NULL;
    int nfirst = -1, ifirst = -1;
    for (int i = 0; i < fs->npaths; i++) {
        fs->data_line[i] = 1;
        if (!fs->header)
            continue; /* a BOM is skipped when the reader starts at offset 0 */
        files_in tmp, *in = fs->is_stdin ? &fs->stdin_in : &tmp;
        if (files_in_open(in, fs->paths[i], fs->encoding, fs->dialect.max_field + 4, err))
            goto fail;
        char **names;
        int n;
        int64_t lines;
        const char *label = fs->is_stdin ? "stdin" : fs->paths[i];
        if (csv_read_header(fs, in, label, &names, &n, &lines, err)) {
            if (!fs->is_stdin)
                files_in_close(in);
            goto fail;
        }
        fs->data_start[i] = files_in_offset(in);
        fs->data_line[i] = 1 + lines;
        if (!fs->is_stdin) {
            if (ifirst < 0 && n)
                estimate_rows(fs, in);
            files_in_close(in);
        } else {
            fs->stdin_line = 1 + lines;
        }
        if (!n)
            continue; /* an empty file: no header, no rows */
        if (ifirst < 0) {
            first = names;
            nfirst = n;
            ifirst = i;
        } else {
            if (!same_names(first, nfirst, names, n)) {
                char a[160], b[160];
                names_text(a, sizeof a, first, nfirst);
                names_text(b, sizeof b, names, n);
                source_fail(err, SRC_E_USAGE,
                            "%s and %s have different headers (%s / %s); the files of one "
                            "table must have the same columns in the same order",
                            fs->paths[ifirst], fs->paths[i], a, b);
                free_names(names, n);
                goto fail;
            }
            free_names(names, n);
        }
    }
    if (!fs->header) {
        if (!o->ncolumns)
            return source_fail(err, SRC_E_USAGE,
                               "CSV without a header needs the column names (--columns A,B,C)");
        char **names;
        if (copy_given_columns(o, &names, err))
            return -1;
        return set_columns(fs, names, o->ncolumns, "the columns given", err);
    }
    if (ifirst < 0)
        return source_fail(err, SRC_E_FORMAT, "%s is empty: no header line names the columns%s",
                           fs->npaths == 1 ? fs->paths[0] : "every file",
                           fs->npaths == 1 ? "" : " (all files are empty)");
    char where[300];
    snprintf(where, sizeof where, "the header of %s", fs->paths[ifirst]);
    if (o->ncolumns) {
        /* --columns with a header: rename the fields, one name per field */
        if (o->ncolumns != nfirst) {
            source_fail(err, SRC_E_USAGE, "%s has %d columns in its header but %d names were given",
                        fs->paths[ifirst], nfirst, o->ncolumns);
            goto fail;
        }
        free_names(first, nfirst);
        first = NULL;
        if (copy_given_columns(o, &first, err))
            return -1;
        snprintf(where, sizeof where, "the columns given");
    }
    return set_columns(fs, first, nfirst, where, err);
fail:
    free_names(first, nfirst > 0 ? nfirst : 0);
    return -1;
}

static int read_jsonl_schema(files_source *fs, const file_options *o, source_error *err)
{
    char **names;
    for (int i = 0; i < fs->npaths; i++)
        fs->data_line[i] = 1;
    if (o->ncolumns) {
        if (copy_given_columns(o, &names, err))
            return -1;
        if (fs->is_stdin &&
            files_in_open(&fs->stdin_in, "-", fs->encoding, fs->max_field + 4, err)) {
            free_names(names, o->ncolumns);
            return -1;
        }
        return set_columns(fs, names, o->ncolumns, "the columns given", err);
    }
    /* the keys of the first lines of the first non-empty file */
    int i = 0;
    while (!fs->is_stdin && i < fs->npaths - 1 && fs->sizes[i] == 0)
        i++;
    files_in tmp, *in = fs->is_stdin ? &fs->stdin_in : &tmp;
    const char *label = fs->is_stdin ? "stdin" : fs->paths[i];
    if (files_in_open(in, fs->paths[i], fs->encoding, fs->max_field + 4, err))
        return -1;
    int n;
    if (jsonl_sample_keys(fs, in, label, &names, &n, err)) {
        if (!fs->is_stdin)
            files_in_close(in);
        return -1;
    }
    if (!fs->is_stdin) {
        estimate_rows(fs, in);
        files_in_close(in);
    }
    if (!n) {
        free_names(names, n);
        return source_fail(err, SRC_E_SCHEMA,
                           "cannot tell the columns of %s: no JSON object in its first %d lines; "
                           "name them with --columns A,B,C",
                           label, JSONL_SAMPLE_LINES);
    }
    /* the table's columns that the first lines lack: a key first seen
     * later still finds its column */
    if (o->nlate > 0) {
        char **more = realloc(names, (size_t)(n + o->nlate) * sizeof *more);
        if (!more) {
            free_names(names, n);
            return source_fail(err, SRC_E_NOMEM, "out of memory");
        }
        names = more;
        int all = n;
        for (int k = 0; k < o->nlate; k++) {
            int seen = 0;
            for (int j = 0; j < all && !seen; j++)
                seen = !strcasecmp(names[j], o->late_columns[k]);
            if (seen)
                continue;
            if (!(names[all] = strdup(o->late_columns[k]))) {
                free_names(names, all);
                return source_fail(err, SRC_E_NOMEM, "out of memory");
            }
            all++;
        }
        n = all;
        fs->late_given = 1;
    }
    char where[300];
    snprintf(where, sizeof where, "%s", label);
    return set_columns(fs, names, n, where, err);
}

/* ---- the ops ----------------------------------------------------------- */

static const source_schema *files_describe(source *s, source_error *err)
{
    (void)err;
    return &((files_source *)s)->schema;
}

static int files_split(source *s, int t, int max_ranges, source_range **out, int *n,
                       source_error *err)
{
    files_source *fs = (files_source *)s;
    (void)max_ranges; /* one range per file, so ids do not depend on the hint */
    if (t != 0)
        return source_fail(err, SRC_E_USAGE, "a %s source has one table (asked for table %d)",
                           fs->kind_name, t);
    source_range *r = calloc((size_t)fs->npaths, sizeof *r);
    if (!r)
        return source_fail(err, SRC_E_NOMEM, "out of memory");
    for (int i = 0; i < fs->npaths; i++) {
        r[i].table = 0;
        r[i].id = i;
        if (src_pos_set_i64(&r[i].lo, i) || src_pos_set_i64(&r[i].hi, fs->sizes[i])) {
            source_ranges_free(r, fs->npaths);
            return source_fail(err, SRC_E_NOMEM, "out of memory");
        }
        snprintf(r[i].label, sizeof r[i].label, "%s", fs->is_stdin ? "stdin" : fs->paths[i]);
    }
    *out = r;
    *n = fs->npaths;
    return 0;
}

static void files_close_range(source_reader *rd)
{
    files_reader *r = (files_reader *)rd;
    if (!r)
        return;
    files_in_close(&r->in);
    free(r->fields.f);
    jsonl_scratch_free(r->jl);
    free(r);
}

/* Position a fresh reader on file `idx` just after resume point `after`
 * (an offset of the decoded stream): check that it is a line start within
 * the data, and count the lines before it. A compressed or converted file
 * is decoded from its start up to there. */
static int seek_resume(files_reader *r, int idx, int64_t after, source_error *err)
{
    files_source *fs = r->src;
    files_in *in = &r->in;
    if (after < fs->data_start[idx])
        return source_fail(err, SRC_E_USAGE,
                           "cannot resume %s at byte %" PRId64 ": its rows start at byte %" PRId64
                           "; did the file change since the interrupted run? (start over "
                           "without resuming)",
                           r->label, after, fs->data_start[idx]);
    int64_t lines = 0, off = 0;
    char last = '\n';
    while (off < after) {
        size_t want = (size_t)(after - off) < in->cap ? (size_t)(after - off) : in->cap;
        long k = instream_read(in->s, in->buf, want);
        if (k < 0)
            return source_fail(err, SRC_E_READ, "%s", instream_error(in->s));
        if (k == 0)
            return source_fail(err, SRC_E_USAGE, "cannot resume %s at byte %" PRId64
                               ": the file is shorter now (%" PRId64 " bytes%s); did the file "
                               "change since the interrupted run? (start over without resuming)",
                               r->label, after, off,
                               instream_is_plain(in->s) ? "" : " decoded");
        const char *p = in->buf;
        for (long i = 0; i < k; i++)
            lines += p[i] == '\n';
        last = p[k - 1];
        off += k;
    }
    in->base = after;
    in->len = in->pos = 0;
    /* at the end of the data: a last line without a line end was loaded */
    int m = files_in_more(in, r->label, err);
    if (m < 0)
        return -1;
    if (last != '\n' && after != fs->data_start[idx] && in->len > 0 && r->jmode == JD_LINES)
        return source_fail(err, SRC_E_USAGE,
                           "cannot resume %s at byte %" PRId64 ": that is not the start of a "
                           "line; did the file change since the interrupted run? (start over "
                           "without resuming)",
                           r->label, after);
    r->line = 1 + lines;
    return 0;
}

static source_reader *files_open_range(source *s, const source_range *rg,
                                       const src_pos *after_pos, source_error *err)
{
    files_source *fs = (files_source *)s;
    int64_t after, nrows = 0;
    if (after_pos->n == 16) { /* offset, records seen (--skip-rows, --max-rows) */
        uint64_t v[2] = {0, 0};
        for (int k = 0; k < 2; k++)
            for (int i = 0; i < 8; i++)
                v[k] = v[k] << 8 | after_pos->p[k * 8 + i];
        after = (int64_t)v[0];
        nrows = (int64_t)v[1];
    } else if (src_pos_get_i64(after_pos, INT64_MIN, &after)) {
        source_fail(err, SRC_E_USAGE, "%s: the saved resume point is not a file offset; start "
                    "the job over with --restart", rg->label);
        return NULL;
    }
    if (rg->table != 0 || rg->id < 0 || rg->id >= fs->npaths) {
        source_fail(err, SRC_E_USAGE, "no range %d in this %s source", rg->id, fs->kind_name);
        return NULL;
    }
    int idx = rg->id;
    if (fs->is_stdin && after != INT64_MIN) {
        source_fail(err, SRC_E_USAGE,
                    "cannot resume reading stdin: what was read is gone. Save the input to a "
                    "file and load the file (it can resume), or start over without resuming");
        return NULL;
    }
    if (fs->is_stdin && fs->stdin_taken) {
        source_fail(err, SRC_E_USAGE, "stdin can be read only once");
        return NULL;
    }
    files_reader *r = calloc(1, sizeof *r);
    if (!r) {
        source_fail(err, SRC_E_NOMEM, "out of memory");
        return NULL;
    }
    r->src = fs;
    r->nrows = nrows;
    snprintf(r->label, sizeof r->label, "%s", fs->is_stdin ? "stdin" : fs->paths[idx]);
    if (fs->kind == FILES_CSV) {
        r->fields.cap = fs->schema.tables[0].ncols + 1;
        r->fields.f = calloc((size_t)r->fields.cap, sizeof *r->fields.f);
        if (!r->fields.f) {
            source_fail(err, SRC_E_NOMEM, "out of memory");
            goto fail;
        }
    }
    if (fs->is_stdin) {
        if (!fs->stdin_in.buf &&
            files_in_open(&fs->stdin_in, "-", fs->encoding, fs->max_field + 4, err))
            goto fail;
        r->in = fs->stdin_in;
        memset(&fs->stdin_in, 0, sizeof fs->stdin_in);
        fs->stdin_taken = 1;
        r->line = fs->stdin_line;
        if (r->in.base == 0 && r->in.pos == 0 && files_skip_bom(&r->in, r->label, err))
            goto fail;
        if (fs->kind == FILES_JSONL &&
            (r->jmode = jsonl_detect(&r->in, r->label, fs->max_field, err)) < 0)
            goto fail;
        return (source_reader *)r;
    }
    if (files_in_open(&r->in, fs->paths[idx], fs->encoding, fs->max_field + 4, err))
        goto fail;
    if (after == INT64_MIN) {
        int64_t start = fs->data_start[idx];
        if (start > 0 && instream_skip(r->in.s, start)) {
            source_fail(err, SRC_E_READ, "%s", instream_error(r->in.s));
            goto fail;
        }
        r->in.base = start;
        r->line = fs->data_line[idx];
        if (start == 0 && files_skip_bom(&r->in, r->label, err))
            goto fail;
        if (fs->kind == FILES_JSONL &&
            (r->jmode = jsonl_detect(&r->in, r->label, fs->max_field, err)) < 0)
            goto fail;
    } else {
        if (fs->kind == FILES_JSONL) {
            /* the shape of the document, from its start */
            files_in head;
            if (files_in_open(&head, fs->paths[idx], fs->encoding, fs->max_field + 4, err))
                goto fail;
            r->jmode = files_skip_bom(&head, r->label, err)
                           ? -1
                           : jsonl_detect(&head, r->label, fs->max_field, err);
            files_in_close(&head);
            if (r->jmode < 0)
                goto fail;
            r->jstate = JA_NEXT; /* resume points are after a record */
        }
        if (seek_resume(r, idx, after, err))
            goto fail;
    }
    return (source_reader *)r;
fail:
    files_close_range((source_reader *)r);
    return NULL;
}

static int files_read(source_reader *rd, row_batch *b, int max_rows, source_error *err)
{
    files_reader *r = (files_reader *)rd;
    if (r->src->kind == FILES_CSV)
        return csv_read_batch(r, b, max_rows, err);
    return jsonl_read_batch(r, b, max_rows, err);
}

static void files_close(source *s)
{
    files_source *fs = (files_source *)s;
    if (!fs)
        return;
    if (fs->stdin_in.buf)
        files_in_close(&fs->stdin_in);
    free_names(fs->paths, fs->npaths);
    free(fs->sizes);
    free(fs->data_start);
    free(fs->data_line);
    source_schema_free(&fs->schema);
    free(fs);
}

/* Each file's path (absolute), size and modification time: a resume reads
 * on from byte offsets, which only fit the same content. */
static json_t *files_fingerprint(source *s, source_error *err)
{
    files_source *fs = (files_source *)s;
    json_t *arr = json_array();
    for (int i = 0; arr && i < fs->npaths; i++) {
        json_t *o;
        struct stat sb;
        if (fs->is_stdin) {
            o = json_pack("{s:s}", "path", "-");
        } else if (stat(fs->paths[i], &sb) != 0) {
            source_fail(err, SRC_E_OPEN, "cannot stat %s: %s", fs->paths[i], strerror(errno));
            json_decref(arr);
            return NULL;
        } else {
            char *real = realpath(fs->paths[i], NULL);
            o = json_pack("{s:s,s:I,s:I}", "path", real ? real : fs->paths[i], "size",
                          (json_int_t)sb.st_size, "mtime_ns",
                          (json_int_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec);
            free(real);
        }
        if (!o || json_array_append_new(arr, o)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    if (!arr)
        source_fail(err, SRC_E_NOMEM, "out of memory");
    return arr;
}

/* What one value holds, for profile: CSV fields are text, counted as the
 * integer or number they spell when they spell one (an empty field is
 * NULL); JSONL values by their JSON type (strings, booleans, objects and
 * arrays count as text). */
static void profile_value(const src_value *v, source_column_profile *p)
{
    int64_t i = 0;
    int is_int = 0, is_real = 0;
    switch (v->kind) {
    case SV_NULL:
        return;
    case SV_INT:
        is_int = 1;
        i = v->u.i;
        break;
    case SV_DOUBLE:
        is_real = 1;
        break;
    case SV_BLOB:
        p->nblob++;
        return;
    case SV_JSON:
        if (json_is_null(v->u.j))
            return;
        if (json_is_integer(v->u.j)) {
            is_int = 1;
            i = json_integer_value(v->u.j);
        } else {
            is_real = json_is_real(v->u.j);
        }
        break;
    case SV_TEXT: {
        char buf[64];
        if (v->u.s.n == 0)
            return;
        if (v->u.s.n < sizeof buf) {
            memcpy(buf, v->u.s.p, v->u.s.n);
            buf[v->u.s.n] = 0;
            char *end = NULL;
            errno = 0;
            long long ll = strtoll(buf, &end, 10);
            if (buf[0] != ' ' && buf[0] != '+' && end && !*end && errno == 0) {
                is_int = 1;
                i = ll;
            } else {
                errno = 0;
                double d = strtod(buf, &end);
                is_real = buf[0] != ' ' && end && !*end && errno == 0 && d == d &&
                          d - d == 0 && !strpbrk(buf, "xXnNiI");
            }
        }
        break;
    }
    default:
        break;
    }
    if (is_int) {
        if (p->nint == 0 || i < p->int_min)
            p->int_min = i;
        if (p->nint == 0 || i > p->int_max)
            p->int_max = i;
        p->nint++;
    } else if (is_real) {
        p->nreal++;
    } else {
        p->ntext++;
    }
}

/* One read of every file (not stdin, which can be read only once). */
static int files_profile(source *s, int t, const int *cols, int n, source_column_profile *out,
                         source_error *err)
{
    files_source *fs = (files_source *)s;
    if (fs->is_stdin)
        return source_fail(err, SRC_E_USAGE, "stdin can be read only once: save it to a file "
                           "to look at its values first");
    const source_table *tb = &fs->schema.tables[0];
    for (int k = 0; k < n; k++) {
        if (cols[k] < 0 || cols[k] >= tb->ncols)
            return source_fail(err, SRC_E_USAGE, "profile: no column %d", cols[k]);
        memset(&out[k], 0, sizeof out[k]);
    }
    source_range *r = NULL;
    int nr = 0;
    if (files_split(s, t, 1, &r, &nr, err))
        return -1;
    row_batch b;
    row_batch_init(&b, 1024);
    src_pos none = {0};
    int rc = 0;
    for (int i = 0; i < nr && !rc; i++) {
        source_reader *rd = files_open_range(s, &r[i], &none, err);
        if (!rd) {
            rc = -1;
            break;
        }
        int got;
        while ((got = files_read(rd, &b, 1024, err)) > 0)
            for (int j = 0; j < b.n; j++)
                for (int k = 0; k < n && !b.rows[j].problem; k++)
                    if (cols[k] < b.rows[j].nvals)
                        profile_value(&b.rows[j].vals[cols[k]], &out[k]);
        if (got < 0)
            rc = -1;
        files_close_range(rd);
    }
    row_batch_release(&b);
    source_ranges_free(r, nr);
    return rc;
}

#define FILES_OPS(kind)                                                                    \
    {                                                                                      \
        .name = kind, .describe = files_describe, .split = files_split,                    \
        .open_range = files_open_range, .read = files_read,                                \
        .close_range = files_close_range, .close = files_close,                            \
        .fingerprint = files_fingerprint, .profile = files_profile,                        \
    }
static const source_ops csv_ops = FILES_OPS("csv");
static const source_ops jsonl_ops = FILES_OPS("jsonl");

static int check_options(const file_options *o, source_error *err)
{
    const char *bad = "\r\n";
    if (!o->delimiter || strchr(bad, o->delimiter))
        return source_fail(err, SRC_E_USAGE, "the delimiter cannot be a line end or NUL");
    if (o->quote && strchr(bad, o->quote))
        return source_fail(err, SRC_E_USAGE, "the quote character cannot be a line end");
    if (o->escape && strchr(bad, o->escape))
        return source_fail(err, SRC_E_USAGE, "the escape character cannot be a line end");
    if (o->delimiter == o->quote || (o->escape && o->delimiter == o->escape))
        return source_fail(err, SRC_E_USAGE,
                           "the delimiter must differ from the quote and escape characters");
    if (o->comment && (strchr(bad, o->comment) || o->comment == o->delimiter ||
                       o->comment == o->quote))
        return source_fail(err, SRC_E_USAGE, "the comment character cannot be a line end, the "
                           "delimiter or the quote character");
    if (o->ncolumns < 0 || (o->ncolumns && !o->columns))
        return source_fail(err, SRC_E_USAGE, "bad column list");
    return 0;
}

/* The table name when none is given: the file name without its extension
 * (the directory name for a directory, "stdin" for -). */
static char *default_table_name(const char *path)
{
    if (!strcmp(path, "-"))
        return strdup("stdin");
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    const char *b = path + n;
    while (b > path && b[-1] != '/')
        b--;
    size_t len = (size_t)(path + n - b);
    const char *dot = memchr(b, '.', len);
    if (dot && dot > b)
        len = (size_t)(dot - b);
    return strndup(b, len);
}

source *source_files_open(const char *kind, const char *path, const char *table_name,
                          const file_options *opts, source_error *err)
{
    file_options defaults;
    if (!opts) {
        file_options_init(&defaults);
        opts = &defaults;
    }
    files_kind k;
    if (!strcmp(kind, "csv"))
        k = FILES_CSV;
    else if (!strcmp(kind, "jsonl"))
        k = FILES_JSONL;
    else {
        source_fail(err, SRC_E_USAGE, "unknown file format '%s' (csv or jsonl)", kind);
        return NULL;
    }
    if (!path || !*path) {
        source_fail(err, SRC_E_USAGE, "no %s path given", kind);
        return NULL;
    }
    if (k == FILES_CSV && check_options(opts, err))
        return NULL;
    if (opts->skip_rows < 0 || opts->max_rows < 0) {
        source_fail(err, SRC_E_USAGE, "--skip-rows and --max-rows take a count of 0 or more");
        return NULL;
    }
    if (opts->nnull > FILE_MAX_NULLS) {
        source_fail(err, SRC_E_USAGE, "at most %d null markers (--null)", FILE_MAX_NULLS);
        return NULL;
    }
    files_source *fs = calloc(1, sizeof *fs);
    if (!fs) {
        source_fail(err, SRC_E_NOMEM, "out of memory");
        return NULL;
    }
    fs->base.ops = k == FILES_CSV ? &csv_ops : &jsonl_ops;
    fs->kind = k;
    snprintf(fs->kind_name, sizeof fs->kind_name, "%s", kind);
    fs->stdin_line = 1;
    fs->header = k == FILES_CSV && opts->header;
    fs->columns_given = opts->ncolumns > 0;
    fs->max_field = opts->max_field ? opts->max_field : (size_t)16 << 20;
    file_options o = *opts;
    const char *nulls[FILE_MAX_NULLS];
    if (o.nnull <= 0) {
        o.nnull = 1;
        o.null_markers = NULL;
    }
    for (int i = 0; i < o.nnull; i++) {
        const char *m = o.null_markers ? o.null_markers[i] : o.null_marker ? o.null_marker : "";
        snprintf(fs->null_store[i], sizeof fs->null_store[i], "%s", m);
        nulls[i] = fs->null_store[i];
    }
    o.null_markers = nulls;
    snprintf(fs->encoding, sizeof fs->encoding, "%s", o.encoding ? o.encoding : "");
    fs->comment = o.comment;
    fs->skip_rows = o.skip_rows;
    fs->max_rows = o.max_rows;
    o.max_field = fs->max_field;
    csv_dialect_init(&fs->dialect, &o);

    fs->schema.tables = calloc(1, sizeof *fs->schema.tables);
    if (!fs->schema.tables) {
        source_fail(err, SRC_E_NOMEM, "out of memory");
        goto fail;
    }
    fs->schema.ntables = 1;
    source_table *t = &fs->schema.tables[0];
    t->row_estimate = -1;
    t->bytes_estimate = -1;
    t->name = table_name ? strdup(table_name) : default_table_name(path);
    if (!t->name) {
        source_fail(err, SRC_E_NOMEM, "out of memory");
        goto fail;
    }
    if (list_files(fs, path, err))
        goto fail;
    fs->sizes = calloc((size_t)fs->npaths, sizeof *fs->sizes);
    fs->data_start = calloc((size_t)fs->npaths, sizeof *fs->data_start);
    fs->data_line = calloc((size_t)fs->npaths, sizeof *fs->data_line);
    if (!fs->sizes || !fs->data_start || !fs->data_line) {
        source_fail(err, SRC_E_NOMEM, "out of memory");
        goto fail;
    }
    for (int i = 0; i < fs->npaths; i++) {
        struct stat st;
        fs->sizes[i] = fs->is_stdin ? -1 : !stat(fs->paths[i], &st) ? (int64_t)st.st_size : 0;
    }
    if (k == FILES_CSV ? read_csv_schema(fs, &o, err) : read_jsonl_schema(fs, &o, err))
        goto fail;
    return &fs->base;
fail:
    files_close(&fs->base);
    return NULL;
}
