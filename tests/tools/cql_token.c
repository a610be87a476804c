/* cql_token: print the Murmur3Partitioner token of partition keys.
 *
 * Reads lines from stdin; each line is the hex of the serialized key
 * components separated by ':' (one component: a single-column key; several:
 * a composite key, composed with cql_routing_key). Prints one token per
 * line. An empty component ("" or between two ':') is a zero-length value.
 * Exit 1 with a message on stderr on malformed input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cql/murmur3.h"

#define MAX_COMPONENTS 64

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode hex s[0..n) in place into out; returns the byte count or -1. */
static long unhex(const char *s, size_t n, uint8_t *out)
{
    if (n % 2)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        int h = hexval((unsigned char)s[2 * i]), l = hexval((unsigned char)s[2 * i + 1]);
        if (h < 0 || l < 0)
            return -1;
        out[i] = (uint8_t)(h << 4 | l);
    }
    return (long)(n / 2);
}

int main(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    unsigned long lineno = 0;
    cs_buf key;
    cs_buf_init(&key, SIZE_MAX);
    while ((got = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        size_t len = (size_t)got;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        /* Components are decoded in place: hex is twice as long as bytes. */
        const uint8_t *vals[MAX_COMPONENTS];
        size_t lens[MAX_COMPONENTS], n = 0, start = 0;
        for (size_t i = 0; i <= len; i++) {
            if (i < len && line[i] != ':')
                continue;
            long nb = n < MAX_COMPONENTS ? unhex(line + start, i - start, (uint8_t *)line + start) : -1;
            if (nb < 0) {
                fprintf(stderr, "cql_token: line %lu: expected hex components separated by ':' (at most %d)\n",
                        lineno, MAX_COMPONENTS);
                free(line);
                cs_buf_release(&key);
                return 1;
            }
            vals[n] = (const uint8_t *)line + start;
            lens[n++] = (size_t)nb;
            start = i + 1;
        }
        cs_buf_reset(&key);
        if (cql_routing_key(&key, n, vals, lens)) {
            fprintf(stderr, "cql_token: line %lu: a component is longer than 65535 bytes\n", lineno);
            free(line);
            cs_buf_release(&key);
            return 1;
        }
        printf("%lld\n", (long long)cql_murmur3_token(key.data, key.len));
    }
    free(line);
    cs_buf_release(&key);
    return 0;
}
