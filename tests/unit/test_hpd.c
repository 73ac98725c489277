/* The HPD reader: crafted streams, damage, truncation, fixtures. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NTRACES 5

typedef tu_scratch fx;

/* A scratch folder with p.hpm: NTRACES traces, no sampling. */
static int setup(void **state)
{
    tu_scratch_setup(state);
    fx *f = *state;
    tu_buf b = {0};
    tu_hpm(&b, 1000, 500000000, 0, NULL, NULL, NTRACES, 2);
    char *p = tu_path(f->dir, "p.hpm");
    tu_write_file(p, b.p, b.len);
    free(p);
    tu_free(&b);
    *state = f;
    return 0;
}

static void write_hpd(fx *f, const tu_buf *b)
{
    char *p = tu_path(f->dir, "p.hpd");
    tu_write_file(p, b->p, b->len);
    free(p);
}

/* n well-formed events: traces 1..5, 0.01 s apart, allocation then free */
static void good_events(tu_buf *b, int n, int seed)
{
    for (int i = 0; i < n; i++)
        tu_event(b, 0, i % 2, 1 + (uint32_t)((i / 2 + seed) % NTRACES), 0, 10000, 100 + (uint64_t)i);
}

typedef struct skips {
    hp_skip s[16];
    int n;
} skips;

static void record_skip(void *ctx, const hp_skip *s)
{
    skips *k = ctx;
    if (k->n < 16)
        k->s[k->n++] = *s;
}

/* Reads all events; returns HP_OK or the error that stopped them. */
static int read_all(fx *f, int salvage, hp_event *evs, int cap, int *n, skips *k, hp_hpd_stats *st)
{
    hp_read_options o = {
        .version = HP_READ_OPTIONS_VERSION, .salvage = salvage, .on_skip = record_skip, .ctx = k};
    hp_hpd *hpd;
    int rc = hp_hpd_open(&hpd, f->fb, NULL, &o);
    if (rc < 0)
        return rc;
    hp_event e;
    *n = 0;
    while ((rc = hp_hpd_next(hpd, &e)) == HP_OK)
        if (*n < cap)
            evs[(*n)++] = e;
    if (st)
        hp_hpd_get_stats(hpd, st);
    hp_hpd_close(hpd);
    return rc == HP_END ? HP_OK : rc;
}

static void negative_delta(void **state)
{
    fx *f = *state;
    tu_buf b = {0};
    tu_event(&b, 0, 0, 1, 2, 0, 64);      /* +2 s */
    tu_event(&b, 1, 1, 1, 1, 700000, 64); /* -0.3 s, not -1.7 */
    tu_event(&b, 0, 0, 0, 0, 1, 1ull << 33); /* trace 0, 8 GiB */
    write_hpd(f, &b);
    hp_event ev[4];
    int n;
    skips k = {0};
    hp_hpd_stats st;
    assert_int_equal(read_all(f, 0, ev, 4, &n, &k, &st), 0);
    assert_int_equal(n, 3);
    assert_true(fabs(ev[0].timestamp - 1002.5) < 1e-9);
    assert_true(fabs(ev[1].timestamp - 1002.2) < 1e-9);
    assert_true(fabs(ev[2].timestamp - 1002.200001) < 1e-9);
    assert_true(ev[1].size == -64);
    assert_int_equal(ev[2].traceindex, 0);
    assert_true(ev[2].size == (int64_t)(1ull << 33));
    assert_true(ev[2].scale == 1.0);
    assert_true(ev[1].offset == 4 + 3);
    assert_int_equal(st.negative_deltas, 1);
    assert_int_equal(st.allocs, 2);
    assert_int_equal(st.frees, 1);
    /* the digest's clock ignores the step back: 2 s + 1 us */
    assert_true(fabs(st.duration - 2.000001) < 1e-9);
    tu_free(&b);
}

static void truncated_last_event(void **state)
{
    fx *f = *state;
    tu_buf b = {0};
    good_events(&b, 5, 0);
    size_t good = b.len;
    tu_event(&b, 0, 0, 2, 300, 999999, 1ull << 40);
    for (size_t cut = good + 1; cut < b.len; cut++) {
        tu_buf c = {0};
        tu_put(&c, b.p, cut);
        write_hpd(f, &c);
        hp_event ev[8];
        int n;
        skips k = {0};
        hp_hpd_stats st;
        assert_int_equal(read_all(f, 0, ev, 8, &n, &k, &st), 0);
        assert_int_equal(n, 5);
        assert_int_equal(st.truncated_bytes, cut - good);
        tu_free(&c);
    }
    tu_free(&b);
}

