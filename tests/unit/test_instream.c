/* Unit tests of the decoded input stream (format/instream.h): gzip (with
 * several members), zstd, the magic bytes whatever the name, corrupt and
 * truncated data with their offsets, encodings (latin1, UTF-16 by its byte
 * order mark), skipping, and reads in small pieces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>
#include <zstd.h>

#include "format/instream.h"

static char dir[] = "/tmp/cqlshift-instream-XXXXXX";

static const char *put(const char *name, const void *data, size_t n)
{
    static char path[4][512];
    static int k;
    char *p = path[k++ % 4];
    snprintf(p, 512, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
    return p;
}

static size_t gzip(const char *src, size_t n, unsigned char *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)(uintptr_t)src;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t len = cap - z.avail_out;
    deflateEnd(&z);
    return len;
}

/* The whole decoded stream, read `piece` bytes at a time; -1 if a read
 * fails (after *n bytes). */
static int read_all(instream *s, char *out, size_t cap, size_t piece, size_t *n)
{
    *n = 0;
    for (;;) {
        size_t want = piece < cap - *n ? piece : cap - *n;
        long k = instream_read(s, out + *n, want);
        if (k < 0)
            return -1;
        if (k == 0)
            return 0;
        *n += (size_t)k;
    }
}

static instream *open_ok(const char *path, const char *enc)
{
    instream_errc code;
    char msg[512];
    instream *s = instream_open(path, path, enc, &code, msg, sizeof msg);
    if (!s)
        fail_msg("%s", msg);
    return s;
}

static char *text(size_t n)
{
    char *t = malloc(n);
    assert_non_null(t);
    for (size_t i = 0; i < n; i++)
        t[i] = i % 61 == 60 ? '\n' : (char)('a' + (i * 7919 % 26));
    return t;
}

static void test_gzip_members_and_magic(void **state)
{
    (void)state;
    size_t n = 300000;
    char *t = text(n);
    unsigned char *z = malloc(n * 2);
    size_t a = gzip(t, 100000, z, n * 2);
    size_t b = gzip(t + 100000, n - 100000, z + a, n * 2 - a);
    /* no .gz in the name: the magic bytes say gzip */
    const char *p = put("two-members.csv", z, a + b);
    instream *s = open_ok(p, NULL);
    assert_string_equal(instream_compression(s), "gzip");
    assert_false(instream_is_plain(s));
    char *out = malloc(n + 10);
    size_t got;
    assert_int_equal(read_all(s, out, n + 10, 777, &got), 0);
    assert_int_equal(got, n);
    assert_memory_equal(out, t, n);
    instream_close(s);

    /* truncated: the bytes before the cut come out, then one sentence */
    p = put("cut.csv.gz", z, a / 2);
    s = open_ok(p, NULL);
    assert_int_equal(read_all(s, out, n + 10, 4096, &got), -1);
    assert_true(got > 0 && got < 100000);
    assert_memory_equal(out, t, got);
    assert_non_null(strstr(instream_error(s), "cut.csv.gz: the gzip data ends early"));
    assert_non_null(strstr(instream_error(s), "compressed byte"));
    assert_int_equal(instream_error_code(s), INSTREAM_E_DATA);
    instream_close(s);

    /* corrupt in the middle: an error (or an early end) where it stops */
    memset(z + a / 2, 0xA5, 64);
    p = put("bad.csv.gz", z, a);
    s = open_ok(p, NULL);
    assert_int_equal(read_all(s, out, n + 10, 4096, &got), -1);
    assert_non_null(strstr(instream_error(s), "bad.csv.gz: "));
    assert_non_null(strstr(instream_error(s), " at compressed byte "));
    assert_true(got < 100000);
    instream_close(s);

    /* a wrong checksum in the trailer: every byte came out, then the fault */
    a = gzip(t, 1000, z, n * 2);
    z[a - 8] ^= 0xFF;
    p = put("crc.csv.gz", z, a);
    s = open_ok(p, NULL);
    assert_int_equal(read_all(s, out, n + 10, 4096, &got), -1);
    assert_int_equal(got, 1000);
    assert_memory_equal(out, t, 1000);
    assert_non_null(strstr(instream_error(s), "crc.csv.gz: corrupt gzip data at compressed byte"));
    assert_non_null(strstr(instream_error(s), "(decompressed byte 1000)"));
    instream_close(s);
    free(z);
    free(out);
    free(t);
}

