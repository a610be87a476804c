/* Unit tests of users' text forms (format/textfmt.h): timestamp and date
 * formats both ways (strftime-like and DSBulk-style patterns), zones,
 * sub-millisecond digits refused, malformed texts with where they fail,
 * and number separators both ways. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "format/textfmt.h"

static int64_t ts(const char *f, const char *s, int zone, int expect_rc)
{
    int64_t ms = -1;
    char why[200] = "";
    int rc = textfmt_read_timestamp(f, s, strlen(s), zone, &ms, why, sizeof why);
    if (rc != expect_rc)
        fail_msg("'%s' with '%s': rc %d (%s), wanted %d", s, f, rc, why, expect_rc);
    return ms;
}

static const char *tr(const char *user)
{
    static char out[256];
    char why[300];
    if (textfmt_translate(user, out, sizeof out, why, sizeof why))
        fail_msg("translate '%s': %s", user, why);
    return out;
}

static void test_read_timestamps(void **st)
{
    (void)st;
    /* 2024-03-05 14:07:09.123 UTC = 1709647629123 */
    assert_int_equal(ts("%Y-%m-%d %H:%M:%S.%f", "2024-03-05 14:07:09.123", 0, 0), 1709647629123LL);
    assert_int_equal(ts("%d/%m/%Y %H:%M:%S", "05/03/2024 14:07:09", 0, 0), 1709647629000LL);
    /* the text's zone wins; without one, the default zone */
    assert_int_equal(ts("%d/%m/%Y %H:%M:%S%z", "05/03/2024 16:07:09+02:00", 0, 0),
                     1709647629000LL);
    assert_int_equal(ts("%d/%m/%Y %H:%M:%S", "05/03/2024 16:07:09", 120, 0), 1709647629000LL);
    assert_int_equal(ts("%d/%m/%Y %H:%M:%S %Z", "05/03/2024 14:07:09 UTC", 300, 0),
                     1709647629000LL);
    assert_int_equal(ts("%b %e %Y %I:%M %p", "Mar  5 2024 02:07 PM", 0, 0), 1709647620000LL);
    assert_int_equal(ts("%B %d, %Y %I:%M %p", "march 05, 2024 12:00 am", 0, 0), 1709596800000LL);
    assert_int_equal(ts("%s", "1709647629", 0, 0), 1709647629000LL);
    assert_int_equal(ts("%s.%f", "1709647629.5", 0, 0), 1709647629500LL);
    assert_int_equal(ts("%FT%T", "2024-03-05T14:07:09", 0, 0), 1709647629000LL);
    /* %p's 12 hours once, whatever comes after it */
    assert_int_equal(ts("%I:%M %p %F", "03:00 PM 2024-01-02", 0, 0), 1704207600000LL);
    /* seconds with a fraction: the fraction has the seconds' sign */
    assert_int_equal(ts("%s.%f", "-1.500", 0, 0), -1500LL);
    assert_int_equal(ts("%s.%f", "-0.250", 0, 0), -250LL);
    assert_int_equal(ts("%Y-%j", "2024-065", 0, 0), 1709596800000LL);
    /* before 1970 and far years */
    assert_int_equal(ts("%Y-%m-%d", "1969-12-31", 0, 0), -86400000LL);
    /* digits below the millisecond: refused; zeros are fine */
    ts("%Y-%m-%d %H:%M:%S.%f", "2024-03-05 14:07:09.1234", 0, -2);
    assert_int_equal(ts("%Y-%m-%d %H:%M:%S.%f", "2024-03-05 14:07:09.123000", 0, 0),
                     1709647629123LL);
    /* malformed */
    ts("%d/%m/%Y", "31/02/2024", 0, -1);
    ts("%d/%m/%Y", "5/13/2024", 0, -1);
    ts("%d/%m/%Y", "05/03/2024 extra", 0, -1);
    ts("%d/%m/%Y", "05-03-2024", 0, -1);
    ts("%H:%M", "14:07", 0, -1);   /* no year */
    char why[200];
    int64_t ms;
    assert_int_equal(textfmt_read_timestamp("%d/%m/%Y", "05-03-2024", 10, 0, &ms, why, sizeof why),
                     -1);
    assert_non_null(strstr(why, "character 3"));
}

