/* The reject file: JSONL, one object per rejected row. See progress.h.
 *
 * Each row is built in memory and handed to the kernel with write(2) on an
 * O_APPEND descriptor: no stdio buffer sits between us and the file, which
 * is the "flush after every row" a crash needs, and one row is one write,
 * so concurrent writers never interleave within a line.
 */
#include "obs/progress.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/utf8.h"
#include "util/buf.h"

struct rejects {
    int fd;             /* the one file, or -1 in dir mode */
    int dir_mode;       /* one file per table in the folder `path` */
    struct {
        char *table;
        int fd;
    } *files;
    int nfiles, files_cap;
    char *path;
    pthread_mutex_t mu;
    atomic_llong count; /* rows recorded through this handle (not earlier runs') */
};

/* Append one byte of valid UTF-8 text, escaped as JSON requires. */
static void put_escaped(cs_buf *b, uint8_t c)
{
    if (c == '"' || c == '\\') {
        char esc[2] = {'\\', (char)c};
        cs_buf_append(b, esc, 2);
    } else if (c < 0x20) {
        static const char short_esc[] = "btn.fr"; /* \b \t \n (\v has none) \f \r */
        if (c >= 0x08 && c <= 0x0D && c != 0x0B)
            cs_buf_printf(b, "\\%c", short_esc[c - 0x08]);
        else
            cs_buf_printf(b, "\\u%04x", c);
    } else {
        cs_buf_append(b, &c, 1);
    }
}

/* Append s[0..n) as a JSON string literal. Bytes that are not UTF-8 become
 * U+FFFD; returns 1 if that happened (the text is then not exact). */
static int put_json_string(cs_buf *b, const char *s, size_t n)
{
    const uint8_t *u = (const uint8_t *)s;
    int lossy = 0;
    cs_buf_append(b, "\"", 1);
    for (size_t i = 0; i < n;) {
        /* The validator of CQL text values, so both agree on what UTF-8 is. */
        size_t valid = i + utf8_invalid_at(u + i, n - i);
        for (; i < valid; i++)
            put_escaped(b, u[i]);
        if (i < n) {
            cs_buf_append(b, "\\ufffd", 6);
            lossy = 1;
            i++;
        }
    }
    cs_buf_append(b, "\"", 1);
    return lossy;
}

static void put_json_cstr(cs_buf *b, const char *s)
{
    if (s)
        put_json_string(b, s, strlen(s));
    else
        cs_buf_append(b, "null", 4);
}

/* The exact bytes of a row that is not valid UTF-8, so nothing is lost. */
static void put_base64(cs_buf *b, const char *raw, size_t n)
{
    uint8_t *out = cs_buf_extend(b, 4 * ((n + 2) / 3) + 1);
    if (!out)
        return;
    int w = EVP_EncodeBlock(out, (const unsigned char *)raw, (int)n);
    b->len -= 4 * ((n + 2) / 3) + 1 - (size_t)w;
}

/* values_json verbatim if it is JSON (so numbers keep every digit, which
 * re-serializing through doubles would not), with line breaks (only ever
 * whitespace in valid JSON) turned into spaces to keep one row per line;
 * otherwise as a string. */
