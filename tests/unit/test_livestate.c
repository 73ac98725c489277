/* livestate.c: the ranked live state and the precision cutoff. */
#include "testutil.h"

#include "livestate.h"

#include <stdlib.h>
#include <string.h>

/* The order a snapshot wants, computed plainly: live > 0, bytes descending,
 * then trace ascending. */
static int cmp_rank(const void *x, const void *y)
{
    const hp_ranked *a = x, *b = y;
    if (a->bytes != b->bytes)
        return a->bytes > b->bytes ? -1 : 1;
    return a->trace < b->trace ? -1 : a->trace > b->trace;
}

static void assert_ranked(hp_live_state *st)
{
    hp_live_sort(st);
    hp_ranked *want = malloc(((size_t)st->ntraces + 1) * sizeof *want);
    size_t n = 0;
    for (uint32_t t = 0; t <= st->ntraces; t++)
        if (st->live[t] > 0)
            want[n++] = (hp_ranked){st->live[t], t};
    qsort(want, n, sizeof *want, cmp_rank);
    assert_int_equal(st->norder, n);
    for (size_t i = 0; i < n; i++) {
        assert_true(st->order[i].trace == want[i].trace);
        assert_true(st->order[i].bytes == want[i].bytes);
    }
    free(want);
}

/* The order repaired from the touched traces equals a full sort, whatever
 * is touched between snapshots: a few traces, most of them, ties, traces
 * falling to zero or below. */
static void repair_equals_full_sort(void **state)
{
    (void)state;
    hp_live_state st;
    assert_int_equal(hp_live_init(&st, 500), 0);
    srand(7);
    for (int round = 0; round < 200; round++) {
        int touched = round % 3 == 0 ? 400 : 1 + rand() % 20;
        for (int i = 0; i < touched; i++) {
            uint32_t t = (uint32_t)(rand() % 501);
            int64_t d = (int64_t)(rand() % 64) * (rand() % 4 == 0 ? -1 : 1) * 16;
            hp_live_add(&st, t, d);
        }
        assert_ranked(&st);
    }
    hp_live_free(&st);
}

/* nneg counts the traces below zero as they cross it, both ways. */
static void negative_traces_counted(void **state)
{
    (void)state;
    hp_live_state st;
    assert_int_equal(hp_live_init(&st, 10), 0);
    hp_live_add(&st, 3, 100);
    hp_live_add(&st, 4, -5);
    assert_int_equal(st.nneg, 1);
    hp_live_add(&st, 3, -200);
    assert_int_equal(st.nneg, 2);
    hp_live_add(&st, 4, 5);
    assert_int_equal(st.nneg, 1);
    assert_ranked(&st); /* negative and zero traces are not ranked */
    assert_int_equal(st.norder, 0);
    hp_live_free(&st);
}

/* A copy takes the ranked order with it: the copy's next sort only
 * repairs what changed after the copy. */
static void copy_keeps_order(void **state)
{
    (void)state;
    hp_live_state a, b;
    assert_int_equal(hp_live_init(&a, 50), 0);
    assert_int_equal(hp_live_init(&b, 50), 0);
    for (uint32_t t = 0; t <= 50; t++)
        hp_live_add(&a, t, (int64_t)((t * 37) % 11) * 10);
    hp_live_sort(&a);
    hp_live_add(&b, 7, 12345); /* stale state in the copy's target */
    hp_live_copy(&b, &a);
    assert_true(b.order_valid);
    assert_int_equal(b.ndirty, 0);
    assert_true(b.live[7] == a.live[7]);
    hp_live_add(&b, 9, 1000);
    assert_ranked(&b);
    hp_live_free(&a);
    hp_live_free(&b);
}

/* A state that follows another (the digest's pipeline): a lead that is
 * never sorted gives, at each snapshot, the values of the traces it
 * touched (hp_live_take) or its whole state (hp_live_replace); the
 * follower set from them ranks as the lead's own sort would, negative
 * traces counted, whichever way each round goes. */
