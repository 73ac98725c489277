/* intern.c - strings and number sequences to dense ids (see intern.h). */
#include "intern.h"

#include "grow.h"

#include <stdlib.h>
#include <string.h>

/* Rebuilds an open-addressing table of 2x the slots over `n` hashes. */
static int rehash(uint32_t **slots, size_t *nslots, const uint32_t *hash, size_t n)
{
    size_t ns = *nslots ? *nslots * 2 : 256;
    uint32_t *s = calloc(ns, sizeof *s);
    if (!s)
        return -1;
    for (size_t id = 0; id < n; id++) {
        size_t i = hash[id] & (ns - 1);
        while (s[i])
            i = (i + 1) & (ns - 1);
        s[i] = (uint32_t)id + 1;
    }
    free(*slots);
    *slots = s;
    *nslots = ns;
    return 0;
}

/* ---- strings ------------------------------------------------------------- */

static uint32_t hash_str(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

int hp_strtab_add(hp_strtab *t, const char *s, size_t len, uint32_t *id)
{
    if (t->n >= UINT32_MAX - 1)
        return -1;
    if ((t->n + 1) * 2 > t->nslots && rehash(&t->slots, &t->nslots, t->hash, t->n) < 0)
        return -1;
    uint32_t h = hash_str(s, len);
    size_t i = h & (t->nslots - 1);
    for (; t->slots[i]; i = (i + 1) & (t->nslots - 1)) {
        uint32_t k = t->slots[i] - 1;
        if (t->hash[k] == h && strncmp(t->str[k], s, len) == 0 && t->str[k][len] == '\0') {
            *id = k;
            return 0;
        }
    }
    if (hp_grow(&t->str, &t->cap, t->n + 1, sizeof *t->str, 64) < 0 ||
        hp_grow(&t->hash, &t->hash_cap, t->n + 1, sizeof *t->hash, 64) < 0)
        return -1;
    char *copy = malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, s, len);
    copy[len] = '\0';
    t->str[t->n] = copy;
    t->hash[t->n] = h;
    t->slots[i] = (uint32_t)t->n + 1;
    *id = (uint32_t)t->n++;
    return 1;
}

void hp_strtab_free(hp_strtab *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->str[i]);
    free(t->str);
    free(t->hash);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

/* ---- sequences ----------------------------------------------------------- */

static uint32_t hash_seq(const uint64_t *k, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    for (size_t i = 0; i < n; i++) {
        h ^= k[i];
        h *= 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
    }
    return (uint32_t)(h ^ (h >> 32));
}

static int same(const hp_seqtab *t, uint32_t id, const uint64_t *key, size_t len)
{
    size_t n;
    const uint64_t *k = hp_seqtab_key(t, id, &n);
    if (n != len)
        return 0;
    if (len == 1) /* (file, line) keys: the common case */
        return k[0] == key[0];
    return len == 0 || memcmp(k, key, len * sizeof *key) == 0;
}

int hp_seqtab_find(const hp_seqtab *t, const uint64_t *key, size_t len, uint32_t *id)
{
    if (!t->nslots)
        return 0;
    uint32_t h = hash_seq(key, len);
    for (size_t i = h & (t->nslots - 1); t->slots[i]; i = (i + 1) & (t->nslots - 1)) {
        uint32_t k = t->slots[i] - 1;
        if (t->hash[k] == h && same(t, k, key, len)) {
            *id = k;
            return 1;
        }
    }
    return 0;
}

int hp_seqtab_add(hp_seqtab *t, const uint64_t *key, size_t len, uint32_t *id)
{
    if (hp_seqtab_find(t, key, len, id))
        return 0;
    if (t->n >= UINT32_MAX - 1)
        return -1;
    if ((t->n + 1) * 2 > t->nslots && rehash(&t->slots, &t->nslots, t->hash, t->n) < 0)
        return -1;
    if (hp_grow(&t->pool, &t->pool_cap, t->pool_n + len, sizeof *t->pool, 256) < 0 ||
        hp_grow(&t->start, &t->start_cap, t->n + 2, sizeof *t->start, 64) < 0 ||
        hp_grow(&t->hash, &t->hash_cap, t->n + 1, sizeof *t->hash, 64) < 0)
        return -1;
    uint32_t h = hash_seq(key, len);
    size_t i = h & (t->nslots - 1);
    while (t->slots[i])
        i = (i + 1) & (t->nslots - 1);
    if (len)
        memcpy(t->pool + t->pool_n, key, len * sizeof *key);
    t->start[0] = 0;
    t->pool_n += len;
    t->start[t->n + 1] = t->pool_n;
    t->hash[t->n] = h;
    t->slots[i] = (uint32_t)t->n + 1;
    *id = (uint32_t)t->n++;
    return 1;
}

const uint64_t *hp_seqtab_key(const hp_seqtab *t, uint32_t id, size_t *len)
{
    *len = t->start[id + 1] - t->start[id];
    return t->pool + t->start[id];
}

void hp_seqtab_free(hp_seqtab *t)
{
    free(t->pool);
    free(t->start);
    free(t->hash);
    free(t->slots);
    memset(t, 0, sizeof *t);
}