static void test_dates_and_patterns(void **st)
{
    (void)st;
    int64_t d;
    char why[200];
    assert_int_equal(textfmt_read_date("%d.%m.%Y", "29.02.2024", 10, &d, why, sizeof why), 0);
    assert_int_equal(d, 19782);
    assert_int_equal(textfmt_read_date("%d.%m.%Y", "29.02.2023", 10, &d, why, sizeof why), -1);
    assert_non_null(strstr(why, "no day 29"));
    assert_string_equal(tr("dd/MM/yyyy HH:mm:ss.SSSXXX"), "%d/%m/%Y %H:%M:%S.%f%z");
    assert_string_equal(tr("yyyy-MM-dd'T'HH:mm"), "%Y-%m-%dT%H:%M");
    assert_string_equal(tr("EEE, d MMM yyyy hh:mm a"), "%a, %d %b %Y %I:%M %p");
    assert_string_equal(tr("'o''clock' HH"), "o'clock %H");
    assert_string_equal(tr("%Y"), "%Y");
    char out[64];
    assert_int_equal(textfmt_translate("yyyy-qq", out, sizeof out, why, sizeof why), -1);
    assert_non_null(strstr(why, "'q'"));
    assert_int_equal(textfmt_translate("yyyy 'open", out, sizeof out, why, sizeof why), -1);
    assert_int_equal(textfmt_check("%Y-%m-%d %H", 0, why, sizeof why), -1);
    assert_non_null(strstr(why, "%H"));
    assert_int_equal(textfmt_check("%Y-%q", 1, why, sizeof why), -1);
    assert_int_equal(textfmt_check("%Y-%m-%d %H:%M:%S.%f%z", 1, why, sizeof why), 0);
    int z;
    assert_int_equal(textfmt_parse_zone("+05:30", &z), 0);
    assert_int_equal(z, 330);
    assert_int_equal(textfmt_parse_zone("-0800", &z), 0);
    assert_int_equal(z, -480);
    assert_int_equal(textfmt_parse_zone("UTC", &z), 0);
    assert_int_equal(z, 0);
    assert_int_equal(textfmt_parse_zone("Europe/Paris", &z), -1);
}

static void test_write(void **st)
{
    (void)st;
    cs_buf b;
    cs_buf_init(&b, 1 << 16);
    assert_int_equal(textfmt_write_timestamp("%d/%m/%Y %H:%M:%S.%f%z", 1709647629123LL, 120, &b), 0);
    cs_buf_put_u8(&b, 0);
    assert_string_equal((const char *)b.data, "05/03/2024 16:07:09.123+0200");
    cs_buf_reset(&b);
    assert_int_equal(textfmt_write_timestamp("%a %b %e %I:%M %p %Z %s", -1, 0, &b), 0);
    cs_buf_put_u8(&b, 0);
    assert_string_equal((const char *)b.data, "Wed Dec 31 11:59 PM UTC -0");
    cs_buf_reset(&b);
    assert_int_equal(textfmt_write_timestamp("%s.%f", -1500, 0, &b), 0);
    cs_buf_put_u8(&b, 0);
    assert_string_equal((const char *)b.data, "-1.500");
    cs_buf_reset(&b);
    assert_int_equal(textfmt_write_date("%d.%m.%Y (%j)", 19782, &b), 0);
    cs_buf_put_u8(&b, 0);
    assert_string_equal((const char *)b.data, "29.02.2024 (060)");
    /* what is written reads back */
    int64_t ms;
    char why[100];
    cs_buf_reset(&b);
    textfmt_write_timestamp("%Y-%m-%d %H:%M:%S.%f%z", -62135596800000LL + 1, -330, &b);
    assert_int_equal(textfmt_read_timestamp("%Y-%m-%d %H:%M:%S.%f%z", (const char *)b.data, b.len,
                                            0, &ms, why, sizeof why),
                     0);
    assert_int_equal(ms, -62135596800000LL + 1);
    cs_buf_release(&b);
}

/* Named zones: offsets against the C library's reading of the same zone
 * files (localtime_r with TZ set: another implementation), from 1900 to
 * 2100, so past the files' last transition (2037), where the POSIX rule at
 * their end takes over; gaps and overlaps resolved as java.time does. */
