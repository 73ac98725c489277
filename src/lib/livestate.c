#include "livestate.h"

#include <stdlib.h>
#include <string.h>

int hp_live_init(hp_live_state *st, uint32_t ntraces)
{
    memset(st, 0, sizeof *st);
    size_t n = (size_t)ntraces + 1;
    st->ntraces = ntraces;
    st->live = calloc(n, sizeof *st->live);
    st->acc = calloc(n, sizeof *st->acc);
    st->dirty = calloc(n, 1);
    st->dirty_list = malloc(n * sizeof *st->dirty_list);
    st->order = malloc(n * sizeof *st->order);
    st->tmp = malloc(n * sizeof *st->tmp);
    if (!st->live || !st->acc || !st->dirty || !st->dirty_list || !st->order || !st->tmp) {
        hp_live_free(st);
        return -1;
    }
    return 0;
}

void hp_live_free(hp_live_state *st)
{
    free(st->live);
    free(st->acc);
    free(st->dirty);
    free(st->dirty_list);
    free(st->order);
    free(st->tmp);
    memset(st, 0, sizeof *st);
}

void hp_live_copy(hp_live_state *st, const hp_live_state *src)
{
    memcpy(st->live, src->live, ((size_t)st->ntraces + 1) * sizeof *st->live);
    for (size_t i = 0; i < st->ndirty; i++)
        st->dirty[st->dirty_list[i]] = 0;
    st->ndirty = 0;
    st->nneg = src->nneg;
    st->order_valid = src->order_valid && src->ndirty == 0;
    if (st->order_valid) {
        memcpy(st->order, src->order, src->norder * sizeof *st->order);
        st->norder = src->norder;
    }
}

/* Snapshot order: bytes descending, then trace index ascending. */
static inline int before(const hp_ranked *a, const hp_ranked *b)
{
    return a->bytes > b->bytes || (a->bytes == b->bytes && a->trace < b->trace);
}

static void swap(hp_ranked *a, hp_ranked *b)
{
    hp_ranked t = *a;
    *a = *b;
    *b = t;
}

/* Sorts v[0..n) in snapshot order: a quicksort with the comparison inlined
 * (qsort's indirect calls cost more than the comparisons themselves) and an
 * insertion sort for short ranges. Recursion goes into the smaller side, so
 * the depth is O(log n). */
static void sort_ranked(hp_ranked *v, size_t n)
{
    while (n > 16) {
        /* median of three as the pivot, moved to v[0] */
        size_t m = n / 2;
        if (before(&v[m], &v[0]))
            swap(&v[m], &v[0]);
        if (before(&v[n - 1], &v[m]))
            swap(&v[n - 1], &v[m]);
        if (before(&v[m], &v[0]))
            swap(&v[m], &v[0]);
        swap(&v[0], &v[m]);
        size_t i = 0, j = n;
        for (;;) { /* Hoare partition around v[0] */
            do
                i++;
            while (i < n && before(&v[i], &v[0]));
            do
                j--;
            while (before(&v[0], &v[j]));
            if (i >= j)
                break;
            swap(&v[i], &v[j]);
        }
        swap(&v[0], &v[j]);
        if (j < n - j - 1) {
            sort_ranked(v, j);
            v += j + 1;
            n -= j + 1;
        } else {
            sort_ranked(v + j + 1, n - j - 1);
            n = j;
        }
    }
    for (size_t i = 1; i < n; i++) {
        hp_ranked x = v[i];
        size_t k = i;
        for (; k > 0 && before(&x, &v[k - 1]); k--)
            v[k] = v[k - 1];
        v[k] = x;
    }
}

void hp_live_sort(hp_live_state *st)
{
    if (!st->order_valid) {
        size_t n = 0;
        for (uint32_t t = 0; t <= st->ntraces; t++)
            if (st->live[t] > 0)
                st->order[n++] = (hp_ranked){st->live[t], t};
        sort_ranked(st->order, n);
        st->norder = n;
        st->order_valid = 1;
    } else if (st->ndirty > 0) {
        /* sort the touched traces that are live, merge with the untouched */
        size_t nt = 0;
        for (size_t i = 0; i < st->ndirty; i++) {
            uint32_t t = st->dirty_list[i];
            if (st->live[t] > 0)
                st->tmp[nt++] = (hp_ranked){st->live[t], t};
        }
        sort_ranked(st->tmp, nt);
        /* merge from the back so the result can be built in place: first
         * compact the untouched entries to the front of order */
        size_t nu = 0;
        for (size_t i = 0; i < st->norder; i++)
            if (!st->dirty[st->order[i].trace])
                st->order[nu++] = st->order[i];
        size_t i = nu, j = nt, k = nu + nt;
        while (j > 0) {
            if (i > 0 && before(&st->tmp[j - 1], &st->order[i - 1]))
                st->order[--k] = st->order[--i];
            else
                st->order[--k] = st->tmp[--j];
        }
        st->norder = nu + nt;
    }
    for (size_t i = 0; i < st->ndirty; i++)
        st->dirty[st->dirty_list[i]] = 0;
    st->ndirty = 0;
}

void hp_live_cut(hp_live_state *st, double precision, hp_cut *cut)
{
    hp_live_sort(st);
    const hp_ranked *o = st->order;
    size_t n = st->norder;

    /* Drop the smallest entries (trace 0 aside) while their running sum
     * stays <= total * precision; they and trace 0's own bytes form the
     * "other" entry. */
    uint64_t total = 0, other = 0, dropped = 0;
    for (size_t i = 0; i < n; i++) {
        total += (uint64_t)o[i].bytes;
        if (o[i].trace == 0)
            other = (uint64_t)o[i].bytes;
    }
    size_t keep = n; /* o[0..keep) are kept (trace 0's entry aside) */
    if (precision > 0) {
        uint64_t slop = (uint64_t)((double)total * precision);
        while (keep > 0) {
            const hp_ranked *e = &o[keep - 1];
            if (e->trace != 0) {
                if (dropped + (uint64_t)e->bytes > slop)
                    break;
                dropped += (uint64_t)e->bytes;
            }
            keep--;
        }
        other += dropped;
    }
    *cut = (hp_cut){.kept = o, .nkept = keep, .other = other};
}
