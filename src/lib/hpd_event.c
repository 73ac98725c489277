/* hpd_event.c - what the inline decoder in hpd_event.h leaves out of line:
 * the names of the damage reasons, and resynchronisation after damage. */
#include "hpd_event.h"

#include "error.h"
#include "mapfile.h"
#include "sniff.h"

const char *hp_damage_reason_str(int reason)
{
    switch (reason) {
    case HP_DAMAGE_TRACE: return "trace index beyond the last trace";
    case HP_DAMAGE_USEC: return "microseconds field >= 1000000";
    case HP_DAMAGE_NEG_ZERO: return "negative delta with 0 seconds";
    case HP_DAMAGE_VARINT: return "varint longer than 10 bytes";
    default: return "invalid event";
    }
}

int hp_fail_event(const hp_map *map, size_t off, int reason)
{
    const char *kind = hp_sniff(map->data, map->size);
    if (kind)
        return hp_fail(HP_EFORMAT, "%s: offset 0: not an event log: this is %s", map->path, kind);
    return hp_fail(HP_EFORMAT, "%s: offset %zu: invalid event: %s", map->path, off,
                   hp_damage_reason_str(reason));
}

/* Whether the events from `off` are plausible: `run` valid ones, or valid
 * ones up to the end (a partial final event included). */
static int valid_run_at(const uint8_t *data, size_t size, size_t off, uint32_t max_trace, int run)
{
    const uint8_t *p = data + off, *end = data + size;
    for (int i = 0; i < run; i++) {
        if (p == end)
            return i > 0;
        hp_raw_event ev;
        int n = hp_event_decode(p, end, max_trace, &ev);
        if (n < 0)
            return 0;
        if (n == 0)
            return i > 0;
        p += n;
    }
    return 1;
}

size_t hp_resync_run(const uint8_t *data, size_t size, size_t from, uint32_t max_trace, int run)
{
    for (size_t off = from; off < size; off++)
        if (valid_run_at(data, size, off, max_trace, run))
            return off;
    return size;
}
