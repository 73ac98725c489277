/* Our digest against heapprof's own, on the real fixtures.
 *
 * heapprof 1.0's digester (_heapprof/file_format.cc, MakeDigestFile) applies
 * an event, then writes every snapshot whose boundary the float sum of time
 * deltas has reached: its snapshot k holds the events up to and including
 * the first one at or past (k+1)*I, which is our snapshot k+1 plus the events
 * at the boundary. It also scales with 32-bit floats and truncates, and keeps
 * 32-bit live-byte counters.
 *
 * The check runs in three steps, each against an independent model:
 *   1. A model of heapprof's arithmetic reproduces every snapshot of its p0
 *      fixtures exactly, so the model is heapprof.
 *   2. The same events under the contract's arithmetic (exact scaling, 64-bit
 *      counters), cut where heapprof cuts, differ from our snapshot k+1 only
 *      in traces that the boundary events touch: our engine is exact.
 *   3. Every (snapshot, trace) where heapprof and we disagree is attributed:
 *      boundary events, float scaling, or 32-bit wrap. The counts are printed
 *      and the expected ones asserted (docs/FORMATS.md quotes them).
 *
 * The p0_01 fixtures are not compared: heapprof's precision loop reads past
 * the end of its vector there (see tests/data/README.md). */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* heapprof's HPMMetadata::scaled_size: float factor, product in float,
 * truncated to int. */
static int32_t heapprof_scale(const hp_hpm *hpm, uint64_t size)
{
    size_t nr;
    const hp_range *r = hp_hpm_sampling_ranges(hpm, &nr);
    for (size_t i = 0; i < nr; i++) {
        if (size < r[i].max_bytes) {
            double p = (double)r[i].raw_probability / 4294967295.0;
            float factor = p == 0 ? 0.0f : (float)(1.0 / p);
            return (int32_t)((float)size * factor);
        }
    }
    return (int32_t)(uint32_t)size;
}

/* Per-trace state of one model, with heapprof's "new entry kept at 0". */
typedef struct model {
    int64_t *bytes;   /* 64-bit sums */
    uint8_t *present; /* heapprof's map has the key */
} model;

typedef struct compare {
    size_t snapshots;
    size_t differ, boundary, scaling, wrap, unexplained;
} compare;

static int64_t our_bytes(const hp_snapshot *s, uint32_t trace)
{
    for (size_t i = 0; i < s->count; i++)
        if (s->entries[i].traceindex == trace)
            return (int64_t)s->entries[i].bytes;
    return 0;
}

