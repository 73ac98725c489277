#include "livestate.h"

#include <stdlib.h>
#include <string.h>

/* The sort arrays (order, tmp) are grown by the sort itself: a state that
 * only adds and is copied (the engine's running state) never needs them. */

static int reserve_order(hp_live_state *st);

/* The dirty list of a state of n traces: one entry per trace, plus the one
 * that hp_live_update's branchless store writes past the last dirty trace
 * when every trace already is. */
static size_t dirty_list_size(size_t n)
{
    return (n + 1) * sizeof(uint32_t);
}

int hp_live_init(hp_live_state *st, uint32_t ntraces)
{
    memset(st, 0, sizeof *st);
    size_t n = (size_t)ntraces + 1;
    st->live = calloc(n, sizeof *st->live);
    st->flags = calloc(n, 1);
    st->dirty_list = malloc(dirty_list_size(n));
    if (!st->live || !st->flags || !st->dirty_list) {
        hp_live_free(st);
        return -1;
    }
    st->ntraces = ntraces;
    return 0;
}

void hp_live_free(hp_live_state *st)
{
    free(st->live);
    free(st->flags);
    free(st->dirty_list);
    free(st->order);
    free(st->tmp);
    memset(st, 0, sizeof *st);
}

int hp_live_reserve(hp_live_state *st, uint32_t max_trace)
{
    if (st->live && max_trace <= st->ntraces)
        return 0;
    size_t old = st->live ? (size_t)st->ntraces + 1 : 0;
    size_t n = (size_t)max_trace + 1;
    if (old && n < old + old / 2) /* grow geometrically: traces appear one by one */
        n = old + old / 2;
    int64_t *live = realloc(st->live, n * sizeof *live);
    if (!live)
        return -1;
    st->live = live;
    uint8_t *flags = realloc(st->flags, n);
    if (!flags)
        return -1;
    st->flags = flags;
    uint32_t *list = realloc(st->dirty_list, dirty_list_size(n));
    if (!list)
        return -1;
    st->dirty_list = list;
    memset(live + old, 0, (n - old) * sizeof *live);
    memset(flags + old, 0, n - old);
    st->ntraces = (uint32_t)(n - 1);
    return 0;
}

int hp_live_copy_values(hp_live_state *st, const hp_live_state *src)
{
    return hp_live_replace(st, src->live, (size_t)src->ntraces + 1);
}

int hp_live_copy(hp_live_state *st, const hp_live_state *src)
{
    if (hp_live_copy_values(st, src) < 0)
        return -1;
    /* an up-to-date order has no trace marked touched: the flags agree */
    if (src->order_valid && src->ndirty == 0 && reserve_order(st) == 0) {
        memcpy(st->order, src->order, src->norder * sizeof *st->order);
        st->norder = src->norder;
        st->total = src->total;
        st->order_valid = 1;
    }
    return 0;
}

int hp_live_replace(hp_live_state *st, const int64_t *v, size_t n)
{
    if (n == 0 || hp_live_reserve(st, (uint32_t)(n - 1)) < 0)
        return -1;
    size_t nneg = 0;
    for (size_t t = 0; t < n; t++) { /* nothing touched, the signs counted */
        st->live[t] = v[t];
        st->flags[t] = v[t] < 0 ? HP_LIVE_NEG : 0;
        nneg += v[t] < 0;
    }
    size_t all = (size_t)st->ntraces + 1;
    memset(st->live + n, 0, (all - n) * sizeof *v);
    memset(st->flags + n, 0, all - n);
    st->nneg = nneg;
    st->ndirty = 0;
    st->order_valid = 0;
    return 0;
}

/* Makes the sort arrays hold every trace. */
static int reserve_order(hp_live_state *st)
{
    size_t n = (size_t)st->ntraces + 1;
    if (st->order && st->tmp && st->order_cap >= n)
        return 0;
    hp_ranked *o = realloc(st->order, n * sizeof *o);
    if (!o)
        return -1;
    st->order = o;
    hp_ranked *t = realloc(st->tmp, n * sizeof *t);
    if (!t)
        return -1;
    st->tmp = t;
    st->order_cap = n;
    return 0;
}

/* ---- sorting ----------------------------------------------------------------- */

