/* PostgreSQL source (libpq): being built; see issue 15. */
#include "source/source.h"

source *source_pg_open(const char *uri, const char *schemas, source_error *err)
{
    (void)schemas;
    char red[512];
    source_uri_redact(uri, red, sizeof red);
    source_fail(err, SRC_E_USAGE, "%s: PostgreSQL sources are not available in this build yet", red);
    return NULL;
}