static void test_named_zones(void **st)
{
    (void)st;
    char why[600];
    static const char *const names[] = {"Europe/Paris", "America/New_York", "Australia/Sydney",
                                        "Asia/Kolkata", "America/Sao_Paulo", "Pacific/Chatham",
                                        "Africa/Casablanca", "Europe/Dublin", "UTC"};
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        const cs_tz *z = cs_tz_open(names[k], why, sizeof why);
        if (!z)
            fail_msg("%s: %s", names[k], why);
        assert_ptr_equal(cs_tz_open(names[k], why, sizeof why), z);   /* opened once */
        setenv("TZ", names[k], 1);
        tzset();
        uint64_t x = 88172645463325252ULL;
        for (int i = 0; i < 20000; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            /* 1902..2100 */
            int64_t t = -2145916800LL + (int64_t)(x % 6279840000ULL);
            time_t tt = (time_t)t;
            struct tm tm;
            assert_non_null(localtime_r(&tt, &tm));
            if (cs_tz_offset_at(z, t) != tm.tm_gmtoff)
                fail_msg("%s at %lld: %d, the C library says %ld", names[k], (long long)t,
                         cs_tz_offset_at(z, t), tm.tm_gmtoff);
            /* the wall-clock time maps back to an instant of that wall-clock time */
            int64_t local = t + tm.tm_gmtoff, u = cs_tz_to_utc(z, local);
            if (u + cs_tz_offset_at(z, u) != local)
                fail_msg("%s: local %lld maps to %lld", names[k], (long long)local, (long long)u);
        }
    }
    unsetenv("TZ");
    tzset();
    const cs_tz *paris = cs_tz_open("Europe/Paris", why, sizeof why);
    assert_non_null(paris);
    /* 2024-03-31 02:30 is skipped: 03:30 summer time (01:30Z) */
    assert_int_equal(cs_tz_to_utc(paris, 1711852200), 1711848600);
    /* 2024-10-27 02:30 happens twice: the first (00:30Z, summer time) */
    assert_int_equal(cs_tz_to_utc(paris, 1729996200), 1729989000);
    /* read and written through a format */
    int64_t ms = 0;
    assert_int_equal(textfmt_read_timestamp_tz("%Y-%m-%d %H:%M", "2024-07-01 12:00", 16, 0, paris,
                                               &ms, why, sizeof why), 0);
    assert_int_equal(ms, 1719828000000LL);
    assert_int_equal(textfmt_read_timestamp_tz("%Y-%m-%d %H:%M%z", "2024-07-01 12:00+0000", 21, 0,
                                               paris, &ms, why, sizeof why), 0);
    assert_int_equal(ms, 1719835200000LL);  /* its own zone wins */
    cs_buf b;
    cs_buf_init(&b, 1 << 16);
    assert_int_equal(textfmt_write_timestamp_tz("%FT%T.%f%Z", 1719828000000LL, 0, paris, &b), 0);
    assert_int_equal(textfmt_write_timestamp_tz(" %FT%T.%f%Z", 1704103200000LL, 0, paris, &b), 0);
    cs_buf_put_u8(&b, 0);
    assert_string_equal((const char *)b.data,
                        "2024-07-01T12:00:00.000+02:00 2024-01-01T11:00:00.000+01:00");
    cs_buf_release(&b);
    /* names that are not zones, files that are not zone files */
    assert_null(cs_tz_open("Mars/Olympus", why, sizeof why));
    assert_non_null(strstr(why, "not known here"));
    assert_null(cs_tz_open("../../etc/passwd", why, sizeof why));
    assert_null(cs_tz_open("/etc/passwd", why, sizeof why));
    FILE *f = fopen("/usr/share/zoneinfo/Europe/Paris", "rb");
    assert_non_null(f);
    static uint8_t data[8192];
    size_t len = fread(data, 1, sizeof data, f);
    fclose(f);
    for (size_t cut = 0; cut < len; cut += 7) {   /* cut short anywhere: refused or read */
        cs_tz *t = cs_tz_parse("cut", data, cut, why, sizeof why);
        cs_tz_free(t);
    }
    assert_null(cs_tz_parse("cut", data, 100, why, sizeof why));
    assert_non_null(strstr(why, "cut short"));
}

static void test_numbers(void **st)
{
    (void)st;
    char out[64];
    assert_int_equal(textfmt_number_in("1.234.567,89", 12, ',', '.', out, sizeof out), 10);
    assert_string_equal(out, "1234567.89");
    assert_int_equal(textfmt_number_in("-12 345", 7, 0, ' ', out, sizeof out), 6);
    assert_string_equal(out, "-12345");
    assert_int_equal(textfmt_number_in("1,5e3", 5, ',', 0, out, sizeof out), 5);
    assert_string_equal(out, "1.5e3");
    /* separators out of place */
    assert_int_equal(textfmt_number_in("12.34.567", 9, ',', '.', out, sizeof out), -1);
    assert_int_equal(textfmt_number_in("1234.567", 8, ',', '.', out, sizeof out), -1);
    assert_int_equal(textfmt_number_in("1.234,5.6", 9, ',', '.', out, sizeof out), -1);
    cs_buf b;
    cs_buf_init(&b, 1 << 16);
    assert_int_equal(textfmt_number_out("-1234567.891", 12, ',', '.', &b), 0);
    cs_buf_put_u8(&b, 0);
    assert_string_equal((const char *)b.data, "-1.234.567,891");
    cs_buf_reset(&b);
    assert_int_equal(textfmt_number_out("123", 3, ',', '.', &b), 0);
    assert_int_equal(textfmt_number_out("1e+20", 5, ',', ' ', &b), 0);
    cs_buf_put_u8(&b, 0);
    assert_string_equal((const char *)b.data, "1231e+20");
    cs_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_timestamps),
        cmocka_unit_test(test_dates_and_patterns),
        cmocka_unit_test(test_write),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_named_zones),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
