/* Users' text forms of dates, timestamps and numbers (textfmt.h). */
#include "format/textfmt.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cql/types_int.h"

static const char *const months[12] = {"january", "february", "march",     "april",
                                       "may",     "june",     "july",      "august",
                                       "september", "october", "november", "december"};
static const char *const days_of_week[7] = {"monday", "tuesday",  "wednesday", "thursday",
                                            "friday", "saturday", "sunday"};

int textfmt_check(const char *f, int ts, char *why, size_t n)
{
    if (!f || !*f) {
        snprintf(why, n, "the format is empty");
        return -1;
    }
    for (const char *p = f; *p; p++) {
        if (*p != '%')
            continue;
        char c = *++p;
        if (!c) {
            snprintf(why, n, "the format ends with a lone %%: write %%%% for a percent sign");
            return -1;
        }
        if (strchr("YymdebBaAjF%", c))
            continue;
        if (strchr("HIpMSfzZsT", c)) {
            if (ts)
                continue;
            snprintf(why, n, "%%%c is a time directive; a date has none (use it in "
                             "--timestamp-format)", c);
            return -1;
        }
        snprintf(why, n, "%%%c is not a directive cqlshift knows (see docs/load.md, \"Dates, "
                         "timestamps and numbers\")", c);
        return -1;
    }
    return 0;
}

int textfmt_translate(const char *user, char *out, size_t cap, char *why, size_t n)
{
    size_t o = 0;
#define PUT(str)                                                                               \
    do {                                                                                       \
        size_t l_ = strlen(str);                                                               \
        if (o + l_ >= cap) {                                                                   \
            snprintf(why, n, "the format is too long");                                        \
            return -1;                                                                         \
        }                                                                                      \
        memcpy(out + o, str, l_);                                                              \
        o += l_;                                                                               \
    } while (0)
    if (strchr(user, '%')) {
        PUT(user);
        out[o] = 0;
        return 0;
    }
    for (size_t i = 0; user[i];) {
        char c = user[i];
        if (c == '\'') {   /* 'text' as it is; '' is a quote, inside or out */
            size_t j = i + 1;
            if (user[j] == '\'') {
                PUT("'");
                i += 2;
                continue;
            }
            for (;; j++) {
                if (!user[j]) {
                    snprintf(why, n, "a quote opened at character %zu is not closed", i + 1);
                    return -1;
                }
                if (user[j] == '\'' && user[j + 1] == '\'') {
                    PUT("'");
                    j++;
                } else if (user[j] == '\'') {
                    break;
                } else {
                    char ch[2] = {user[j], 0};
                    PUT(ch);
                }
            }
            i = j + 1;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
            char ch[2] = {c, 0};
            PUT(ch);
            i++;
            continue;
        }
        size_t w = 1;
        while (user[i + w] == c)
            w++;
        const char *d = NULL;
        switch (c) {
        case 'y': case 'u': d = w == 2 ? "%y" : "%Y"; break;
        case 'M': d = w >= 4 ? "%B" : w == 3 ? "%b" : "%m"; break;
        case 'd': d = "%d"; break;
        case 'H': d = "%H"; break;
        case 'h': d = "%I"; break;
        case 'm': d = "%M"; break;
        case 's': d = "%S"; break;
        case 'S': d = "%f"; break;
        case 'a': d = "%p"; break;
        case 'X': case 'x': case 'Z': d = "%z"; break;
        case 'E': d = w >= 4 ? "%A" : "%a"; break;
        case 'D': d = "%j"; break;
        case 'T': d = "T"; break;   /* as in yyyy-MM-ddTHH:mm:ss */
        default:
            snprintf(why, n, "'%c' (character %zu) is not a pattern letter cqlshift knows: the "
                             "letters are yyyy MM dd HH mm ss SSS (and M MMM MMMM d H h a E X "
                             "D); other text goes in single quotes, or write the format with "
                             "%%-directives (%%Y-%%m-%%d)", c, i + 1);
            return -1;
        }
        PUT(d);
        i += w;
    }
    out[o] = 0;
    return 0;
#undef PUT
}

