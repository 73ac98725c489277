/* view.c: which snapshot a time, "peak" or "last" names; runs, snapshots
 * and the stacks of the traces they name. */
#include "testutil.h"
#include "view.h"

#include <stdlib.h>
#include <string.h>

static const char *const T1[] = {"a.py:1", "b.py:2", NULL};
static const char *const T2[] = {"a.py:1", "c.py:3", NULL};
static const char *const T3[] = {"d.py:4", NULL};
static const char *const *const STACKS[] = {T1, T2, T3};

/* 100 ms snapshots 0..4, totals 0, 100, 400, 100, 400: the peak ties. */
static const tu_ev EVENTS[] = {
    {50, 1, 100}, {150, 2, 300}, {250, 2, -300}, {350, 3, 300},
};

static void make(const char *fb)
{
    tu_craft_digest(fb, STACKS, 3, EVENTS, sizeof EVENTS / sizeof *EVENTS, 100);
}

static void parse_at(void **state)
{
    (void)state;
    hp_at at;
    assert_int_equal(hp_at_parse("peak", &at), HP_OK);
    assert_int_equal(at.kind, HP_AT_PEAK);
    assert_int_equal(hp_at_parse("last", &at), HP_OK);
    assert_int_equal(at.kind, HP_AT_LAST);
    assert_int_equal(hp_at_parse("0.25", &at), HP_OK);
    assert_int_equal(at.kind, HP_AT_TIME);
    assert_true(at.seconds == 0.25);
    assert_int_equal(hp_at_parse("1e3", &at), HP_OK);
    const char *bad[] = {"", "-1", "nan", "inf", "1s", "Peak", " 1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(hp_at_parse(bad[i], &at), HP_EINVAL);
        assert_non_null(strstr(hp_last_error(), "invalid time"));
    }
    hp_at zero = {0};
    assert_int_equal(zero.kind, HP_AT_PEAK); /* zeroed options mean the peak */
}

static void find(void **state)
{
    tu_scratch *f = *state;
    make(f->fb);
    hp_hpc *hpc;
    assert_int_equal(hp_hpc_open(&hpc, f->fb), HP_OK);
    assert_int_equal(hp_hpc_length(hpc), 5);
    size_t k = 99;
    hp_at at = {.kind = HP_AT_PEAK};
    assert_int_equal(hp_hpc_find(hpc, &at, &k), HP_OK);
    assert_int_equal(k, 2); /* 400 at 2 and 4: the first */
    at.kind = HP_AT_LAST;
    assert_int_equal(hp_hpc_find(hpc, &at, &k), HP_OK);
    assert_int_equal(k, 4);
    const struct {
        double t;
        size_t k;
    } times[] = {{0, 0}, {0.1, 1}, {0.15, 1}, {0.3, 3}, {0.4, 4}, {0.499, 4}};
    for (size_t i = 0; i < sizeof times / sizeof *times; i++) {
        at = (hp_at){.kind = HP_AT_TIME, .seconds = times[i].t};
        assert_int_equal(hp_hpc_find(hpc, &at, &k), HP_OK);
        assert_int_equal(k, times[i].k);
    }
    at.seconds = 0.5;
    assert_int_equal(hp_hpc_find(hpc, &at, &k), HP_ERANGE);
    assert_non_null(strstr(hp_last_error(), "p.hpc: no snapshot at 0.5 s (the digest covers 0 to 0.4 s)"));
    hp_hpc_close(hpc);
}

/* A heapprof digest of a run shorter than its interval has no snapshots. */
static void no_snapshots(void **state)
{
    tu_scratch *f = *state;
    tu_buf b = {0};
    tu_be32(&b, 1);
    tu_be64(&b, 1);
    tu_be64(&b, 2);
    tu_varint(&b, 1000);
    tu_be64(&b, 4 + 8 + 8 + 2 + 8);
    tu_be32(&b, 0xab935776u);
    tu_varint(&b, 0);
    tu_write_file(f->out, b.p, b.len);
    tu_free(&b);
    hp_hpc *hpc;
    assert_int_equal(hp_hpc_open_path(&hpc, f->out), HP_OK);
    size_t k;
    hp_at at = {.kind = HP_AT_LAST};
    assert_int_equal(hp_hpc_find(hpc, &at, &k), HP_ERANGE);
    assert_non_null(strstr(hp_last_error(), "no snapshots"));
    hp_hpc_close(hpc);
}

static void views_and_stacks(void **state)
{
    tu_scratch *f = *state;
    make(f->fb);
    hp_run r;
    assert_int_equal(hp_run_open(&r, f->fb), HP_OK);
    assert_int_equal(r.interval_ms, 100);
    assert_int_equal(r.sec, 1795000000);
    assert_int_equal(hp_run_time_nanos(&r, 3), 1795000000800000000ll);
    hp_view v;
    assert_int_equal(hp_view_read(&v, &r, 4), HP_OK);
    assert_int_equal(v.ms, 400);
    assert_int_equal(v.n, 2);
    assert_int_equal(v.total, 400);
    assert_int_equal(v.e[0].trace, 3); /* 300 before 100 */
    hp_stacks s = {0};
    assert_int_equal(hp_stacks_want_view(&s, &v), HP_OK);
    assert_int_equal(hp_stacks_want(&s, 1), HP_OK); /* a repeat */
    assert_int_equal(hp_stacks_want(&s, 0), HP_OK); /* ignored */
    assert_int_equal(hp_stacks_resolve(&s, &r), HP_OK);
    assert_int_equal(s.n, 2);
    const hp_frame *fr;
    size_t depth;
    assert_int_equal(hp_stacks_get(&s, 1, &fr, &depth), HP_OK);
    assert_int_equal(depth, 2);
    assert_string_equal(hp_hpm_file_name(r.hpm, fr[0].file_id), "a.py");
    assert_int_equal(fr[1].lineno, 2);
    assert_int_equal(hp_stacks_get(&s, 3, &fr, &depth), HP_OK);
    assert_int_equal(depth, 1);
    assert_int_equal(hp_stacks_get(&s, 2, &fr, &depth), HP_NO_TRACE); /* not asked for */
    hp_stacks_free(&s);

    /* a trace the .hpm lacks: the digest of another profile */
    assert_int_equal(hp_stacks_want(&s, 7), HP_OK);
    assert_int_equal(hp_stacks_resolve(&s, &r), HP_ERANGE);
    assert_non_null(strstr(hp_last_error(), "p.hpc: trace 7 is not in "));
    assert_non_null(strstr(hp_last_error(), "p.hpm, which has 3 traces"));
    hp_stacks_free(&s);
    hp_view_free(&v);
    hp_run_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_at),
        cmocka_unit_test_setup_teardown(find, tu_scratch_setup, tu_scratch_teardown),
        cmocka_unit_test_setup_teardown(no_snapshots, tu_scratch_setup, tu_scratch_teardown),
        cmocka_unit_test_setup_teardown(views_and_stacks, tu_scratch_setup, tu_scratch_teardown),
    };
    return cmocka_run_group_tests_name("view", tests, NULL, NULL);
}
