/* An assertion that stays on in every build: a broken invariant of the
 * program, never bad input (bad input gets a sentence, not an abort). */
#ifndef CQLSHIFT_UTIL_CHECK_H
#define CQLSHIFT_UTIL_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CS_CHECK(c)                                                                    \
    do {                                                                               \
        if (!(c)) {                                                                    \
            fprintf(stderr, "cqlshift: BUG: %s:%d: %s\n", __FILE__, __LINE__, #c);     \
            abort();                                                                   \
        }                                                                              \
    } while (0)

#endif
