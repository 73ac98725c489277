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
        cmocka_unit_test(cutoff),
    };
    return cmocka_run_group_tests_name("livestate", tests, NULL, NULL);
}