int textfmt_parse_zone(const char *z, int *min)
{
    if (!strcasecmp(z, "UTC") || !strcasecmp(z, "Z") || !strcasecmp(z, "GMT")) {
        *min = 0;
        return 0;
    }
    if (*z != '+' && *z != '-')
        return -1;
    int sg = *z == '-' ? -1 : 1;
    const char *p = z + 1;
    if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]))
        return -1;
    int h = (p[0] - '0') * 10 + (p[1] - '0'), m = 0;
    p += 2;
    if (*p == ':')
        p++;
    if (*p) {
        if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]) || p[2])
            return -1;
        m = (p[0] - '0') * 10 + (p[1] - '0');
    }
    if (h > 18 || m > 59)
        return -1;
    *min = sg * (h * 60 + m);
    return 0;
}

/* ---------- reading ---------- */

typedef struct fields {
    int64_t year;
    int have_year, yday, pm, h12;
    unsigned mon, day, hour, min, sec;
    int64_t nanos;
    int lost;                   /* fraction digits below the millisecond */
    int has_zone, zone_min;
    int have_epoch, epoch_neg;
    int64_t epoch_s;
} fields;

/* Up to max digits (at least min) at s[*i] -> *v. */
static int digits(const char *s, size_t n, size_t *i, int min, int max, int64_t *v)
{
    int k = 0;
    int64_t x = 0;
    while (*i < n && k < max && s[*i] >= '0' && s[*i] <= '9') {
        x = x * 10 + (s[*i] - '0');
        (*i)++;
        k++;
    }
    if (k < min)
        return -1;
    *v = x;
    return 0;
}

static int name_at(const char *s, size_t n, size_t *i, const char *const *names, int count)
{
    for (int k = 0; k < count; k++) {
        size_t full = strlen(names[k]);
        if (n - *i >= full && !strncasecmp(s + *i, names[k], full)) {
            *i += full;
            return k;
        }
    }
    for (int k = 0; k < count; k++)
        if (n - *i >= 3 && !strncasecmp(s + *i, names[k], 3)) {
            *i += 3;
            return k;
        }
    return -1;
}

static int zone_at(const char *s, size_t n, size_t *i, int named, fields *fd)
{
    if (*i < n && (s[*i] == 'Z' || s[*i] == 'z')) {
        (*i)++;
        fd->has_zone = 1;
        fd->zone_min = 0;
        return 0;
    }
    if (named && n - *i >= 3 && (!strncasecmp(s + *i, "UTC", 3) || !strncasecmp(s + *i, "GMT", 3))) {
        *i += 3;
        fd->has_zone = 1;
        fd->zone_min = 0;
        if (*i < n && (s[*i] == '+' || s[*i] == '-'))
            return zone_at(s, n, i, 0, fd);
        return 0;
    }
    if (*i >= n || (s[*i] != '+' && s[*i] != '-'))
        return -1;
    int sg = s[(*i)++] == '-' ? -1 : 1;
    int64_t h, m = 0;
    if (digits(s, n, i, 2, 2, &h))
        return -1;
    if (*i < n && s[*i] == ':')
        (*i)++;
    if (*i < n && s[*i] >= '0' && s[*i] <= '9' && digits(s, n, i, 2, 2, &m))
        return -1;
    if (h > 18 || m > 59)
        return -1;
    fd->has_zone = 1;
    fd->zone_min = sg * (int)(h * 60 + m);
    return 0;
}