static void put_values(cs_buf *b, const char *values_json)
{
    json_error_t jerr;
    size_t n = strlen(values_json);
    /* Parsed only to validate; integers as reals so that a value beyond
     * int64 (a varint) is still accepted as the JSON it is. */
    json_t *v = json_loadb(values_json, n, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL,
                           &jerr);
    if (!v) {
        put_json_string(b, values_json, n);
        return;
    }
    json_decref(v);
    size_t start = b->len;
    if (cs_buf_append(b, values_json, n) < 0)
        return;
    for (size_t i = start; i < b->len; i++)
        if (b->data[i] == '\n' || b->data[i] == '\r')
            b->data[i] = ' ';
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Open path for appending (truncate = 1: emptied first); a partial last
 * line left by a crash is ended first, so the rows written now stay
 * parseable. The descriptor, or -1 with errno. */
static int open_fd(const char *path, int truncate)
{
    /* Readable when appending, to look at the last byte below. */
    int fd = open(path, (truncate ? O_WRONLY | O_TRUNC : O_RDWR) | O_CREAT | O_APPEND | O_CLOEXEC,
                  0644);
    if (fd < 0)
        return -1;
    struct stat sb;
    char last;
    if (!truncate && fstat(fd, &sb) == 0 && sb.st_size > 0 &&
        pread(fd, &last, 1, sb.st_size - 1) == 1 && last != '\n' &&
        write_all(fd, (const uint8_t *)"\n", 1) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static rejects *rejects_new(const char *path, int fd, int dir_mode)
{
    rejects *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        if (fd >= 0)
            close(fd);
        errno = ENOMEM;
        return NULL;
    }
    r->fd = fd;
    r->dir_mode = dir_mode;
    atomic_init(&r->count, 0);
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

rejects *rejects_open(const char *path, int append)
{
    if (!path || !*path) {
        errno = EINVAL;
        return NULL;
    }
    int fd = open_fd(path, !append);
    return fd < 0 ? NULL : rejects_new(path, fd, 0);
}

rejects *rejects_open_dir(const char *dir)
{
    struct stat sb;
    if (!dir || !*dir) {
        errno = EINVAL;
        return NULL;
    }
    if (stat(dir, &sb) != 0)
        return NULL;
    if (!S_ISDIR(sb.st_mode)) {
        errno = ENOTDIR;
        return NULL;
    }
    return rejects_new(dir, -1, 1);
}

/* The descriptor for table's rows (dir mode: rejects-<table>.jsonl, opened
 * on its first row); the caller holds r->mu. -1 with errno. */
static int table_fd(rejects *r, const char *table)
{
    if (!r->dir_mode)
        return r->fd;
    const char *name = table && *table ? table : "unnamed";
    for (int i = 0; i < r->nfiles; i++)
        if (!strcmp(r->files[i].table, name))
            return r->files[i].fd;
    if (r->nfiles == r->files_cap) {
        int cap = r->files_cap ? 2 * r->files_cap : 8;
        void *nf = realloc(r->files, (size_t)cap * sizeof *r->files);
        if (!nf) {
            errno = ENOMEM;
            return -1;
        }
        r->files = nf;
        r->files_cap = cap;
    }
    /* Cassandra names are [A-Za-z0-9_]; anything else becomes '_' so a
     * name can never leave the folder. */
    cs_buf p;
    cs_buf_init(&p, SIZE_MAX);
    cs_buf_printf(&p, "%s/rejects-", r->path);
    for (const char *c = name; *c; c++) {
        char ch = (isalnum((unsigned char)*c) || *c == '_' || *c == '.') && !(c == name && *c == '.')
                      ? *c : '_';
        cs_buf_append(&p, &ch, 1);
    }
    cs_buf_printf(&p, ".jsonl");
    char *tcopy = strdup(name);
    int fd = tcopy && p.data ? open_fd((const char *)p.data, 0) : -1;
    int e = errno;
    cs_buf_release(&p);
    if (fd < 0) {
        free(tcopy);
        errno = e;
        return -1;
    }
    r->files[r->nfiles].table = tcopy;
    r->files[r->nfiles].fd = fd;
    r->nfiles++;
    return fd;
}

int rejects_forget_table(rejects *r, const char *table)
{
    if (!r || !r->dir_mode) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&r->mu);
    int fd = table_fd(r, table);
    int rc = fd < 0 ? -1 : ftruncate(fd, 0);
    pthread_mutex_unlock(&r->mu);
    return rc;
}

int rejects_write(rejects *r, const char *table, int64_t pos, const char *reason, const char *raw,
                  size_t raw_len, const char *values_json)
{
    if (!r) {
        errno = EINVAL;
        return -1;
    }
    /* Reserve the longest the line can be (every byte escaped to six, plus
     * base64), so a short allocation cannot leave a row half-built: after
     * this, no append below can fail. */
    size_t text = (table ? strlen(table) : 0) + (reason ? strlen(reason) : 0) +
                  (raw ? raw_len : values_json ? strlen(values_json) : 0);
    cs_buf b;
    cs_buf_init(&b, SIZE_MAX);
    if (cs_buf_reserve(&b, 6 * text + (raw ? raw_len / 3 * 4 + 8 : 0) + 128) < 0) {
        errno = ENOMEM;
        return -1;
    }
    cs_buf_printf(&b, "{\"table\":");
    put_json_cstr(&b, table);
    cs_buf_printf(&b, ",\"position\":%lld,\"reason\":", (long long)pos);
    put_json_cstr(&b, reason);
    cs_buf_printf(&b, ",\"row\":");
    if (raw) {
        if (put_json_string(&b, raw, raw_len)) {
            cs_buf_printf(&b, ",\"row_base64\":\"");
            put_base64(&b, raw, raw_len);
            cs_buf_append(&b, "\"", 1);
        }
    } else if (values_json) {
        put_values(&b, values_json);
    } else {
        cs_buf_append(&b, "null", 4);
    }
    cs_buf_append(&b, "}\n", 2);
    pthread_mutex_lock(&r->mu);
    int fd = table_fd(r, table);
    int ret = fd < 0 ? -1 : write_all(fd, b.data, b.len);
    int e = errno;
    if (ret == 0)
        atomic_fetch_add(&r->count, 1);
    pthread_mutex_unlock(&r->mu);
    cs_buf_release(&b);
    errno = e;
    return ret;
}

int64_t rejects_count(const rejects *r) { return r ? atomic_load(&r->count) : 0; }

const char *rejects_path(const rejects *r) { return r ? r->path : NULL; }

void rejects_close(rejects *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    for (int i = 0; i < r->nfiles; i++) {
        close(r->files[i].fd);
        free(r->files[i].table);
    }
    free(r->files);
    pthread_mutex_destroy(&r->mu);
    free(r->path);
    free(r);
}
