/* Named time zones from TZif files (RFC 8536) and their POSIX TZ rule. */
#include "util/tz.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cql/types_int.h"

#define TZ_MAX_FILE (1 << 20)       /* a zone file is a few KB */
#define TZ_MAX_TRANS 100000

/* A POSIX TZ rule's date: Mm.w.d (kind 'M'), Jn (day 1..365, no Feb 29:
 * 'J') or n (day 0..365: 'D'), at `time` seconds of local time. */
typedef struct rule_date {
    char kind;
    int m, w, d, n;
    int time;
} rule_date;

typedef struct posix_rule {
    int valid;
    int std_off, dst_off;           /* east of UTC, seconds */
    int has_dst;
    rule_date start, end;
} posix_rule;

struct cs_tz {
    char *name;
    int ntrans;
    int64_t *trans;                 /* UTC seconds, ascending */
    int *trans_off;                 /* the offset from each transition on */
    int first_off;                  /* before the first transition */
    posix_rule rule;                /* after the last transition (if valid) */
};

/* ---- the POSIX TZ string ---- */

/* A zone abbreviation: letters, or <...>. */
static const char *skip_name(const char *p)
{
    if (*p == '<') {
        const char *e = strchr(p, '>');
        return e && e > p + 1 ? e + 1 : NULL;
    }
    const char *s = p;
    while (isalpha((unsigned char)*p))
        p++;
    return p - s >= 3 ? p : NULL;
}

/* Two digits into *v: past them, or NULL. */
static const char *two_digits(const char *p, int *v)
{
    if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]))
        return NULL;
    *v = (p[0] - '0') * 10 + (p[1] - '0');
    return p + 2;
}

/* [+-]hh[:mm[:ss]] into *secs (hours up to 167, as TZ strings of
 * version 3 allow for rule times). */
static const char *parse_hms(const char *p, int *secs)
{
    int sg = 1;
    if (*p == '+' || *p == '-')
        sg = *p++ == '-' ? -1 : 1;
    if (!isdigit((unsigned char)*p))
        return NULL;
    int h = 0, m = -1, s = 0, k = 0;
    while (isdigit((unsigned char)*p) && k++ < 3)
        h = h * 10 + (*p++ - '0');
    if (h > 167)
        return NULL;
    if (*p == ':' && !(p = two_digits(p + 1, &m)))
        return NULL;
    if (m >= 0 && *p == ':' && !(p = two_digits(p + 1, &s)))
        return NULL;
    m = m < 0 ? 0 : m;
    if (m > 59 || s > 59)
        return NULL;
    *secs = sg * (h * 3600 + m * 60 + s);
    return p;
}

static const char *parse_int(const char *p, int *v, int max)
{
    if (!isdigit((unsigned char)*p))
        return NULL;
    int x = 0;
    while (isdigit((unsigned char)*p)) {
        x = x * 10 + (*p++ - '0');
        if (x > max)
            return NULL;
    }
    *v = x;
    return p;
}

static const char *parse_date(const char *p, rule_date *d)
{
    memset(d, 0, sizeof *d);
    d->time = 7200; /* 02:00 by default */
    if (*p == 'M') {
        d->kind = 'M';
        if (!(p = parse_int(p + 1, &d->m, 12)) || *p++ != '.' || !(p = parse_int(p, &d->w, 5)) ||
            *p++ != '.' || !(p = parse_int(p, &d->d, 6)) || d->m < 1 || d->w < 1)
            return NULL;
    } else if (*p == 'J') {
        d->kind = 'J';
        if (!(p = parse_int(p + 1, &d->n, 365)) || d->n < 1)
            return NULL;
    } else {
        d->kind = 'D';
        if (!(p = parse_int(p, &d->n, 365)))
            return NULL;
    }
    if (*p == '/' && !(p = parse_hms(p + 1, &d->time)))
        return NULL;
    return p;
}