/* Match s from *i against f into fd, advancing *i. 0, or -1 with why. */
static int scan_at(const char *f, const char *s, size_t n, size_t *at, fields *fd, char *why,
                   size_t wn)
{
    size_t i = *at;
    int64_t v;
    for (const char *p = f; *p; p++) {
        if (*p == ' ') {
            while (i < n && s[i] == ' ')
                i++;
            continue;
        }
        if (*p != '%') {
            if (i >= n || s[i] != *p)
                goto mismatch;
            i++;
            continue;
        }
        char c = *++p;
        switch (c) {
        case 'Y': {
            int sg = 1;
            if (i < n && (s[i] == '-' || s[i] == '+'))
                sg = s[i++] == '-' ? -1 : 1;
            if (digits(s, n, &i, 1, 6, &v))
                goto mismatch;
            fd->year = sg * v;
            fd->have_year = 1;
            break;
        }
        case 'y':
            if (digits(s, n, &i, 2, 2, &v))
                goto mismatch;
            fd->year = v < 69 ? 2000 + v : 1900 + v;
            fd->have_year = 1;
            break;
        case 'm':
            if (digits(s, n, &i, 1, 2, &v) || v < 1 || v > 12)
                goto mismatch;
            fd->mon = (unsigned)v;
            break;
        case 'd':
        case 'e':
            if (c == 'e' && i < n && s[i] == ' ')
                i++;
            if (digits(s, n, &i, 1, 2, &v) || v < 1 || v > 31)
                goto mismatch;
            fd->day = (unsigned)v;
            break;
        case 'b':
        case 'B': {
            int k = name_at(s, n, &i, months, 12);
            if (k < 0)
                goto mismatch;
            fd->mon = (unsigned)k + 1;
            break;
        }
        case 'a':
        case 'A':
            if (name_at(s, n, &i, days_of_week, 7) < 0)
                goto mismatch;
            break;
        case 'j':
            if (digits(s, n, &i, 1, 3, &v) || v < 1 || v > 366)
                goto mismatch;
            fd->yday = (int)v;
            break;
        case 'H':
            if (digits(s, n, &i, 1, 2, &v) || v > 23)
                goto mismatch;
            fd->hour = (unsigned)v;
            break;
        case 'I':
            if (digits(s, n, &i, 1, 2, &v) || v < 1 || v > 12)
                goto mismatch;
            fd->hour = (unsigned)v % 12;
            fd->h12 = 1;
            break;
        case 'p':
            if (n - i >= 2 && !strncasecmp(s + i, "AM", 2))
                fd->pm = 0;
            else if (n - i >= 2 && !strncasecmp(s + i, "PM", 2))
                fd->pm = 1;
            else
                goto mismatch;
            i += 2;
            break;
        case 'M':
            if (digits(s, n, &i, 1, 2, &v) || v > 59)
                goto mismatch;
            fd->min = (unsigned)v;
            break;
        case 'S':
            if (digits(s, n, &i, 1, 2, &v) || v > 60)
                goto mismatch;
            fd->sec = (unsigned)(v == 60 ? 59 : v);
            break;
        case 'f': {
            int k = 0;
            int64_t scale = 100000000;
            fd->nanos = 0;
            while (i < n && s[i] >= '0' && s[i] <= '9') {
                if (k < 9)
                    fd->nanos += (s[i] - '0') * scale, scale /= 10;
                if (k >= 3 && s[i] != '0')
                    fd->lost = 1;
                i++, k++;
            }
            if (k == 0)
                goto mismatch;
            break;
        }
        case 'z':
        case 'Z':
            if (zone_at(s, n, &i, c == 'Z', fd))
                goto mismatch;
            break;
        case 's': {
            int sg = 1;
            if (i < n && s[i] == '-')
                sg = -1, i++;
            if (digits(s, n, &i, 1, 12, &v))
                goto mismatch;
            fd->have_epoch = 1;
            fd->epoch_neg = sg < 0;
            fd->epoch_s = sg * v;
            break;
        }
        case 'T':
        case 'F':
            if (scan_at(c == 'T' ? "%H:%M:%S" : "%Y-%m-%d", s, n, &i, fd, why, wn))
                return -1;
            break;
        case '%':
            if (i >= n || s[i] != '%')
                goto mismatch;
            i++;
            break;
        default:
            snprintf(why, wn, "the format has %%%c, which cqlshift does not know", c);
            return -1;
        }
    }
    *at = i;
    return 0;
mismatch:
    snprintf(why, wn, "it does not match the format at character %zu", i + 1);
    return -1;
}

