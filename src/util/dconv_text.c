/* dconv_text_g: printf's %g layout over the shortest digits. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/dconv.h"

int dconv_text_g(double x, char *buf, size_t n)
{
    if (!isfinite(x) || x == 0)
        return snprintf(buf, n, "%g", x);   /* "nan", "inf", "0", "-0" */
    if (fabs(x) < DBL_MIN) {
        /* subnormal: fewer bits than 15 digits, so %.15g is longer than
         * the shortest digits (4.94065645841247e-324, not 5e-324) */
        int len = 0;
        for (int prec = 15; prec <= 17; prec++) {
            len = snprintf(buf, n, "%.*g", prec, x);
            if (strtod(buf, NULL) == x)
                break;
        }
        return len;
    }
    char dig[24], t[64];
    int e10;
    int nd = dconv_shortest(fabs(x), dig, &e10);
    /* %.*g with precision P: fixed notation when -4 <= e10 < P, else
     * d.ddde+XX; trailing zeros dropped either way */
    int P = nd > 15 ? nd : 15;
    int k = 0;
    if (x < 0)
        t[k++] = '-';
    if (e10 < -4 || e10 >= P) {
        t[k++] = dig[0];
        if (nd > 1) {
            t[k++] = '.';
            memcpy(t + k, dig + 1, (size_t)nd - 1);
            k += nd - 1;
        }
        k += snprintf(t + k, sizeof t - (size_t)k, "e%c%02d", e10 < 0 ? '-' : '+', abs(e10));
    } else if (e10 >= 0) {
        for (int i = 0; i <= e10; i++)
            t[k++] = i < nd ? dig[i] : '0';
        if (nd > e10 + 1) {
            t[k++] = '.';
            memcpy(t + k, dig + e10 + 1, (size_t)(nd - e10 - 1));
            k += nd - e10 - 1;
        }
    } else {
        t[k++] = '0';
        t[k++] = '.';
        for (int i = 0; i < -e10 - 1; i++)
            t[k++] = '0';
        memcpy(t + k, dig, (size_t)nd);
        k += nd;
    }
    t[k] = 0;
    return snprintf(buf, n, "%s", t);
}
