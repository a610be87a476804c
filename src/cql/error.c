#include "cql/error.h"

#include <stdarg.h>
#include <stdio.h>

int cql_fail(cql_error *err, cql_errc code, const char *fmt, ...)
{
    if (err) {
        err->code = code;
        err->server_code = 0;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void cql_error_clear(cql_error *err)
{
    if (err) {
        err->code = CQL_OK;
        err->server_code = 0;
        err->msg[0] = '\0';
    }
}

const char *cql_strerror(cql_errc code)
{
    switch (code) {
    case CQL_OK: return "ok";
    case CQL_E_USAGE: return "invalid argument";
    case CQL_E_NOMEM: return "out of memory or over a size limit";
    case CQL_E_CONNECT: return "connection failed";
    case CQL_E_IO: return "connection lost";
    case CQL_E_TIMEOUT: return "timeout";
    case CQL_E_TLS: return "TLS failure";
    case CQL_E_AUTH: return "authentication failed";
    case CQL_E_PROTOCOL: return "protocol violation";
    case CQL_E_SERVER: return "server error";
    case CQL_E_ENCODE: return "value conversion failed";
    case CQL_E_CLOSED: return "closed";
    case CQL_E_NO_HOST: return "no host available";
    }
    return "unknown error";
}

const char *cql_server_error_name(int32_t c)
{
    switch (c) {
    case CQL_SRV_SERVER_ERROR: return "Server_error";
    case CQL_SRV_PROTOCOL_ERROR: return "Protocol_error";
    case CQL_SRV_BAD_CREDENTIALS: return "Bad_credentials";
    case CQL_SRV_UNAVAILABLE: return "Unavailable";
    case CQL_SRV_OVERLOADED: return "Overloaded";
    case CQL_SRV_IS_BOOTSTRAPPING: return "Is_bootstrapping";
    case CQL_SRV_TRUNCATE_ERROR: return "Truncate_error";
    case CQL_SRV_WRITE_TIMEOUT: return "Write_timeout";
    case CQL_SRV_READ_TIMEOUT: return "Read_timeout";
    case CQL_SRV_READ_FAILURE: return "Read_failure";
    case CQL_SRV_FUNCTION_FAILURE: return "Function_failure";
    case CQL_SRV_WRITE_FAILURE: return "Write_failure";
    case CQL_SRV_CDC_WRITE_FAILURE: return "CDC_write_failure";
    case CQL_SRV_CAS_WRITE_UNKNOWN: return "CAS_write_unknown";
    case CQL_SRV_SYNTAX_ERROR: return "Syntax_error";
    case CQL_SRV_UNAUTHORIZED: return "Unauthorized";
    case CQL_SRV_INVALID: return "Invalid";
    case CQL_SRV_CONFIG_ERROR: return "Config_error";
    case CQL_SRV_ALREADY_EXISTS: return "Already_exists";
    case CQL_SRV_UNPREPARED: return "Unprepared";
    }
    return "Unknown_error";
}

int cql_server_error_is_transient(int32_t c)
{
    switch (c) {
    case CQL_SRV_SERVER_ERROR:
    case CQL_SRV_UNAVAILABLE:
    case CQL_SRV_OVERLOADED:
    case CQL_SRV_IS_BOOTSTRAPPING:
    case CQL_SRV_WRITE_TIMEOUT:
    case CQL_SRV_READ_TIMEOUT:
        return 1;
    }
    return 0;
}
