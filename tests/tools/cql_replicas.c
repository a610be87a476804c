/* cql_replicas: print the replicas cqlshift computes for partition keys.
 *
 *   cql_replicas --hosts H --keyspace KS  < keys
 *
 * Each stdin line is the partition key bytes in hex (for composite keys, the
 * already-composed routing key). Each output line is the replicas' addresses
 * ("127.0.0.1:9042,127.0.0.2:9042"), in cqlshift's order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cql/cql.h"
#include "cql/murmur3.h"

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int main(int argc, char **argv)
{
    cql_config cfg;
    cql_config_init(&cfg);
    cfg.hosts = "127.0.0.1";
    const char *ks = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--hosts"))
            cfg.hosts = argv[i + 1];
        else if (!strcmp(argv[i], "--keyspace"))
            ks = argv[i + 1];
    }
    if (!ks) {
        fprintf(stderr, "cql_replicas: --keyspace is required\n");
        return 2;
    }
    cql_session *s;
    cql_error e;
    if (cql_session_connect(&cfg, &s, &e)) {
        fprintf(stderr, "cql_replicas: %s\n", e.msg);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0;
    uint8_t key[4096];
    while ((len = getline(&line, &cap, stdin)) > 0) {
        size_t n = 0;
        for (ssize_t i = 0; i + 1 < len && n < sizeof key; i += 2) {
            int hi = hexval(line[i]), lo = hexval(line[i + 1]);
            if (hi < 0 || lo < 0)
                break;
            key[n++] = (uint8_t)(hi << 4 | lo);
        }
        int reps[64];
        int k = cql_session_replicas(s, ks, cql_murmur3_token(key, n), reps, 64, &e);
        if (k < 0) {
            fprintf(stderr, "cql_replicas: %s\n", e.msg);
            rc = 1;
            break;
        }
        for (int i = 0; i < k && i < 64; i++) {
            char addr[128];
            int up;
            uint64_t sent;
            cql_session_node_info(s, reps[i], addr, sizeof addr, &up, &sent);
            printf("%s%s", i ? "," : "", addr);
        }
        printf("\n");
    }
    free(line);
    cql_session_close(s);
    return rc;
}
