/* intern.h - the hash tables of the exporters: strings, and sequences of
 * 64-bit numbers (a (file, line) pair, a whole stack), each given a dense
 * id in the order first seen.
 *
 * Ids in insertion order make every output that lists them deterministic
 * whatever the hash; the tables hold only what was added, so memory follows
 * the stacks an export touches. */
#ifndef HP_INTERN_H
#define HP_INTERN_H

#include <stddef.h>
#include <stdint.h>

/* Strings to ids 0, 1, ...; str[] is their array (NUL-terminated copies). */
typedef struct hp_strtab {
    char **str;
    size_t n, cap;
    uint32_t *hash;   /* per id */
    size_t hash_cap;
    uint32_t *slots;  /* id + 1; 0: empty */
    size_t nslots;
} hp_strtab;

/* The id of s (its first len bytes), added when new. Returns 1 when added,
 * 0 when it was there, -1 when out of memory. */
int hp_strtab_add(hp_strtab *t, const char *s, size_t len, uint32_t *id);
void hp_strtab_free(hp_strtab *t);

/* Sequences of uint64 (of any length, 0 included) to ids 0, 1, ... */
typedef struct hp_seqtab {
    uint64_t *pool;   /* the keys back to back */
    size_t pool_n, pool_cap;
    size_t *start;    /* key i is pool[start[i] .. start[i + 1]) */
    size_t start_cap;
    uint32_t *hash;   /* per id */
    size_t hash_cap;
    size_t n;
    uint32_t *slots;
    size_t nslots;
} hp_seqtab;

/* As hp_strtab_add: 1 added, 0 found, -1 out of memory. */
int hp_seqtab_add(hp_seqtab *t, const uint64_t *key, size_t len, uint32_t *id);
/* 1 and *id when the key is there, else 0. */
int hp_seqtab_find(const hp_seqtab *t, const uint64_t *key, size_t len, uint32_t *id);
/* Key `id`: its numbers and length. */
const uint64_t *hp_seqtab_key(const hp_seqtab *t, uint32_t id, size_t *len);
void hp_seqtab_free(hp_seqtab *t);

#endif
