/* Named time zones (Europe/Paris, America/New_York...), read from the
 * system's zone files (TZif, RFC 8536: $TZDIR, else /usr/share/zoneinfo,
 * the tzdata package), with the POSIX TZ rule at the end of the file for
 * the times after its last transition. A zone, once opened, is read-only
 * and may be used by any thread. */
#ifndef CQLSHIFT_UTIL_TZ_H
#define CQLSHIFT_UTIL_TZ_H

#include <stddef.h>
#include <stdint.h>

typedef struct cs_tz cs_tz;

/* The zone called name (an IANA name such as "Europe/Paris"; no "..", no
 * leading '/'). Zones are opened once per name and kept for the process
 * (do not free them). NULL with a sentence in why: the name is not a zone
 * of this system, or its file is not a zone file. */
const cs_tz *cs_tz_open(const char *name, char *why, size_t n);

/* The zone's name as opened. */
const char *cs_tz_name(const cs_tz *z);

/* The zone's offset east of UTC, in seconds, at utc_s seconds since 1970. */
int cs_tz_offset_at(const cs_tz *z, int64_t utc_s);

/* The seconds since 1970 (UTC) of the wall-clock time local_s (seconds
 * since 1970 as if the wall clock were UTC), as java.time resolves it: a
 * time in a gap (the clocks went forward) is taken with the offset before
 * the gap, so it lands as much later; a time that occurs twice (the clocks
 * went back) is the earlier of the two. */
int64_t cs_tz_to_utc(const cs_tz *z, int64_t local_s);

/* Read a zone from the bytes of a zone file (for tests). NULL with why.
 * Free with cs_tz_free. */
cs_tz *cs_tz_parse(const char *name, const uint8_t *data, size_t len, char *why, size_t n);
void cs_tz_free(cs_tz *z);

#endif
