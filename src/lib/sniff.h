/* sniff.h - what a file is, from its first bytes, for messages: a user who
 * hands a .hpc where a .hpd belongs should be told so, not that event 1 has
 * a trace index beyond the last trace. */
#ifndef HP_SNIFF_H
#define HP_SNIFF_H

#include <stddef.h>
#include <stdint.h>

/* "a zstd file (a v2 .hpc?)", "a v1 .hpc", "an .hpm", or NULL when the
 * bytes look like none of these. */
const char *hp_sniff(const uint8_t *data, size_t size);

#endif