/* Match the whole of s against f into fd. 0, or -1 with why. */
static int scan(const char *f, const char *s, size_t n, fields *fd, char *why, size_t wn)
{
    size_t i = 0;
    if (scan_at(f, s, n, &i, fd, why, wn))
        return -1;
    if (i != n) {
        snprintf(why, wn, "it has more than the format (from character %zu)", i + 1);
        return -1;
    }
    if (fd->h12 && fd->pm)
        fd->hour += 12;
    return 0;
}

/* Days since 1970 of the date in fd, or -1 with why. */
static int fd_days(const fields *fd, int64_t *days, char *why, size_t wn)
{
    if (!fd->have_year) {
        snprintf(why, wn, "the format gives no year (%%Y or %%y)");
        return -1;
    }
    if (fd->yday) {
        int leap = (fd->year % 4 == 0 && fd->year % 100 != 0) || fd->year % 400 == 0;
        if (fd->yday > 365 + leap) {
            snprintf(why, wn, "day %d of the year is past the end of %" PRId64, fd->yday, fd->year);
            return -1;
        }
        *days = cqlt_days_from_civil(fd->year, 1, 1) + fd->yday - 1;
        return 0;
    }
    unsigned m = fd->mon ? fd->mon : 1, d = fd->day ? fd->day : 1;
    static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (fd->year % 4 == 0 && fd->year % 100 != 0) || fd->year % 400 == 0;
    if (d > mdays[m - 1] || (m == 2 && d == 29 && !leap)) {
        snprintf(why, wn, "%" PRId64 "-%02u has no day %u", fd->year, m, d);
        return -1;
    }
    *days = cqlt_days_from_civil(fd->year, m, d);
    return 0;
}

int textfmt_read_timestamp(const char *f, const char *s, size_t n, int zone_min, int64_t *ms,
                           char *why, size_t wn)
{
    return textfmt_read_timestamp_tz(f, s, n, zone_min, NULL, ms, why, wn);
}

int textfmt_read_timestamp_tz(const char *f, const char *s, size_t n, int zone_min,
                              const cs_tz *tz, int64_t *ms, char *why, size_t wn)
{
    fields fd = {0};
    if (scan(f, s, n, &fd, why, wn))
        return -1;
    int64_t days = 0;
    if (fd.have_epoch) {
        /* "-1.500" is -1.5 s: the fraction has the sign of the seconds */
        int64_t frac = fd.epoch_neg ? -(fd.nanos / 1000000) : fd.nanos / 1000000;
        if (__builtin_mul_overflow(fd.epoch_s, (int64_t)1000, ms) ||
            __builtin_add_overflow(*ms, frac, ms)) {
            snprintf(why, wn, "it is out of range");
            return -1;
        }
        return fd.lost ? -2 : 0;
    }
    if (fd_days(&fd, &days, why, wn))
        return -1;
    int64_t v, tod = ((int64_t)fd.hour * 3600 + fd.min * 60 + fd.sec) * 1000 + fd.nanos / 1000000;
    int zm = fd.has_zone ? fd.zone_min : zone_min;
    if (__builtin_mul_overflow(days, (int64_t)86400000, &v) || __builtin_add_overflow(v, tod, &v) ||
        __builtin_sub_overflow(v, (int64_t)zm * 60000, &v)) {
        snprintf(why, wn, "it is out of range");
        return -1;
    }
    if (tz && !fd.has_zone) {
        /* v is the wall-clock time: the zone's offset then */
        int64_t local_s = v / 1000 - (v % 1000 < 0), u;
        if (__builtin_mul_overflow(cs_tz_to_utc(tz, local_s), (int64_t)1000, &u) ||
            __builtin_add_overflow(u, v - local_s * 1000, &v)) {
            snprintf(why, wn, "it is out of range");
            return -1;
        }
    }
    *ms = v;
    return fd.lost ? -2 : 0;
}

int textfmt_read_date(const char *f, const char *s, size_t n, int64_t *days, char *why, size_t wn)
{
    fields fd = {0};
    if (scan(f, s, n, &fd, why, wn))
        return -1;
    return fd_days(&fd, days, why, wn);
}

/* ---------- writing ---------- */

static int put2(cs_buf *out, unsigned v)
{
    char b[2] = {(char)('0' + v / 10 % 10), (char)('0' + v % 10)};
    return cs_buf_append(out, b, 2);
}