/* Snapshot order: bytes descending, then trace index ascending. */
static inline int before(const hp_ranked *a, const hp_ranked *b)
{
    return a->bytes > b->bytes || (a->bytes == b->bytes && a->trace < b->trace);
}

static void insertion_sort(hp_ranked *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        hp_ranked x = v[i];
        size_t k = i;
        for (; k > 0 && before(&x, &v[k - 1]); k--)
            v[k] = v[k - 1];
        v[k] = x;
    }
}

/* LSD radix sort. An entry is packed into one 64-bit key, the bytes
 * complemented above the trace index (bytes descending, then trace
 * ascending, is then ascending keys), and only the bits in which keys
 * differ are sorted, 11 at a time: live bytes rarely need more than 40
 * bits, nor traces more than 20, so three or four passes over 8-byte keys
 * do, where a comparison sort takes log2(n) passes over 16-byte entries.
 * Entries whose bytes and trace do not fit in 64 bits together (only a
 * damaged stream's) take a radix sort of the 16-byte entries. */
#define RADIX_BITS 11
#define RADIX_SIZE (1u << RADIX_BITS)
#define RADIX_MASK (RADIX_SIZE - 1)

/* Sorts the keys a[0..n) on the bits of `vary` (b: room for n); returns
 * where the result is, a or b. Each scatter pass counts the next pass's
 * digits as it goes, so the keys are read once a pass and the first
 * digit's counts take the only pass of their own. */
static uint64_t *radix_keys(uint64_t *a, uint64_t *b, size_t n, uint64_t vary)
{
    if (vary == 0)
        return a;
    /* the varying bits [lo, hi) in as few passes as 11-bit digits need,
     * each digit as narrow as that allows (fewer buckets, fewer cache
     * lines written at once) */
    unsigned lo = (unsigned)__builtin_ctzll(vary), hi = 64 - (unsigned)__builtin_clzll(vary);
    unsigned passes = (hi - lo + RADIX_BITS - 1) / RADIX_BITS;
    unsigned width = (hi - lo + passes - 1) / passes;
    unsigned shifts[6];
    int nd = 0;
    for (unsigned shift = lo; shift < hi; shift += width)
        if ((vary >> shift) & ((1ull << width) - 1))
            shifts[nd++] = shift;
    const uint64_t mask = (1ull << width) - 1;
    const size_t buckets = (size_t)mask + 1;
    uint32_t cnt[2][RADIX_SIZE];
    uint32_t *c = cnt[0], *next = cnt[1];
    memset(c, 0, buckets * sizeof *c);
    for (size_t i = 0; i < n; i++)
        c[(a[i] >> shifts[0]) & mask]++;
    for (int d = 0; d < nd; d++) {
        uint32_t sum = 0;
        for (size_t v = 0; v < buckets; v++) {
            uint32_t x = c[v];
            c[v] = sum;
            sum += x;
        }
        const unsigned shift = shifts[d];
        if (d + 1 < nd) {
            const unsigned nshift = shifts[d + 1];
            memset(next, 0, buckets * sizeof *next);
            for (size_t i = 0; i < n; i++) {
                uint64_t k = a[i];
                b[c[(k >> shift) & mask]++] = k;
                next[(k >> nshift) & mask]++;
            }
        } else {
            for (size_t i = 0; i < n; i++) {
                uint64_t k = a[i];
                b[c[(k >> shift) & mask]++] = k;
            }
        }
        uint32_t *xc = c;
        c = next;
        next = xc;
        uint64_t *x = a;
        a = b;
        b = x;
    }
    return a;
}

static inline uint64_t key_of(const hp_ranked *r) { return ~(uint64_t)r->bytes; }

static void radix_pass(const hp_ranked *src, hp_ranked *dst, size_t n, unsigned shift, int trace)
{
    uint32_t count[RADIX_SIZE];
    memset(count, 0, sizeof count);
    if (trace)
        for (size_t i = 0; i < n; i++)
            count[(src[i].trace >> shift) & RADIX_MASK]++;
    else
        for (size_t i = 0; i < n; i++)
            count[(key_of(&src[i]) >> shift) & RADIX_MASK]++;
    uint32_t sum = 0;
    for (unsigned d = 0; d < RADIX_SIZE; d++) {
        uint32_t c = count[d];
        count[d] = sum;
        sum += c;
    }
    if (trace)
        for (size_t i = 0; i < n; i++)
            dst[count[(src[i].trace >> shift) & RADIX_MASK]++] = src[i];
    else
        for (size_t i = 0; i < n; i++)
            dst[count[(key_of(&src[i]) >> shift) & RADIX_MASK]++] = src[i];
}

