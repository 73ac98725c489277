/* hpd.c - the .hpd event iterator.
 *
 * The file is mapped and decoded in place (no system call per field). The
 * absolute time of an event is the .hpm start plus the signed sum of all
 * deltas so far, kept in exact integer microseconds. */
#include "error.h"
#include "hpd_event.h"
#include "hpm_internal.h"
#include "mapfile.h"
#include "paths.h"

#include <stdlib.h>
#include <string.h>

struct hp_hpd {
    hp_map map;
    hp_hpm *hpm;
    int own_hpm;
    hp_read_options opts;
    uint32_t max_trace;
    size_t off;
    int64_t signed_us;   /* signed sum of the deltas so far */
    uint64_t relative_us; /* the digest's clock: positive deltas only */
    int done;
    hp_hpd_stats stats;
};

int hp_read_options_init(hp_read_options *opts, unsigned version)
{
    if (version == 0 || version > HP_READ_OPTIONS_VERSION)
        return hp_fail(HP_EINVAL, "hp_read_options version %u is not supported", version);
    *opts = (hp_read_options)HP_READ_OPTIONS_INIT;
    return HP_OK;
}

int hp_hpd_open(hp_hpd **out, const char *filebase, hp_hpm *hpm, const hp_read_options *opts)
{
    *out = NULL;
    if (opts && (opts->version == 0 || opts->version > HP_READ_OPTIONS_VERSION))
        return hp_fail(HP_EINVAL, "hp_read_options version %u is not supported", opts->version);
    hp_hpd *hpd = calloc(1, sizeof *hpd);
    char *path = hp_path_join(filebase, ".hpd");
    if (!hpd || !path) {
        free(hpd);
        free(path);
        return hp_fail(HP_ENOMEM, "out of memory");
    }
    if (opts)
        hpd->opts = *opts;
    int rc = hp_map_open(&hpd->map, path);
    free(path);
    if (rc == HP_OK && !hpm) {
        rc = hp_hpm_open(&hpd->hpm, filebase);
        hpd->own_hpm = rc == HP_OK;
    } else {
        hpd->hpm = hpm;
    }
    if (rc == HP_OK)
        rc = hp_hpm_num_traces(hpd->hpm, &hpd->max_trace);
    if (rc < 0) {
        hp_hpd_close(hpd);
        return rc;
    }
    hpd->stats.bytes = hpd->map.size;
    *out = hpd;
    return HP_OK;
}

void hp_hpd_close(hp_hpd *hpd)
{
    if (!hpd)
        return;
    if (hpd->own_hpm)
        hp_hpm_close(hpd->hpm);
    hp_map_close(&hpd->map);
    free(hpd);
}

void hp_hpd_get_stats(const hp_hpd *hpd, hp_hpd_stats *stats) { *stats = hpd->stats; }

static int64_t sat_add(int64_t a, int64_t b)
{
    int64_t r;
    return __builtin_add_overflow(a, b, &r) ? (b < 0 ? INT64_MIN : INT64_MAX) : r;
}

/* Salvage: skip from the invalid event at hpd->off to the next valid run. */
static void skip_damage(hp_hpd *hpd, int reason)
{
    size_t next = hp_resync(hpd->map.data, hpd->map.size, hpd->off + 1, hpd->max_trace);
    hp_skip skip = {.path = hpd->map.path, .offset = hpd->off, .length = next - hpd->off,
                    .reason = reason};
    if (hpd->stats.skips++ == 0)
        hpd->stats.first_skip_offset = hpd->off;
    hpd->stats.skipped_bytes += skip.length;
    if (hpd->opts.on_skip)
        hpd->opts.on_skip(hpd->opts.ctx, &skip);
    hpd->off = next;
}

int hp_hpd_next(hp_hpd *hpd, hp_event *ev)
{
    const uint8_t *data = hpd->map.data, *end = data + hpd->map.size;
    while (!hpd->done) {
        if (hpd->off == hpd->map.size) {
            hpd->done = 1;
            break;
        }
        hp_raw_event raw;
        int n = hp_event_decode(data + hpd->off, end, hpd->max_trace, &raw);
        if (n == 0) {
            hpd->stats.truncated_bytes = hpd->map.size - hpd->off;
            hpd->done = 1;
            break;
        }
        if (n < 0) {
            if (!hpd->opts.salvage)
                return hp_fail_event(&hpd->map, hpd->off, -n);
            skip_damage(hpd, -n);
            continue;
        }
        int64_t mag = (int64_t)(raw.sec > (uint64_t)INT64_MAX / HP_USEC_PER_SEC
                                    ? INT64_MAX
                                    : (int64_t)raw.sec * HP_USEC_PER_SEC);
        int64_t delta = (raw.word & HP_EV_NEGATIVE) ? -mag + (int64_t)raw.usec
                                                    : sat_add(mag, (int64_t)raw.usec);
        hpd->signed_us = sat_add(hpd->signed_us, delta);
        hpd->relative_us = hp_time_add(hpd->relative_us, hp_event_advance_us(&raw));
        uint64_t size = raw.size > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX : raw.size;
        int is_free = (raw.word & HP_EV_FREE) != 0;
        ev->timestamp = hp_hpm_initial_time(hpd->hpm) + (double)hpd->signed_us * 1e-6;
        ev->traceindex = raw.word & HP_EV_TRACE_MASK;
        ev->size = is_free ? -(int64_t)size : (int64_t)size;
        ev->scale = hp_hpm_scale_factor(hpd->hpm, (int64_t)size);
        ev->offset = hpd->off;
        hpd->stats.events++;
        if (is_free)
            hpd->stats.frees++;
        else
            hpd->stats.allocs++;
        if (raw.word & HP_EV_NEGATIVE)
            hpd->stats.negative_deltas++;
        hpd->stats.duration = (double)hpd->relative_us * 1e-6;
        hpd->off += (size_t)n;
        return HP_OK;
    }
    return HP_END;
}
