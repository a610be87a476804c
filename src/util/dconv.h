/* Shortest decimal digits of a double, from libdouble-conversion (a C++
 * library; dconv.cc is the only C++ in the tree and exposes this one C
 * function). */
#ifndef CQLSHIFT_UTIL_DCONV_H
#define CQLSHIFT_UTIL_DCONV_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The fewest significant digits that read back as x (a finite double > 0,
 * parsed with round-to-nearest, as strtod does), the closest to x among
 * those of that length: into dig (at least 18 bytes, not terminated), no
 * trailing zeros. Returns their count (1..17) and sets *e10, the decimal
 * exponent of the first digit (x = d.ddd x 10^e10). */
int dconv_shortest(double x, char *dig, int *e10);

/* x as printf's "%.*g" writes it with the fewest digits P (15, 16 or 17)
 * that read back as x: the same text, from dconv_shortest's digits without
 * printf ("0.99", "1e+20", "123.5", "-0", "nan"; subnormals, which have
 * fewer digits than %.15g prints, through printf). Into buf (size n, NUL
 * terminated); returns the length snprintf would. */
int dconv_text_g(double x, char *buf, size_t n);

#ifdef __cplusplus
}
#endif

#endif
