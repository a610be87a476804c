/* dconv.h over libdouble-conversion's DoubleToAscii (SHORTEST). */
#include "util/dconv.h"
#include "util/check.h"

#include <cstring>

#include <double-conversion/double-to-string.h>

extern "C" int dconv_shortest(double x, char *dig, int *e10)
{
    using double_conversion::DoubleToStringConverter;
    char buf[DoubleToStringConverter::kBase10MaximalLength + 1];
    bool sign = false;
    int len = 0, point = 0;
    CS_CHECK(x > 0 && x <= 1.7976931348623157e308);
    DoubleToStringConverter::DoubleToAscii(x, DoubleToStringConverter::SHORTEST, 0, buf,
                                           static_cast<int>(sizeof buf), &sign, &len, &point);
    CS_CHECK(!sign && len >= 1 && len <= DoubleToStringConverter::kBase10MaximalLength);
    std::memcpy(dig, buf, static_cast<size_t>(len));
    *e10 = point - 1;
    return len;
}
