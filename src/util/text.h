/* Small text helpers. */
#ifndef CQLSHIFT_UTIL_TEXT_H
#define CQLSHIFT_UTIL_TEXT_H

/* The edit (Levenshtein) distance of a and b, ASCII letters compared
 * without regard to case when nocase, for "did you mean" suggestions;
 * 99 when either is longer than 63 bytes. */
int text_distance(const char *a, const char *b, int nocase);

#endif
