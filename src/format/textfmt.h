/* Text forms of dates, timestamps and numbers that users choose (load's and
 * unload's --timestamp-format, --date-format, --time-zone, --epoch-unit,
 * --decimal-separator, --thousands-separator), shared by reading and
 * writing.
 *
 * A format is strftime/strptime-like: %Y year (reading: optional sign, 1 to
 * 6 digits), %y two-digit year (69-99: 19xx, 00-68: 20xx), %m month, %d and
 * %e day, %H hour, %I hour 1-12 with %p AM/PM, %M minute, %S second, %f the
 * fraction of the second (reading: 1 to 9 digits; writing: 3 digits, the
 * millisecond Cassandra keeps), %z zone (reading: Z, +HH, +HHMM, +HH:MM;
 * writing +HHMM), %Z zone as "UTC" (reading also Z, GMT and the forms of
 * %z; writing: UTC or +HH:MM), %b and %B month name (English, any case),
 * %a and %A day name (read and ignored), %j day of the year (reading, with
 * %Y), %s seconds since 1970 (the whole value), %T = %H:%M:%S, %F =
 * %Y-%m-%d, %% a percent sign. Any other character matches itself; a space
 * in the format matches any run of spaces (or none).
 */
#ifndef CQLSHIFT_FORMAT_TEXTFMT_H
#define CQLSHIFT_FORMAT_TEXTFMT_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/tz.h"

/* The options; all zero/NULL is "the defaults" (ISO 8601, UTC, '.'). */
typedef struct textfmt {
    const char *timestamp_format;   /* NULL: ISO 8601 and CQL's forms */
    const char *date_format;        /* NULL: YYYY-MM-DD */
    int has_zone;                   /* --time-zone given */
    int zone_min;                   /* texts without a zone: minutes east of UTC */
    const struct cs_tz *tz;         /* or a named zone (util/tz.h): the offset of each
                                     * text's wall-clock time (zone_min is then 0) */
    int epoch_unit;                 /* 0 none; else 1 s, 1000 ms, 1000000 us: integers in
                                     * timestamp columns count this since 1970 */
    char decimal_sep;               /* 0: '.' */
    char thousands_sep;             /* 0: none */
} textfmt;

/* Check format f (for a timestamp when ts, else a date: a date format takes
 * no time or zone directives). 0, or -1 with a sentence in why naming the
 * directive that is wrong. */
int textfmt_check(const char *f, int ts, char *why, size_t n);

/* A format as the user gave it, into the directives above in out[0..cap):
 * with a '%' it is one already (copied); without, it is a pattern as
 * DSBulk and plan expressions (to_timestamp) write them, translated: yyyy
 * or y year, yy two-digit year, MM or M month, MMM and MMMM its name, dd
 * or d day, HH or H hour, hh or h with a (AM/PM), mm or m minute, ss or s
 * second, S... the fraction, X, XX, XXX or Z the zone, E the day name,
 * 'text' in single quotes as it is ('' a quote). 0, or -1 with why. */
int textfmt_translate(const char *user, char *out, size_t cap, char *why, size_t n);

/* "UTC", "Z", "+HH", "+HHMM", "+HH:MM" (or '-') -> minutes east of UTC in
 * *min. 0, or -1 when z is none of these (a named zone like Europe/Paris
 * is opened with cs_tz_open). */
int textfmt_parse_zone(const char *z, int *min);

/* Read s[0..n) with format f: into *ms the milliseconds since 1970 (a text
 * without a zone is at zone_min); for a date format, into *days the days
 * since 1970. 0; -1 when s does not match f (why says where); -2 when it
 * matches but has digits below the millisecond. */
int textfmt_read_timestamp(const char *f, const char *s, size_t n, int zone_min, int64_t *ms,
                           char *why, size_t wn);
/* The same, a text without a zone being in tz (NULL: at zone_min). */
int textfmt_read_timestamp_tz(const char *f, const char *s, size_t n, int zone_min,
                              const struct cs_tz *tz, int64_t *ms, char *why, size_t wn);
int textfmt_read_date(const char *f, const char *s, size_t n, int64_t *days, char *why, size_t wn);

/* Write ms since 1970 at zone_min (or days since 1970 for a date format)
 * with format f, appended to out. 0, or -1 when out is full. */
int textfmt_write_timestamp(const char *f, int64_t ms, int zone_min, cs_buf *out);
/* The same in tz (NULL: at zone_min): at the zone's offset at that instant,
 * in whole minutes (what %z writes). */
int textfmt_write_timestamp_tz(const char *f, int64_t ms, int zone_min, const struct cs_tz *tz,
                               cs_buf *out);
int textfmt_write_date(const char *f, int64_t days, cs_buf *out);

/* 1 when the separators of tf are not the defaults ('.', none). */
int textfmt_separators(const textfmt *tf);
/* 1 for the CQL types whose text is a number the separators apply to
 * (a cql_type_id: tinyint to bigint, varint, counter, decimal, float,
 * double). */
int textfmt_number_type(int cql_type_id);

/* Rewrite the number text s[0..n) with separators dec and thou (0: '.' and
 * none) into CQL's form ("1.234,5" with ',' and '.' -> "1234.5") in
 * out[0..cap). Returns the length, or -1 when a thousands separator is out
 * of place (not between groups of three digits of the integer part) or
 * the text does not fit. */
int textfmt_number_in(const char *s, size_t n, char dec, char thou, char *out, size_t cap);
/* The reverse, for writing: CQL's number text s[0..n) with dec for the
 * point and thou between groups of three digits of the integer part
 * (exponents are kept as they are), appended to out. 0 or -1. */
int textfmt_number_out(const char *s, size_t n, char dec, char thou, cs_buf *out);

#endif