static int write_fields(const char *f, int64_t days, int64_t ms_of_day, int zone_min, int with_time,
                        int64_t epoch_ms, cs_buf *out)
{
    /* with %s, %f is the fraction of those seconds: -1.5 s is "-1.500" */
    int epoch_fmt = strstr(f, "%s") != NULL;
    int64_t y;
    unsigned m, d;
    cqlt_civil_from_days(days, &y, &m, &d);
    unsigned hh = (unsigned)(ms_of_day / 3600000), mi = (unsigned)(ms_of_day / 60000 % 60),
             ss = (unsigned)(ms_of_day / 1000 % 60), ms = (unsigned)(ms_of_day % 1000);
    char b[48];
    int rc = 0;
    for (const char *p = f; *p && !rc; p++) {
        if (*p != '%') {
            rc = cs_buf_append(out, p, 1);
            continue;
        }
        char c = *++p;
        int k;
        switch (c) {
        case 'Y':
            k = y >= 0 && y <= 9999 ? snprintf(b, sizeof b, "%04d", (int)y)
                                    : snprintf(b, sizeof b, "%+" PRId64, y);
            rc = cs_buf_append(out, b, (size_t)k);
            break;
        case 'y':
            rc = put2(out, (unsigned)(((y % 100) + 100) % 100));
            break;
        case 'm':
            rc = put2(out, m);
            break;
        case 'd':
            rc = put2(out, d);
            break;
        case 'e':
            k = snprintf(b, sizeof b, "%2u", d);
            rc = cs_buf_append(out, b, (size_t)k);
            break;
        case 'b':
        case 'B':
            k = snprintf(b, sizeof b, "%s", months[m - 1]);
            b[0] = (char)toupper((unsigned char)b[0]);
            rc = cs_buf_append(out, b, c == 'b' ? 3 : (size_t)k);
            break;
        case 'a':
        case 'A': {
            int64_t wd = ((days % 7) + 7 + 3) % 7;      /* 1970-01-01 was a Thursday */
            k = snprintf(b, sizeof b, "%s", days_of_week[wd]);
            b[0] = (char)toupper((unsigned char)b[0]);
            rc = cs_buf_append(out, b, c == 'a' ? 3 : (size_t)k);
            break;
        }
        case 'j':
            k = snprintf(b, sizeof b, "%03d", (int)(days - cqlt_days_from_civil(y, 1, 1) + 1));
            rc = cs_buf_append(out, b, (size_t)k);
            break;
        case 'H':
            rc = put2(out, hh);
            break;
        case 'I':
            rc = put2(out, hh % 12 ? hh % 12 : 12);
            break;
        case 'p':
            rc = cs_buf_append(out, hh < 12 ? "AM" : "PM", 2);
            break;
        case 'M':
            rc = put2(out, mi);
            break;
        case 'S':
            rc = put2(out, ss);
            break;
        case 'f':
            k = snprintf(b, sizeof b, "%03u",
                         epoch_fmt ? (unsigned)((epoch_ms < 0 ? -epoch_ms : epoch_ms) % 1000) : ms);
            rc = cs_buf_append(out, b, (size_t)k);
            break;
        case 'z':
        case 'Z': {
            int a = zone_min < 0 ? -zone_min : zone_min;
            if (c == 'Z' && zone_min == 0)
                k = snprintf(b, sizeof b, "UTC");
            else
                k = snprintf(b, sizeof b, c == 'z' ? "%c%02d%02d" : "%c%02d:%02d",
                             zone_min < 0 ? '-' : '+', a / 60, a % 60);
            rc = cs_buf_append(out, b, (size_t)k);
            break;
        }
        case 's':
            k = snprintf(b, sizeof b, "%s%" PRId64, epoch_ms < 0 ? "-" : "",
                         (epoch_ms < 0 ? -epoch_ms : epoch_ms) / 1000);
            rc = cs_buf_append(out, b, (size_t)k);
            break;
        case 'T':
            rc = write_fields("%H:%M:%S", days, ms_of_day, zone_min, with_time, epoch_ms, out);
            break;
        case 'F':
            rc = write_fields("%Y-%m-%d", days, ms_of_day, zone_min, with_time, epoch_ms, out);
            break;
        default:    /* '%' and anything textfmt_check let through */
            rc = cs_buf_append(out, "%", 1);
            break;
        }
    }
    return rc;
}