static void run_fixture(const char *name, uint64_t interval_ms, compare *cmp)
{
    char *fb = tu_path(tu_data_dir(), "%s", name);
    char *theirs_path = tu_path(tu_data_dir(), "%s.heapprof.i%llu.p0.hpc", name,
                                (unsigned long long)interval_ms);
    char *dir = tu_tmpdir(), *ours_path = tu_path(dir, "ours.hpc");

    hp_hpm *hpm;
    assert_int_equal(hp_hpm_open(&hpm, fb), HP_OK);
    uint32_t ntraces;
    assert_int_equal(hp_hpm_num_traces(hpm, &ntraces), HP_OK);
    tu_raw *ev;
    size_t n;
    assert_int_equal(tu_raw_events(fb, hpm, 0, &ev, &n), 0);

    hp_make_options o;
    hp_make_options_init(&o, HP_MAKE_OPTIONS_VERSION);
    o.format = HP_FORMAT_V1;
    o.output = ours_path;
    assert_int_equal(hp_hpc_make_ex(fb, (double)interval_ms / 1000, 0, &o), HP_OK);
    hp_hpc *theirs, *ours;
    assert_int_equal(hp_hpc_open_path(&theirs, theirs_path), HP_OK);
    assert_int_equal(hp_hpc_open_path(&ours, ours_path), HP_OK);

    size_t nt = (size_t)ntraces + 1;
    model hp = {calloc(nt, 8), calloc(nt, 1)};    /* heapprof: float scale, int32 */
    model exact = {calloc(nt, 8), calloc(nt, 1)}; /* the contract's arithmetic */
    int64_t *at_boundary = calloc(nt, 8);         /* net bytes of boundary events */
    uint8_t *touched = calloc(nt, 1);
    uint64_t *t_us = malloc((n + 1) * sizeof *t_us); /* exact relative time */
    int64_t *xs = malloc((n + 1) * sizeof *xs);      /* exact scaled size */
    for (size_t j = 0, now = 0; j < n; j++) {
        if (!(ev[j].word & TU_NEGATIVE))
            now += ev[j].sec * 1000000 + ev[j].usec;
        t_us[j] = now;
        xs[j] = tu_exact_scale(hpm, ev[j].size) * ((ev[j].word & TU_FREE) ? -1 : 1);
    }

    const double interval = (double)interval_ms / 1000;
    double rel = 0, next_snapshot = interval;
    size_t k = 0, i = 0;
    memset(cmp, 0, sizeof *cmp);
    for (; i < n && k < hp_hpc_length(theirs); i++) {
        const tu_raw *e = &ev[i];
        uint32_t t = e->word & TU_TRACE_MASK;
        int32_t hs = heapprof_scale(hpm, e->size);
        if (e->word & TU_FREE)
            hs = (int32_t)(0u - (uint32_t)hs);
        /* heapprof: std::map<uint32_t, int>, erased when an update gives 0 */
        if (!hp.present[t]) {
            hp.present[t] = 1;
            hp.bytes[t] = hs;
        } else {
            hp.bytes[t] += hs;
            if ((int32_t)(uint32_t)hp.bytes[t] == 0)
                hp.present[t] = 0, hp.bytes[t] = 0;
        }
        exact.bytes[t] += xs[i];
        double delta = (double)e->sec + 1e-6 * (double)e->usec;
        if (!(e->word & TU_NEGATIVE))
            rel += delta;
        for (; rel >= next_snapshot && k < hp_hpc_length(theirs); next_snapshot += interval, k++) {
            /* the boundary events: inside heapprof's cut (events 0..i) but
             * past ours, (k+1)*I, or the reverse where float time lags */
            uint64_t ours_cut = (uint64_t)(k + 1) * interval_ms * 1000;
            memset(at_boundary, 0, nt * 8);
            memset(touched, 0, nt);
            for (size_t j = i + 1; j-- > 0 && t_us[j] > ours_cut;) {
                uint32_t tr = ev[j].word & TU_TRACE_MASK;
                at_boundary[tr] += xs[j], touched[tr] = 1;
            }
            for (size_t j = i + 1; j < n && t_us[j] <= ours_cut; j++) {
                uint32_t tr = ev[j].word & TU_TRACE_MASK;
                at_boundary[tr] -= xs[j], touched[tr] = 1;
            }
            hp_snapshot h, u;
            assert_int_equal(hp_hpc_snapshot(theirs, k, &h), HP_OK);
            /* step 1: the model is heapprof, entry for entry */
            size_t present = 0;
            for (uint32_t tr = 0; tr < nt; tr++)
                present += hp.present[tr];
            assert_int_equal(h.count, present);
            for (size_t j = 0; j < h.count; j++) {
                uint32_t tr = h.entries[j].traceindex;
                assert_true(tr < nt && hp.present[tr]);
                assert_int_equal((uint32_t)h.entries[j].bytes, (uint32_t)hp.bytes[tr]);
            }
            hp_entry *hcopy = malloc((h.count + 1) * sizeof *hcopy);
            if (h.count)
                memcpy(hcopy, h.entries, h.count * sizeof *hcopy);
            size_t hcount = h.count;

            assert_int_equal(hp_hpc_snapshot(ours, k + 1, &u), HP_OK);
            assert_true(fabs(u.relative_time - (double)(k + 1) * interval) < 1e-9);
            for (uint32_t tr = 0; tr < nt; tr++) {
                int64_t mine = our_bytes(&u, tr);
                int64_t cut = exact.bytes[tr] > 0 ? exact.bytes[tr] : 0;
                int64_t without = exact.bytes[tr] - at_boundary[tr];
                /* step 2: our snapshot k+1 is the exact state before the
                 * boundary events */
                assert_int_equal(mine, without > 0 ? without : 0);
                int64_t theirs_b = 0;
                for (size_t j = 0; j < hcount; j++)
                    if (hcopy[j].traceindex == tr)
                        theirs_b = (int32_t)(uint32_t)hcopy[j].bytes;
                if (theirs_b == mine)
                    continue;
                /* step 3: why they differ */
                cmp->differ++;
                int why = 0;
                if (touched[tr] && cut != mine)
                    cmp->boundary++, why = 1;
                if (hp.bytes[tr] != exact.bytes[tr])
                    cmp->scaling++, why = 1;
                if ((int64_t)(int32_t)(uint32_t)hp.bytes[tr] != hp.bytes[tr])
                    cmp->wrap++, why = 1;
                cmp->unexplained += !why;
                if (getenv("HP_VS_VERBOSE")) /* every pair, for a closer look */
                    printf("  snapshot %zu trace %u: heapprof %lld, ours %lld, heapprof "
                           "64-bit %lld\n", k, tr, (long long)theirs_b, (long long)mine,
                           (long long)hp.bytes[tr]);
            }
            free(hcopy);
        }
    }
    cmp->snapshots = k;
    assert_int_equal(k, hp_hpc_length(theirs));
    /* ours has every snapshot heapprof has, plus its dropped partial last */
    assert_true(hp_hpc_length(ours) >= hp_hpc_length(theirs) + 1);

    printf("%s i%llu: %zu snapshots (ours %zu); %zu (snapshot, trace) pairs differ: "
           "%zu by boundary events, %zu by float scaling, %zu by 32-bit wrap, %zu unexplained\n",
           name, (unsigned long long)interval_ms, cmp->snapshots, hp_hpc_length(ours), cmp->differ,
           cmp->boundary, cmp->scaling, cmp->wrap, cmp->unexplained);
    assert_int_equal(cmp->unexplained, 0);

    hp_hpc_close(theirs);
    hp_hpc_close(ours);
    hp_hpm_close(hpm);
    free(hp.bytes), free(hp.present), free(exact.bytes), free(exact.present);
    free(at_boundary), free(touched), free(t_us), free(xs), free(ev);
    tu_rmdir(dir);
    free(dir), free(ours_path), free(theirs_path), free(fb);
}

