/* MySQL/MariaDB source (libmariadb): being built; see issue 15. */
#include "source/source.h"

source *source_mysql_open(const char *uri, const char *databases, source_error *err)
{
    (void)databases;
    char red[512];
    source_uri_redact(uri, red, sizeof red);
    source_fail(err, SRC_E_USAGE, "%s: MySQL and MariaDB sources are not available in this build yet", red);
    return NULL;
}
