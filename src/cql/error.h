/* The CQL subsystem's one error type.
 *
 * Every fallible cql_* call takes a caller-owned `cql_error *` (may be NULL)
 * and returns 0 on success or -1 on failure, filling the struct with a stable
 * code, the server's error code when the server sent one, and one readable
 * sentence: what failed, on which object, and what to do about it.
 */
#ifndef CQLSHIFT_CQL_ERROR_H
#define CQLSHIFT_CQL_ERROR_H

#include <stdint.h>

typedef enum cql_errc {
    CQL_OK = 0,
    CQL_E_USAGE,      /* caller passed something invalid (bad config, bad value) */
    CQL_E_NOMEM,      /* allocation failed or a buffer cap was reached */
    CQL_E_CONNECT,    /* could not connect (refused, unreachable, DNS) */
    CQL_E_IO,         /* the connection broke (reset, EOF) */
    CQL_E_TIMEOUT,    /* no answer within the client-side timeout */
    CQL_E_TLS,        /* TLS handshake or certificate verification failed */
    CQL_E_AUTH,       /* authentication failed or is required and not configured */
    CQL_E_PROTOCOL,   /* the peer sent bytes that break the protocol (bad frame, CRC) */
    CQL_E_SERVER,     /* the server answered ERROR; see server_code */
    CQL_E_ENCODE,     /* a value could not be converted to/from its CQL type */
    CQL_E_CLOSED,     /* the session or connection is closing */
    CQL_E_NO_HOST,    /* no node is available for the request */
} cql_errc;

/* Server error codes from the native protocol spec, section "Error codes". */
enum {
    CQL_SRV_SERVER_ERROR = 0x0000,
    CQL_SRV_PROTOCOL_ERROR = 0x000A,
    CQL_SRV_BAD_CREDENTIALS = 0x0100,
    CQL_SRV_UNAVAILABLE = 0x1000,
    CQL_SRV_OVERLOADED = 0x1001,
    CQL_SRV_IS_BOOTSTRAPPING = 0x1002,
    CQL_SRV_TRUNCATE_ERROR = 0x1003,
    CQL_SRV_WRITE_TIMEOUT = 0x1100,
    CQL_SRV_READ_TIMEOUT = 0x1200,
    CQL_SRV_READ_FAILURE = 0x1300,
    CQL_SRV_FUNCTION_FAILURE = 0x1400,
    CQL_SRV_WRITE_FAILURE = 0x1500,
    CQL_SRV_CDC_WRITE_FAILURE = 0x1600,
    CQL_SRV_CAS_WRITE_UNKNOWN = 0x1700,
    CQL_SRV_SYNTAX_ERROR = 0x2000,
    CQL_SRV_UNAUTHORIZED = 0x2100,
    CQL_SRV_INVALID = 0x2200,
    CQL_SRV_CONFIG_ERROR = 0x2300,
    CQL_SRV_ALREADY_EXISTS = 0x2400,
    CQL_SRV_UNPREPARED = 0x2500,
};

typedef struct cql_error {
    cql_errc code;
    int32_t server_code; /* valid when code == CQL_E_SERVER */
    char msg[512];
} cql_error;

/* Fill `err` (if not NULL) and return -1, so callers can `return cql_fail(...)`. */
int cql_fail(cql_error *err, cql_errc code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Clear an error struct to CQL_OK / empty message. */
void cql_error_clear(cql_error *err);
/* A short stable name for an error code ("timeout", "server error", ...). */
const char *cql_strerror(cql_errc code);
/* A short name for a server error code ("Syntax_error", "Overloaded", ...). */
const char *cql_server_error_name(int32_t server_code);
/* Whether a server error on an idempotent write may be retried
 * (timeouts, Overloaded, Unavailable, Is_bootstrapping, Server_error). */
int cql_server_error_is_transient(int32_t server_code);

#endif