/* 10 good events, one bad one, 20 good events: strict stops at the bad one
 * with its offset; salvage skips exactly it and reads the 20. */
static void check_damage(fx *f, const tu_buf *bad, int reason)
{
    tu_buf b = {0};
    good_events(&b, 10, 0);
    size_t at = b.len;
    tu_put(&b, bad->p, bad->len);
    good_events(&b, 20, 3);
    write_hpd(f, &b);
    hp_event ev[64];
    int n;
    skips k = {0};
    assert_int_equal(read_all(f, 0, ev, 64, &n, &k, NULL), HP_EFORMAT);
    assert_int_equal(n, 10);
    char want[64];
    snprintf(want, sizeof want, "p.hpd: offset %zu: invalid event: %s", at, hp_damage_reason_str(reason));
    assert_non_null(strstr(hp_last_error(), want));

    hp_hpd_stats st;
    assert_int_equal(read_all(f, 1, ev, 64, &n, &k, &st), 0);
    assert_int_equal(n, 30);
    assert_int_equal(k.n, 1);
    assert_true(k.s[0].offset == at);
    assert_true(k.s[0].length == bad->len);
    assert_int_equal(k.s[0].reason, reason);
    assert_int_equal(st.skips, 1);
    assert_true(ev[10].offset == at + bad->len);
    assert_int_equal(ev[10].traceindex, 1 + (3 % NTRACES));
    assert_true(ev[10].size == 100);
    tu_free(&b);
}

static void invalid_trace(void **state)
{
    tu_buf bad = {0};
    tu_event(&bad, 0, 0, NTRACES + 1, 0, 5, 8);
    check_damage(*state, &bad, HP_DAMAGE_TRACE);
    tu_free(&bad);
}

static void invalid_usec(void **state)
{
    tu_buf bad = {0};
    tu_event(&bad, 0, 0, 1, 0, 1000000, 8);
    check_damage(*state, &bad, HP_DAMAGE_USEC);
    tu_free(&bad);
}

static void invalid_negative_zero(void **state)
{
    tu_buf bad = {0};
    tu_event(&bad, 1, 0, 1, 0, 5, 8);
    check_damage(*state, &bad, HP_DAMAGE_NEG_ZERO);
    tu_free(&bad);
}

static void invalid_overlong_varint(void **state)
{
    tu_buf bad = {0};
    tu_be32(&bad, 1);
    for (int i = 0; i < 11; i++)
        tu_put(&bad, "\x80", 1);
    tu_put(&bad, "\x00\x00\x08", 3);
    check_damage(*state, &bad, HP_DAMAGE_VARINT);
    tu_free(&bad);
}

/* Two writers sharing one buffer: writer B's event lands inside writer A's. */
static void interleaved_writers(void **state)
{
    fx *f = *state;
    tu_buf a = {0}, bb = {0}, b = {0};
    tu_event(&a, 0, 0, 2, 0, 200, 300);
    tu_event(&bb, 0, 0, 3, 0, 100, 70000);
    good_events(&b, 20, 0);
    size_t at = b.len;
    tu_put(&b, a.p, 4);             /* A's word */
    tu_put(&b, bb.p, bb.len);       /* all of B */
    tu_put(&b, a.p + 4, a.len - 4); /* the rest of A */
    size_t after = b.len;
    good_events(&b, 20, 1);
    write_hpd(f, &b);
    hp_event ev[64];
    int n;
    skips k = {0};
    /* strict: A's word is followed by B's word bytes read as varints (0, 0,
     * 0), a plausible event; then B's last word byte starts a word with an
     * impossible trace index */
    assert_int_equal(read_all(f, 0, ev, 64, &n, &k, NULL), HP_EFORMAT);
    char want[64];
    snprintf(want, sizeof want, "offset %zu:", at + 7);
    assert_non_null(strstr(hp_last_error(), want));
    /* salvage: everything after the garbled stretch is read as written */
    assert_int_equal(read_all(f, 1, ev, 64, &n, &k, NULL), 0);
    assert_true(k.n >= 1);
    assert_true(k.s[0].offset == at + 7);
    assert_true(k.s[k.n - 1].offset + k.s[k.n - 1].length <= after);
    assert_true(n >= 40);
    for (int i = 0; i < 20; i++) {
        assert_true(ev[n - 20 + i].size == (int64_t)(i % 2 ? -(100 + i) : (100 + i)));
        assert_int_equal(ev[n - 20 + i].traceindex, 1 + (uint32_t)((i / 2 + 1) % NTRACES));
    }
    tu_free(&a);
    tu_free(&bb);
    tu_free(&b);
}