/* "CET-1CEST,M3.5.0,M10.5.0/3" -> r. 0, or -1 when it is not one. */
static int parse_rule(const char *s, posix_rule *r)
{
    memset(r, 0, sizeof *r);
    const char *p = skip_name(s);
    int off;
    if (!p || !(p = parse_hms(p, &off)))
        return -1;
    r->std_off = -off; /* POSIX counts west */
    if (*p) {
        if (!(p = skip_name(p)))
            return -1;
        r->has_dst = 1;
        r->dst_off = r->std_off + 3600;
        if (*p && *p != ',') {
            if (!(p = parse_hms(p, &off)))
                return -1;
            r->dst_off = -off;
        }
        if (*p != ',' || !(p = parse_date(p + 1, &r->start)) || *p != ',' ||
            !(p = parse_date(p + 1, &r->end)))
            return -1;
    }
    if (*p)
        return -1;
    r->valid = 1;
    return 0;
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* The local seconds since 1970 at which date d of year y happens. */
static int64_t rule_local(const rule_date *d, int64_t y)
{
    int64_t days;
    if (d->kind == 'M') {
        static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int64_t first = cqlt_days_from_civil(y, (unsigned)d->m, 1);
        int dow = (int)(((first + 4) % 7 + 7) % 7);    /* 1970-01-01 was a Thursday */
        int day = 1 + (d->d - dow + 7) % 7 + (d->w - 1) * 7;
        int n = dim[d->m - 1] + (d->m == 2 && is_leap(y));
        while (day > n)
            day -= 7;
        days = first + day - 1;
    } else {
        days = cqlt_days_from_civil(y, 1, 1) + d->n;
        if (d->kind == 'J')
            days += -1 + (is_leap(y) && d->n >= 60);
    }
    return days * 86400 + d->time;
}

static int rule_offset(const posix_rule *r, int64_t t)
{
    if (!r->has_dst)
        return r->std_off;
    int64_t y;
    unsigned m, d;
    int64_t local = t + r->std_off;
    cqlt_civil_from_days(local >= 0 ? local / 86400 : -((-local + 86399) / 86400), &y, &m, &d);
    /* DST starts at the rule's time in standard time, ends at it in DST */
    int64_t start = rule_local(&r->start, y) - r->std_off;
    int64_t end = rule_local(&r->end, y) - r->dst_off;
    int dst = start < end ? t >= start && t < end : !(t >= end && t < start);
    return dst ? r->dst_off : r->std_off;
}

/* ---- the TZif file ---- */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void cs_tz_free(cs_tz *z)
{
    if (!z)
        return;
    free(z->name);
    free(z->trans);
    free(z->trans_off);
    free(z);
}

cs_tz *cs_tz_parse(const char *name, const uint8_t *data, size_t len, char *why, size_t n)
{
#define BAD(...) do { snprintf(why, n, __VA_ARGS__); cs_tz_free(z); return NULL; } while (0)
    cs_tz *z = calloc(1, sizeof *z);
    if (!z || !(z->name = strdup(name)))
        BAD("out of memory");
    if (len < 44 || memcmp(data, "TZif", 4))
        BAD("time zone '%s': its file is not a zone file (TZif)", name);
    int version = data[4] ? data[4] - '0' : 1;
    size_t at = 0;
    int wide = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (at + 44 > len || memcmp(data + at, "TZif", 4))
            BAD("time zone '%s': its zone file is cut short", name);
        const uint8_t *h = data + at + 20;
        uint32_t isutcnt = be32(h), isstdcnt = be32(h + 4), leapcnt = be32(h + 8),
                 timecnt = be32(h + 12), typecnt = be32(h + 16), charcnt = be32(h + 20);
        size_t tsz = pass && version >= 2 ? 8 : 4;
        if (timecnt > TZ_MAX_TRANS || typecnt == 0 || typecnt > 256 || charcnt > 65536 ||
            leapcnt > 10000 || isutcnt > 256 || isstdcnt > 256)
            BAD("time zone '%s': its zone file has impossible counts", name);
        size_t body = timecnt * tsz + timecnt + typecnt * 6 + charcnt + leapcnt * (tsz + 4) +
                      isstdcnt + isutcnt;
        at += 44;
        if (body > len - at)
            BAD("time zone '%s': its zone file is cut short", name);
        if (version >= 2 && pass == 0) {    /* the 64-bit data follows */
            at += body;
            continue;
        }
        if (leapcnt)
            BAD("time zone '%s' counts leap seconds (a \"right/\" zone), which Cassandra's "
                "timestamps do not: use the zone without \"right/\"", name);
        const uint8_t *tp = data + at, *ti = tp + timecnt * tsz, *tt = ti + timecnt;
        z->ntrans = (int)timecnt;
        z->trans = malloc((timecnt ? timecnt : 1) * sizeof *z->trans);
        z->trans_off = malloc((timecnt ? timecnt : 1) * sizeof *z->trans_off);
        if (!z->trans || !z->trans_off)
            BAD("out of memory");
        for (uint32_t i = 0; i < timecnt; i++) {
            int64_t t = tsz == 8 ? (int64_t)((uint64_t)be32(tp + 8 * i) << 32 | be32(tp + 8 * i + 4))
                                 : (int32_t)be32(tp + 4 * i);
            if (i && t <= z->trans[i - 1])
                BAD("time zone '%s': its zone file's transitions are out of order", name);
            if (ti[i] >= typecnt)
                BAD("time zone '%s': its zone file names a type it does not have", name);
            z->trans[i] = t;
            z->trans_off[i] = (int32_t)be32(tt + 6 * ti[i]);
        }
        z->first_off = (int32_t)be32(tt);
        for (int i = 0; i < z->ntrans + 1; i++) {
            int o = i < z->ntrans ? z->trans_off[i] : z->first_off;
            if (o < -25 * 3600 || o > 26 * 3600)
                BAD("time zone '%s': its zone file has an offset of %d seconds", name, o);
        }
        at += body;
        wide = pass;
        break;
    }
    /* the footer: "\nTZ\n" (version 2 and later) */
    if (wide && at < len && data[at] == '\n') {
        const uint8_t *e = memchr(data + at + 1, '\n', len - at - 1);
        if (e && e - (data + at + 1) < 256) {
            char tzs[256];
            size_t k = (size_t)(e - (data + at + 1));
            memcpy(tzs, data + at + 1, k);
            tzs[k] = 0;
            if (k && parse_rule(tzs, &z->rule))
                BAD("time zone '%s': its zone file's rule '%s' is not one this version reads",
                    name, tzs);
        }
    }
    if (z->ntrans == 0 && !z->rule.valid)
        z->rule = (posix_rule){.valid = 1, .std_off = z->first_off};
    return z;
#undef BAD
}

