/* uptodate.c - whether a digest needs making again: the .hpc is newer than
 * its inputs and records the parameters asked for (docs/DESIGN.md,
 * "Up to date"). */
#include "hpc_format.h"
#include "paths.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int newer(const struct stat *a, const struct stat *b)
{
    return a->st_mtim.tv_sec > b->st_mtim.tv_sec ||
           (a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec > b->st_mtim.tv_nsec);
}

int hp_hpc_is_up_to_date(const char *filebase, const char *output, double interval,
                         double precision, hp_format format)
{
    char *hpm = hp_path_join(filebase, ".hpm"), *hpd = hp_path_join(filebase, ".hpd");
    char *hpc = output ? strdup(output) : hp_path_join(filebase, ".hpc");
    struct stat sm, sd, sc;
    int fresh = hpm && hpd && hpc && stat(hpm, &sm) == 0 && stat(hpd, &sd) == 0 &&
                stat(hpc, &sc) == 0 && newer(&sc, &sm) && newer(&sc, &sd);
    if (fresh && format == HP_FORMAT_V2) {
        hp_hpc *h = NULL;
        uint64_t ms;
        double p;
        fresh = hp_hpc_open_path(&h, hpc) == HP_OK && hp_hpc_format(h) == 2 &&
                hp_hpc_recorded_params(h, &ms, &p) == HP_OK &&
                ms == hp_interval_ms(interval) && p == precision;
        hp_hpc_close(h);
    } else {
        fresh = 0; /* v1 cannot record the precision: always redone */
    }
    free(hpm);
    free(hpd);
    free(hpc);
    return fresh;
}