/* The 16-byte way (stable passes on the trace, then on the bytes). */
static hp_ranked *sort_wide(hp_ranked *v, hp_ranked *scratch, size_t n, int trace_sorted)
{
    uint64_t kdiff = 0, k0 = key_of(&v[0]);
    uint32_t tdiff = 0, t0 = v[0].trace;
    for (size_t i = 1; i < n; i++) {
        kdiff |= key_of(&v[i]) ^ k0;
        tdiff |= v[i].trace ^ t0;
    }
    hp_ranked *src = v, *dst = scratch;
    if (!trace_sorted)
        for (unsigned shift = 0; shift < 32; shift += RADIX_BITS)
            if ((tdiff >> shift) & RADIX_MASK) {
                radix_pass(src, dst, n, shift, 1);
                hp_ranked *x = src;
                src = dst;
                dst = x;
            }
    for (unsigned shift = 0; shift < 64; shift += RADIX_BITS)
        if ((kdiff >> shift) & RADIX_MASK) {
            radix_pass(src, dst, n, shift, 0);
            hp_ranked *x = src;
            src = dst;
            dst = x;
        }
    return src;
}

/* Sorts v[0..n) in snapshot order with `scratch` (room for n entries);
 * returns where the result is, v or scratch. With trace_sorted, v is in
 * trace order already and only the bytes are sorted (stably). */
static hp_ranked *sort_ranked(hp_ranked *v, hp_ranked *scratch, size_t n, int trace_sorted)
{
    if (n <= 48) {
        insertion_sort(v, n);
        return v;
    }
    uint64_t bor = 0, band = ~0ull;
    uint32_t tor = 0, tand = ~0u;
    for (size_t i = 0; i < n; i++) {
        bor |= (uint64_t)v[i].bytes;
        band &= (uint64_t)v[i].bytes;
        tor |= v[i].trace;
        tand &= v[i].trace;
    }
    unsigned tb = 32 - (unsigned)__builtin_clz(tor | 1), bb = 64 - (unsigned)__builtin_clzll(bor | 1);
    if (tb + bb > 64)
        return sort_wide(v, scratch, n, trace_sorted);
    uint64_t bmax = bb == 64 ? ~0ull : (1ull << bb) - 1, tmask = (1ull << tb) - 1;
    uint64_t *a = (uint64_t *)(void *)scratch, *b = a + n; /* scratch holds 2n keys */
    for (size_t i = 0; i < n; i++)
        a[i] = ((bmax - (uint64_t)v[i].bytes) << tb) | v[i].trace;
    /* bmax - x flips the same bits in every key: the varying bits stay */
    uint64_t vary = (bor ^ band) << tb;
    if (!trace_sorted)
        vary |= tor ^ tand;
    uint64_t *r = radix_keys(a, b, n, vary);
    for (size_t i = 0; i < n; i++)
        v[i] = (hp_ranked){(int64_t)(bmax - (r[i] >> tb)), (uint32_t)(r[i] & tmask)};
    return v;
}

/* Every live trace, in trace order, then sorted: nneg and every flag are
 * counted afresh. The scan packs each live trace straight into a sort key
 * (sort_ranked's), in trace order, so only the bytes' bits are sorted. */