int cs_tz_offset_at(const cs_tz *z, int64_t t)
{
    if (z->ntrans == 0 || t < z->trans[0])
        return z->ntrans == 0 && z->rule.valid ? rule_offset(&z->rule, t) : z->first_off;
    if (t >= z->trans[z->ntrans - 1] && z->rule.valid)
        return rule_offset(&z->rule, t);
    int lo = 0, hi = z->ntrans - 1; /* the last transition at or before t */
    while (lo < hi) {
        int mid = lo + (hi - lo + 1) / 2;
        if (z->trans[mid] <= t)
            lo = mid;
        else
            hi = mid - 1;
    }
    return z->trans_off[lo];
}

int64_t cs_tz_to_utc(const cs_tz *z, int64_t local)
{
    /* the offsets in force a day before and a day after (transitions are
     * months apart): each gives an instant, valid when it maps back */
    int before = cs_tz_offset_at(z, local - 86400), after = cs_tz_offset_at(z, local + 86400);
    int64_t ub = local - before, ua = local - after;
    int vb = cs_tz_offset_at(z, ub) == before, va = cs_tz_offset_at(z, ua) == after;
    if (vb && va)
        return ub < ua ? ub : ua;   /* twice: the earlier */
    if (vb)
        return ub;
    if (va)
        return ua;
    return ub;  /* in the gap: with the offset before it, so as much later */
}

const char *cs_tz_name(const cs_tz *z)
{
    return z->name;
}

/* ---- opening by name ---- */

static pthread_mutex_t zones_mu = PTHREAD_MUTEX_INITIALIZER;
static cs_tz *zones[64];
static int nzones;

const cs_tz *cs_tz_open(const char *name, char *why, size_t n)
{
    size_t len = strlen(name);
    int ok = len > 0 && len < 200 && name[0] != '/' && !strstr(name, "..");
    for (size_t i = 0; ok && i < len; i++)
        ok = isalnum((unsigned char)name[i]) || strchr("/_+-", name[i]);
    if (!ok) {
        snprintf(why, n, "'%.60s' is not a time zone name (such as Europe/Paris)", name);
        return NULL;
    }
    pthread_mutex_lock(&zones_mu);
    for (int i = 0; i < nzones; i++)
        if (!strcmp(zones[i]->name, name)) {
            pthread_mutex_unlock(&zones_mu);
            return zones[i];
        }
    pthread_mutex_unlock(&zones_mu);
    const char *dir = getenv("TZDIR");
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        snprintf(why, n, "time zone '%s' is not known here (%s: %s); give a name of the tz "
                 "database (Europe/Paris, America/New_York...), installed by the tzdata package, "
                 "or an offset such as +02:00", name, path, strerror(e));
        return NULL;
    }
    uint8_t *buf = malloc(TZ_MAX_FILE);
    size_t got = buf ? fread(buf, 1, TZ_MAX_FILE, f) : 0;
    fclose(f);
    if (!buf) {
        snprintf(why, n, "out of memory");
        return NULL;
    }
    cs_tz *z = cs_tz_parse(name, buf, got, why, n);
    free(buf);
    if (!z)
        return NULL;
    pthread_mutex_lock(&zones_mu);
    if (nzones == (int)(sizeof zones / sizeof *zones)) {
        pthread_mutex_unlock(&zones_mu);
        cs_tz_free(z);
        snprintf(why, n, "too many time zones in one run (at most 64)");
        return NULL;
    }
    zones[nzones++] = z;
    pthread_mutex_unlock(&zones_mu);
    return z;
}