static void test_zstd_and_names(void **state)
{
    (void)state;
    size_t n = 200000;
    char *t = text(n);
    size_t cap = ZSTD_compressBound(n);
    char *z = malloc(cap);
    size_t zn = ZSTD_compress(z, cap, t, n, 3);
    assert_false(ZSTD_isError(zn));
    const char *p = put("data.jsonl.zst", z, zn);
    instream *s = open_ok(p, NULL);
    assert_string_equal(instream_compression(s), "zstd");
    char *out = malloc(n + 10);
    size_t got;
    assert_int_equal(read_all(s, out, n + 10, 5000, &got), 0);
    assert_int_equal(got, n);
    assert_memory_equal(out, t, n);
    instream_close(s);

    p = put("short.zst", z, zn - 10);
    s = open_ok(p, NULL);
    assert_int_equal(read_all(s, out, n + 10, 5000, &got), -1);
    assert_non_null(strstr(instream_error(s), "short.zst: the zstd data ends early"));
    instream_close(s);

    /* a name that says gzip over bytes that are not */
    p = put("plain.csv.gz", "id\n1\n", 5);
    instream_errc code;
    char msg[512];
    assert_null(instream_open(p, p, NULL, &code, msg, sizeof msg));
    assert_int_equal(code, INSTREAM_E_DATA);
    assert_non_null(strstr(msg, "not gzip data"));

    size_t stem;
    assert_true(instream_compressed_name("a.csv.gz", &stem) && stem == 5);
    assert_true(instream_compressed_name("a.jsonl.ZSTD", &stem) && stem == 7);
    assert_false(instream_compressed_name("a.csv", &stem));
    free(z);
    free(out);
    free(t);
}

static void test_encodings(void **state)
{
    (void)state;
    char out[256];
    size_t got;
    const char *p = put("l1.csv", "id,name\n1,caf\xe9\n", 15);
    instream *s = open_ok(p, "latin1");
    assert_int_equal(read_all(s, out, sizeof out, 3, &got), 0);
    assert_int_equal(got, 16);
    assert_memory_equal(out, "id,name\n1,caf\xc3\xa9\n", 16);
    instream_close(s);

    /* UTF-16LE by its mark, no --encoding; the mark is not passed on */
    const char u16[] = "\xff\xfei\0d\0\n\0\x2c\x67\n\0";
    p = put("u16.csv", u16, sizeof u16 - 1);
    s = open_ok(p, NULL);
    assert_int_equal(read_all(s, out, sizeof out, 1, &got), 0);
    assert_int_equal(got, 7);
    assert_memory_equal(out, "id\n\xe6\x9c\xac\n", 7);
    instream_close(s);

    /* bytes that are not of the encoding: line and byte named */
    p = put("w.csv", "id\n1\n2\x80x\n", 8);
    s = open_ok(p, "ascii");
    assert_int_equal(read_all(s, out, sizeof out, 100, &got), -1);
    assert_int_equal(got, 6);
    assert_non_null(strstr(instream_error(s), "w.csv: line 3, byte 6 of the file"));
    assert_non_null(strstr(instream_error(s), "--encoding"));
    instream_close(s);

    instream_errc code;
    char msg[512];
    assert_null(instream_open(p, p, "no-such-charset", &code, msg, sizeof msg));
    assert_int_equal(code, INSTREAM_E_USAGE);
}

static void test_skip(void **state)
{
    (void)state;
    char out[64];
    size_t got;
    const char *p = put("skip.csv", "0123456789abcdef", 16);
    instream *s = open_ok(p, NULL);
    assert_true(instream_is_plain(s));
    assert_int_equal(instream_skip(s, 10), 0);
    assert_int_equal(read_all(s, out, sizeof out, 100, &got), 0);
    assert_int_equal(got, 6);
    assert_memory_equal(out, "abcdef", 6);
    instream_close(s);
    unsigned char z[128];
    size_t zn = gzip("0123456789abcdef", 16, z, sizeof z);
    p = put("skip.gz", z, zn);
    s = open_ok(p, NULL);
    assert_int_equal(instream_skip(s, 10), 0);
    assert_int_equal(read_all(s, out, sizeof out, 100, &got), 0);
    assert_memory_equal(out, "abcdef", 6);
    assert_int_equal(instream_skip(s, 1), -1); /* past the end */
    instream_close(s);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gzip_members_and_magic),
        cmocka_unit_test(test_zstd_and_names),
        cmocka_unit_test(test_encodings),
        cmocka_unit_test(test_skip),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