int textfmt_write_timestamp_tz(const char *f, int64_t ms, int zone_min, const cs_tz *tz,
                               cs_buf *out)
{
    if (tz)
        zone_min = cs_tz_offset_at(tz, ms / 1000 - (ms % 1000 < 0)) / 60;
    return textfmt_write_timestamp(f, ms, zone_min, out);
}

int textfmt_write_timestamp(const char *f, int64_t ms, int zone_min, cs_buf *out)
{
    int64_t local;
    if (__builtin_add_overflow(ms, (int64_t)zone_min * 60000, &local))
        local = ms;
    int64_t days = local / 86400000, rem = local % 86400000;
    if (rem < 0)
        rem += 86400000, days--;
    return write_fields(f, days, rem, zone_min, 1, ms, out);
}

int textfmt_write_date(const char *f, int64_t days, cs_buf *out)
{
    return write_fields(f, days, 0, 0, 0, days * 86400000, out);
}

/* ---------- numbers ---------- */

int textfmt_separators(const textfmt *tf)
{
    return tf->thousands_sep || (tf->decimal_sep && tf->decimal_sep != '.');
}

int textfmt_number_type(int id)
{
    switch (id) {
    case CQL_T_TINYINT:
    case CQL_T_SMALLINT:
    case CQL_T_INT:
    case CQL_T_BIGINT:
    case CQL_T_VARINT:
    case CQL_T_COUNTER:
    case CQL_T_DECIMAL:
    case CQL_T_FLOAT:
    case CQL_T_DOUBLE:
        return 1;
    default:
        return 0;
    }
}

int textfmt_number_in(const char *s, size_t n, char dec, char thou, char *out, size_t cap)
{
    if (!dec)
        dec = '.';
    size_t o = 0, i = 0;
    if (i < n && (s[i] == '-' || s[i] == '+')) {
        if (o + 1 >= cap)
            return -1;
        out[o++] = s[i++];
    }
    /* the integer part: groups of three after the first when thou is used */
    int group = -1;         /* digits since the last separator; -1 before any */
    size_t first = 0;
    for (; i < n && s[i] != dec && s[i] != 'e' && s[i] != 'E'; i++) {
        if (thou && s[i] == thou) {
            if ((group == -1 && (first == 0 || first > 3)) || (group != -1 && group != 3))
                return -1;
            group = 0;
            continue;
        }
        if (o + 1 >= cap)
            return -1;
        out[o++] = s[i];
        if (group >= 0)
            group++;
        else
            first++;
    }
    if (group != -1 && group != 3)
        return -1;
    for (; i < n; i++) {
        if (o + 1 >= cap)
            return -1;
        if (s[i] == dec)
            out[o++] = '.';
        else if (thou && s[i] == thou)
            return -1;  /* no separators after the point */
        else
            out[o++] = s[i];
    }
    out[o] = 0;
    return (int)o;
}

int textfmt_number_out(const char *s, size_t n, char dec, char thou, cs_buf *out)
{
    if (!dec)
        dec = '.';
    size_t i = 0;
    if (i < n && (s[i] == '-' || s[i] == '+')) {
        if (cs_buf_append(out, s, 1))
            return -1;
        i++;
    }
    size_t int_end = i;
    while (int_end < n && s[int_end] >= '0' && s[int_end] <= '9')
        int_end++;
    size_t nd = int_end - i;
    for (size_t k = 0; k < nd; k++) {
        if (thou && k > 0 && (nd - k) % 3 == 0 && cs_buf_append(out, &thou, 1))
            return -1;
        if (cs_buf_append(out, s + i + k, 1))
            return -1;
    }
    for (size_t k = int_end; k < n; k++)
        if (cs_buf_append(out, s[k] == '.' ? &dec : s + k, 1))
            return -1;
    return 0;
}
