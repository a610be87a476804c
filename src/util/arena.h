/* An arena: many small allocations freed at once (one per row batch).
 * Memory comes in blocks of at least `block` bytes; arena_reset keeps the
 * first block for reuse, so a steady stream of batches allocates nothing. */
#ifndef CQLSHIFT_UTIL_ARENA_H
#define CQLSHIFT_UTIL_ARENA_H

#include <stddef.h>

typedef struct arena_block arena_block;
typedef struct arena {
    arena_block *head;
    size_t block;
} arena;

void arena_init(arena *a, size_t block);
/* Aligned (16 bytes) memory valid until reset/release; NULL if out of memory. */
void *arena_alloc(arena *a, size_t n);
/* Copy n bytes (plus a NUL terminator) into the arena. */
char *arena_strndup(arena *a, const char *s, size_t n);
/* Free everything but the first block, which is kept for reuse. */
void arena_reset(arena *a);
void arena_release(arena *a);

#endif
