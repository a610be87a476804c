/* Shortest decimal digits of a double, from libdouble-conversion (a C++
 * library; dconv.cc is the only C++ in the tree and exposes this one C
 * function). */
#ifndef CQLSHIFT_UTIL_DCONV_H
#define CQLSHIFT_UTIL_DCONV_H

#ifdef __cplusplus
extern "C" {
#endif

/* The fewest significant digits that read back as x (a finite double > 0,
 * parsed with round-to-nearest, as strtod does), the closest to x among
 * those of that length: into dig (at least 18 bytes, not terminated), no
 * trailing zeros. Returns their count (1..17) and sets *e10, the decimal
 * exponent of the first digit (x = d.ddd x 10^e10). */
int dconv_shortest(double x, char *dig, int *e10);

#ifdef __cplusplus
}
#endif

#endif
