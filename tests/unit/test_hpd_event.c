/* hpd_event.h/.c: one event's decoding and validity, resynchronisation. */
#include "testutil.h"

#include "hpd_event.h"

#include <string.h>

static void event_decoding(void **state)
{
    (void)state;
    tu_buf b = {0};
    tu_event(&b, 1, 1, 7, 1, 700000, 5ull << 32);
    hp_raw_event ev;
    int n = hp_event_decode(b.p, b.p + b.len, 10, &ev);
    assert_int_equal(n, (int)b.len);
    assert_int_equal(ev.word & HP_EV_TRACE_MASK, 7);
    assert_true(ev.word & HP_EV_NEGATIVE);
    assert_true(ev.word & HP_EV_FREE);
    assert_true(ev.size == 5ull << 32);
    assert_true(hp_event_advance_us(&ev) == 0); /* the clock stepped back */
    for (size_t cut = 0; cut < b.len; cut++) /* truncation at every byte */
        assert_int_equal(hp_event_decode(b.p, b.p + cut, 10, &ev), 0);
    assert_int_equal(hp_event_decode(b.p, b.p + b.len, 6, &ev), -HP_DAMAGE_TRACE);
    tu_free(&b);
}

static void event_invalid_kinds(void **state)
{
    (void)state;
    hp_raw_event ev;
    tu_buf b = {0};
    tu_event(&b, 0, 0, 1, 0, 1000000, 8);
    assert_int_equal(hp_event_decode(b.p, b.p + b.len, 5, &ev), -HP_DAMAGE_USEC);
    b.len = 0;
    tu_event(&b, 1, 0, 1, 0, 5, 8);
    assert_int_equal(hp_event_decode(b.p, b.p + b.len, 5, &ev), -HP_DAMAGE_NEG_ZERO);
    b.len = 0;
    tu_be32(&b, 1);
    for (int i = 0; i < 11; i++)
        tu_put(&b, "\x80", 1);
    assert_int_equal(hp_event_decode(b.p, b.p + b.len, 5, &ev), -HP_DAMAGE_VARINT);
    tu_free(&b);
}

/* A valid event stream of `n` events of trace 1. */
static void stream(tu_buf *b, int n)
{
    for (int i = 0; i < n; i++)
        tu_event(b, 0, i % 2, 1, 0, 10, 100);
}

/* Resynchronisation finds the first offset from which `run` events are
 * valid, or from which every event to the end is. */
static void resync_runs(void **state)
{
    (void)state;
    tu_buf b = {0};
    tu_put(&b, "\xff\xff\xff\xff\xff", 5); /* garbage: trace index far too high */
    size_t start = b.len;
    stream(&b, 40);
    assert_int_equal(hp_resync_run(b.p, b.len, 0, 5, 16), start);
    assert_int_equal(hp_resync(b.p, b.len, 0, 5), start);
    /* from inside the first event, the next event boundary is found */
    assert_int_equal(hp_resync_run(b.p, b.len, start + 1, 5, 16), start + 7);
    /* a run longer than what is left: valid up to the end is enough */
    assert_int_equal(hp_resync_run(b.p, b.len, start, 5, 1000), start);
    /* nothing valid: the end */
    assert_int_equal(hp_resync_run(b.p, start, 0, 5, 16), start);
    /* a bound that makes every event invalid: the end */
    assert_int_equal(hp_resync_run(b.p, b.len, 0, 0, 16), b.len);
    tu_free(&b);
}

static void damage_reasons_named(void **state)
{
    (void)state;
    assert_string_equal(hp_damage_reason_str(HP_DAMAGE_TRACE), "trace index beyond the last trace");
    assert_string_equal(hp_damage_reason_str(HP_DAMAGE_USEC), "microseconds field >= 1000000");
    assert_string_equal(hp_damage_reason_str(HP_DAMAGE_NEG_ZERO), "negative delta with 0 seconds");
    assert_string_equal(hp_damage_reason_str(HP_DAMAGE_VARINT), "varint longer than 10 bytes");
    assert_string_equal(hp_damage_reason_str(99), "invalid event");
}

/* The relative clock saturates instead of wrapping. */
static void clock_saturates(void **state)
{
    (void)state;
    hp_raw_event ev = {.word = 0, .sec = UINT64_MAX / 2, .usec = 0, .size = 1};
    assert_true(hp_event_advance_us(&ev) == HP_TIME_LIMIT_US);
    assert_true(hp_time_add(HP_TIME_LIMIT_US - 5, 10) == HP_TIME_LIMIT_US);
    assert_true(hp_time_add(5, 10) == 15);
    ev.sec = 2;
    ev.usec = 500;
    assert_true(hp_event_advance_us(&ev) == 2000500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(event_decoding),       cmocka_unit_test(event_invalid_kinds),
        cmocka_unit_test(resync_runs),          cmocka_unit_test(damage_reasons_named),
        cmocka_unit_test(clock_saturates),
    };
    return cmocka_run_group_tests_name("hpd_event", tests, NULL, NULL);
}
