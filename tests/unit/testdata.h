/* Loading captured bytes from tests/unit/data/ in unit tests.
 * Include after <cmocka.h>. */
#ifndef CQLSHIFT_TESTS_TESTDATA_H
#define CQLSHIFT_TESTS_TESTDATA_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Read tests/unit/data/NAME whole (malloc'd, caller frees); *n gets its
 * length. The directory comes from CQLSHIFT_SOURCE_DIR (set by ctest), else
 * from this header's own path. Fails the test if the file is unreadable. */
static inline uint8_t *test_data_load(const char *name, size_t *n)
{
    char path[4096];
    const char *dir = getenv("CQLSHIFT_SOURCE_DIR");
    if (dir)
        snprintf(path, sizeof path, "%s/tests/unit/data/%s", dir, name);
    else
        snprintf(path, sizeof path, "%.*s/data/%s", (int)(strrchr(__FILE__, '/') - __FILE__),
                 __FILE__, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(len > 0 ? (size_t)len : 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return p;
}

#endif
