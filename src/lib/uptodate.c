/* uptodate.c - whether a digest needs making again: the .hpc records the
 * parameters asked for and the inputs exactly as they are now
 * (docs/DESIGN.md, "Up to date"). */
#include "hpc_format.h"
#include "hpc_internal.h"
#include "paths.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int64_t mtime_ns(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* The inputs are looked at with hp_path_stat, which allocates nothing: an
 * answer is never "changed" or "missing" for want of memory (a false
 * "digest again" warning). */

/* Whether FILEBASE + ext is now `size` bytes, last modified at `mtime`. */
static int same_input(const char *filebase, const char *ext, uint64_t size, int64_t mtime)
{
    struct stat st;
    return hp_path_stat(filebase, ext, &st) == 0 && (uint64_t)st.st_size == size &&
           mtime_ns(&st) == mtime;
}

int hp_hpc_is_up_to_date(const char *filebase, double interval, double precision,
                         const hp_make_options *opts)
{
    static const hp_make_options defaults = HP_MAKE_OPTIONS_INIT;
    if (!opts)
        opts = &defaults;
    if (opts->format != HP_FORMAT_V2 || opts->limit_bytes)
        return 0; /* v1 records nothing; a slice is no digest of the profile */
    char *out = opts->output ? strdup(opts->output) : hp_path_join(filebase, ".hpc");
    hp_hpc *h = NULL;
    hp_digest_params p;
    int fresh = out && hp_hpc_open_path(&h, out) == HP_OK && hp_hpc_format(h) == 2 &&
                hp_hpc_recorded_params(h, &p) == HP_OK && p.has_inputs &&
                p.interval_ms == hp_interval_ms(interval) && p.precision == precision &&
                p.override_sampling == (opts->override_sampling != 0) &&
                p.salvage == (opts->salvage != 0) &&
                same_input(filebase, ".hpm", p.hpm_size, p.hpm_mtime_ns) &&
                same_input(filebase, ".hpd", p.hpd_size, p.hpd_mtime_ns);
    hp_hpc_close(h);
    free(out);
    return fresh;
}

/* Whether FILEBASE + ext exists and was modified after `than`. */
static int newer_input(const char *filebase, const char *ext, int64_t than)
{
    struct stat st;
    return hp_path_stat(filebase, ext, &st) == 0 && mtime_ns(&st) > than;
}

static int exists(const char *filebase, const char *ext)
{
    struct stat st;
    return hp_path_stat(filebase, ext, &st) == 0;
}

int hp_hpc_is_stale(const hp_hpc *hpc, const char *filebase)
{
    if (!exists(filebase, ".hpm") || !exists(filebase, ".hpd"))
        return 0;
    hp_digest_params p;
    if (hp_hpc_recorded_params(hpc, &p) == HP_OK && p.has_inputs)
        return !same_input(filebase, ".hpm", p.hpm_size, p.hpm_mtime_ns) ||
               !same_input(filebase, ".hpd", p.hpd_size, p.hpd_mtime_ns);
    int64_t made = hp_hpc_map(hpc)->mtime_ns;
    return newer_input(filebase, ".hpm", made) || newer_input(filebase, ".hpd", made);
}