static void follower_ranks_as_the_lead(void **state)
{
    (void)state;
    hp_live_state lead, follow, base;
    assert_int_equal(hp_live_init(&base, 300), 0);
    for (uint32_t t = 0; t <= 300; t += 3)
        hp_live_add(&base, t, (int64_t)t * 8);
    hp_live_sort(&base);
    assert_int_equal(hp_live_init(&lead, 0), 0);
    assert_int_equal(hp_live_init(&follow, 0), 0);
    assert_int_equal(hp_live_reserve(&lead, 5), 0);
    hp_live_add(&lead, 5, 77); /* stale: the copy replaces it, touched by nothing */
    assert_int_equal(hp_live_copy_values(&lead, &base), 0);
    assert_int_equal(lead.ndirty, 0);
    assert_int_equal(hp_live_copy(&follow, &base), 0);
    uint32_t *tr = malloc(400 * sizeof *tr);
    int64_t *v = malloc(400 * sizeof *v);
    srand(11);
    for (int round = 0; round < 300; round++) {
        int touched = round % 4 == 0 ? 350 : 1 + rand() % 30;
        uint32_t top = round < 150 ? 300 : 399; /* traces appear later too */
        for (int i = 0; i < touched; i++) {
            uint32_t t = (uint32_t)rand() % (top + 1);
            assert_int_equal(hp_live_reserve(&lead, t), 0);
            int64_t d = (int64_t)(rand() % 64) * (rand() % 4 == 0 ? -1 : 1) * 16;
            uint32_t one[1] = {t};
            int64_t dl[1] = {d};
            hp_live_apply(&lead, one, dl, 1);
        }
        if (round % 5 == 1) {
            assert_int_equal(hp_live_replace(&follow, lead.live, (size_t)lead.ntraces + 1), 0);
            memset(lead.flags, 0, (size_t)lead.ntraces + 1);
            lead.ndirty = 0;
        } else {
            size_t n = hp_live_take(&lead, tr, v);
            assert_int_equal(lead.ndirty, 0);
            assert_int_equal(hp_live_reserve(&follow, lead.ntraces), 0);
            hp_live_set(&follow, tr, v, n);
        }
        assert_ranked(&follow);
        size_t neg = 0;
        for (uint32_t t = 0; t <= lead.ntraces; t++) {
            assert_true(follow.live[t] == lead.live[t]);
            neg += lead.live[t] < 0;
        }
        assert_int_equal(follow.nneg, neg);
    }
    free(tr);
    free(v);
    hp_live_free(&base);
    hp_live_free(&lead);
    hp_live_free(&follow);
}

/* Rule 5 of the contract: drop the smallest entries while their running
 * sum stays <= total * P (the higher trace first among equals); the
 * dropped bytes and trace 0's own form `other`. */
static void cutoff(void **state)
{
    (void)state;
    hp_live_state st;
    assert_int_equal(hp_live_init(&st, 10), 0);
    /* total 1000: 600, 200, 100, 50, 30, 10, 10 (traces 1..6), trace 0: 0 */
    const int64_t bytes[] = {0, 600, 200, 100, 50, 30, 10, 10};
    for (uint32_t t = 1; t <= 7; t++)
        hp_live_add(&st, t, bytes[t]);
    hp_cut cut;
    hp_live_cut(&st, 0, &cut);
    assert_int_equal(cut.nkept, 7);
    assert_true(cut.other == 0);
    hp_live_cut(&st, 0.05, &cut); /* slop 50: 10 + 10 + 30 = 50 dropped */
    assert_int_equal(cut.nkept, 4);
    assert_true(cut.other == 50);
    assert_true(cut.kept[3].trace == 4 && cut.kept[3].bytes == 50);
    hp_live_cut(&st, 0.015, &cut); /* slop 15: one 10 (trace 7, the higher) */
    assert_int_equal(cut.nkept, 6);
    assert_true(cut.other == 10);
    assert_true(cut.kept[5].trace == 6);
    /* trace 0's own bytes join `other`, even with nothing dropped */
    hp_live_add(&st, 0, 70);
    hp_live_cut(&st, 0, &cut);
    assert_true(cut.other == 70);
    hp_live_cut(&st, 0.05, &cut); /* total 1070, slop 53: 10 + 10 + 30 */
    assert_true(cut.other == 120);
    hp_live_free(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(repair_equals_full_sort),
        cmocka_unit_test(negative_traces_counted),
        cmocka_unit_test(copy_keeps_order),
        cmocka_unit_test(follower_ranks_as_the_lead),
        cmocka_unit_test(cutoff),
    };
    return cmocka_run_group_tests_name("livestate", tests, NULL, NULL);
}