static void expect(const compare *c, size_t snapshots, size_t differ, size_t boundary,
                   size_t scaling, size_t wrap)
{
    assert_int_equal(c->snapshots, snapshots);
    assert_int_equal(c->differ, differ);
    assert_int_equal(c->boundary, boundary);
    assert_int_equal(c->scaling, scaling);
    assert_int_equal(c->wrap, wrap);
}

/* tiny samples nothing below 128 B and everything above: no scaling, and
 * its live bytes stay far below 2^31. Only the one event past each boundary
 * differs. */
static void tiny(void **state)
{
    (void)state;
    compare c;
    run_fixture("tiny", 100, &c);
    expect(&c, 33, 33, 33, 0, 0);
    run_fixture("tiny", 1000, &c);
    expect(&c, 3, 3, 3, 0, 0);
}

/* small-a uses heapprof's default sampling (1/p = 10000.017 and 10.0000001,
 * which heapprof's float factors make 10000.0166 and 10, then truncates), and
 * its trace 1705 passes 2^31 bytes, which heapprof's int counter wraps. */
static void small_a(void **state)
{
    (void)state;
    compare c;
    run_fixture("small-a", 100, &c);
    expect(&c, 22, 2649, 21, 2648, 11);
    run_fixture("small-a", 1000, &c);
    expect(&c, 2, 230, 2, 230, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tiny),
        cmocka_unit_test(small_a),
    };
    return cmocka_run_group_tests_name("vs_heapprof", tests, NULL, NULL);
}