static void rebuild(hp_live_state *st)
{
    size_t n = 0, nneg = 0;
    uint64_t total = 0, bor = 0, band = ~0ull;
    const int64_t *live = st->live;
    uint8_t *flags = st->flags;
    unsigned tb = 32 - (unsigned)__builtin_clz(st->ntraces | 1);
    uint64_t kmask = ~0ull >> tb;
    uint64_t *keys = (uint64_t *)(void *)st->tmp; /* room for 2 * (ntraces + 1) */
    for (uint32_t t = 0; t <= st->ntraces; t++) {
        int64_t v = live[t];
        nneg += v < 0;
        flags[t] = v < 0 ? HP_LIVE_NEG : 0;
        if (v > 0) {
            keys[n++] = ((kmask - (uint64_t)v) << tb) | t;
            total += (uint64_t)v;
            bor |= (uint64_t)v;
            band &= (uint64_t)v;
        }
    }
    hp_ranked *o = st->order;
    if ((bor & ~kmask) == 0) {
        uint64_t *r = radix_keys(keys, keys + n, n, (bor ^ band) << tb);
        uint64_t tmask = (1ull << tb) - 1;
        for (size_t i = 0; i < n; i++)
            o[i] = (hp_ranked){(int64_t)(kmask - (r[i] >> tb)), (uint32_t)(r[i] & tmask)};
    } else { /* bytes too wide to pack with the trace (a damaged stream) */
        n = 0;
        for (uint32_t t = 0; t <= st->ntraces; t++)
            if (live[t] > 0)
                o[n++] = (hp_ranked){live[t], t};
        if (sort_wide(o, st->tmp, n, 1) != o) {
            st->order = st->tmp;
            st->tmp = o;
        }
    }
    st->norder = n;
    st->nneg = nneg;
    st->total = total;
    st->order_valid = 1;
}

/* The touched traces sorted and merged with the untouched ones. */
static void repair(hp_live_state *st)
{
    const int64_t *live = st->live;
    uint8_t *flags = st->flags;
    hp_ranked *o = st->order, *tmp = st->tmp;
    /* the untouched entries keep their order: compact them to the front */
    size_t nu = 0;
    uint64_t total = 0;
    for (size_t i = 0; i < st->norder; i++)
        if (!(flags[o[i].trace] & HP_LIVE_DIRTY)) {
            total += (uint64_t)o[i].bytes;
            o[nu++] = o[i];
        }
    /* the touched ones that are live, their signs counted */
    size_t nt = 0, nneg = st->nneg;
    for (size_t i = 0; i < st->ndirty; i++) {
        uint32_t t = st->dirty_list[i];
        int64_t v = live[t];
        unsigned neg = v < 0 ? HP_LIVE_NEG : 0;
        nneg += (size_t)(neg != 0) - (size_t)((flags[t] & HP_LIVE_NEG) != 0);
        flags[t] = (uint8_t)neg;
        if (v > 0) {
            tmp[nt++] = (hp_ranked){v, t};
            total += (uint64_t)v;
        }
    }
    /* sort them, with the free tail of the order as scratch (nu + nt <= all traces) */
    hp_ranked *sorted = sort_ranked(tmp, o + nu, nt, 0);
    if (sorted != tmp)
        memcpy(tmp, sorted, nt * sizeof *tmp);
    /* merge from the back so the result can be built in place */
    size_t i = nu, j = nt, k = nu + nt;
    while (j > 0) {
        if (i > 0 && before(&tmp[j - 1], &o[i - 1]))
            o[--k] = o[--i];
        else
            o[--k] = tmp[--j];
    }
    st->norder = nu + nt;
    st->nneg = nneg;
    st->total = total;
}

int hp_live_sort(hp_live_state *st)
{
    if (st->order_valid && st->ndirty == 0)
        return 0;
    if (reserve_order(st) < 0) {
        st->order_valid = 0;
        return -1;
    }
    /* most traces touched: rebuilding is cheaper than sorting them and merging */
    size_t n = (size_t)st->ntraces + 1;
    if (!st->order_valid || (st->ndirty * 3 >= st->norder && n <= 4 * (st->norder + st->ndirty)))
        rebuild(st);
    else
        repair(st);
    st->ndirty = 0;
    return 0;
}

int hp_live_cut(hp_live_state *st, double precision, hp_cut *cut)
{
    if (hp_live_sort(st) < 0)
        return -1;
    const hp_ranked *o = st->order;
    size_t n = st->norder;

    /* Drop the smallest entries (trace 0 aside) while their running sum
     * stays <= total * precision; they and trace 0's own bytes form the
     * "other" entry. */
    uint64_t total = st->total, dropped = 0;
    uint64_t other = st->live[0] > 0 ? (uint64_t)st->live[0] : 0;
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
    return 0;
}