/* An event's time is the exact start + signed sum of deltas, rounded once to a
 * double: small-a's second event (start 1795576262 s + 899456393 ns, + 87 us)
 * is 1795576262.8995433 (adding 87e-6 to the start as a double gives
 * ...8995435, a unit in the last place off), its last 1795576265.1159384. */
static void exact_timestamps(void **state)
{
    (void)state;
    char *fb = tu_path(tu_data_dir(), "small-a");
    hp_hpd *hpd;
    assert_int_equal(hp_hpd_open(&hpd, fb, NULL, NULL), HP_OK);
    hp_event e, second = {0}, last = {0};
    uint64_t n = 0;
    while (hp_hpd_next(hpd, &e) == HP_OK) {
        if (++n == 2)
            second = e;
        last = e;
    }
    assert_true(second.timestamp == 1795576262.8995433);
    assert_true(last.timestamp == 1795576265.1159384);
    hp_hpd_close(hpd);
    free(fb);
}

static void fixture_counts(void **state)
{
    (void)state;
    const struct {
        const char *name;
        uint64_t events, allocs, frees;
        double duration;
    } want[] = {{"tiny", 1002, 560, 442, 3.383618}, {"small-a", 538889, 271016, 267873, 2.216482}};
    for (int i = 0; i < 2; i++) {
        char *fb = tu_path(tu_data_dir(), "%s", want[i].name);
        hp_hpd *hpd;
        assert_int_equal(hp_hpd_open(&hpd, fb, NULL, NULL), HP_OK);
        hp_event e;
        int rc;
        uint64_t trace0 = 0;
        while ((rc = hp_hpd_next(hpd, &e)) == HP_OK)
            trace0 += e.traceindex == 0;
        assert_int_equal(rc, HP_END);
        hp_hpd_stats st;
        hp_hpd_get_stats(hpd, &st);
        assert_int_equal(st.events, want[i].events);
        assert_int_equal(st.allocs, want[i].allocs);
        assert_int_equal(st.frees, want[i].frees);
        assert_int_equal(st.negative_deltas, 0);
        assert_int_equal(trace0, 0);
        assert_int_equal(st.truncated_bytes, 0);
        assert_true(fabs(st.duration - want[i].duration) < 1e-9);
        hp_hpd_close(hpd);
        free(fb);
    }
}

static void missing_hpd(void **state)
{
    fx *f = *state;
    char *p = tu_path(f->dir, "p.hpd");
    remove(p);
    hp_hpd *hpd;
    assert_int_equal(hp_hpd_open(&hpd, f->fb, NULL, NULL), HP_EIO);
    assert_non_null(strstr(hp_last_error(), p));
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(negative_delta, setup, tu_scratch_teardown),
        cmocka_unit_test_setup_teardown(truncated_last_event, setup, tu_scratch_teardown),
        cmocka_unit_test_setup_teardown(invalid_trace, setup, tu_scratch_teardown),
        cmocka_unit_test_setup_teardown(invalid_usec, setup, tu_scratch_teardown),
        cmocka_unit_test_setup_teardown(invalid_negative_zero, setup, tu_scratch_teardown),
        cmocka_unit_test_setup_teardown(invalid_overlong_varint, setup, tu_scratch_teardown),
        cmocka_unit_test_setup_teardown(interleaved_writers, setup, tu_scratch_teardown),
        cmocka_unit_test(fixture_counts),
        cmocka_unit_test(exact_timestamps),
        cmocka_unit_test_setup_teardown(missing_hpd, setup, tu_scratch_teardown),
    };
    return cmocka_run_group_tests_name("hpd", tests, NULL, NULL);
}
