/* hpm_internal.h - what the HPD reader and the digester need of an hp_hpm. */
#ifndef HP_HPM_INTERNAL_H
#define HP_HPM_INTERNAL_H

#include "heapprof.h"
#include "mapfile.h"
#include "scale.h"

const hp_scale *hp_hpm_scale(const hp_hpm *hpm);

/* The mapped .hpm: its path and identity. */
const hp_map *hp_hpm_map(const hp_hpm *hpm);

/* Counts the traces of an .hpm already opened; safe to call from another
 * thread while the owner does not touch the handle's lazy trace state. */
int hp_hpm_count_traces_readonly(const hp_hpm *hpm, uint32_t *count);

#endif
