/* diff.c: two runs whose trace indexes differ, matched by their frames;
 * every format byte for byte; thresholds; errors. */
#include "profile.pb-c.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const T1[] = {"a.py:1", "b.py:2", NULL};
static const char *const T2[] = {"a.py:1", "c.py:3", NULL};
static const char *const T3[] = {"x.py:9", "c.py:3", NULL};
static const char *const T5[] = {"e.py:5", NULL};

/* base: T1 100, T2 300, T3 50, OTHER 5 (total 455) */
static const char *const *const BASE[] = {T1, T2, T3};
static const tu_ev BASE_EV[] = {{10, 1, 100}, {20, 2, 300}, {30, 3, 50}, {40, 0, 5}};
/* new: the same stacks at other indexes, T1 twice (150 + 20), T5 new, T3
 * gone, OTHER 10 (total 560) */
static const char *const *const NEW[] = {T3, T1, T2, T5, T1};
static const tu_ev NEW_EV[] = {{10, 2, 150}, {15, 5, 20}, {20, 3, 300}, {30, 4, 80}, {40, 0, 10}};

typedef struct runs {
    tu_scratch *f;
    char *base, *new_fb;
} runs;

static runs make(void **state)
{
    tu_scratch *f = *state;
    runs r = {f, tu_path(f->dir, "base"), tu_path(f->dir, "new")};
    tu_craft_digest(r.base, BASE, 3, BASE_EV, 4, 100);
    tu_craft_digest(r.new_fb, NEW, 5, NEW_EV, 5, 100);
    return r;
}

static void done(runs *r)
{
    free(r->base);
    free(r->new_fb);
}

static char *diff(runs *r, hp_diff_format format, hp_threshold th, int want_rc, hp_diff_summary *sum)
{
    hp_diff_options o = HP_DIFF_OPTIONS_INIT;
    o.format = format;
    o.base_at = o.new_at = (hp_at){.kind = HP_AT_LAST};
    o.fail_over = th;
    o.output = r->f->out;
    o.summary = sum;
    assert_int_equal(hp_diff(r->base, r->new_fb, &o), want_rc);
    char *t = tu_read_text(r->f->out);
    assert_non_null(t);
    return t;
}

static const hp_threshold NONE = {HP_THRESHOLD_NONE, 0};

static void matched_by_frames(void **state)
{
    runs r = make(state);
    hp_diff_summary m;
    char *t = diff(&r, HP_DIFF_COLLAPSED, NONE, HP_OK, &m);
    assert_string_equal(t, "e.py:5 0 80\n"
                           "a.py:1;b.py:2 100 170\n"
                           "x.py:9;c.py:3 50 0\n"
                           "OTHER 5 10\n"
                           "a.py:1;c.py:3 300 300\n");
    free(t);
    assert_int_equal(m.base_snapshot, 1);
    assert_int_equal(m.new_snapshot, 1);
    assert_int_equal(m.base_total, 455);
    assert_int_equal(m.new_total, 560);
    assert_int_equal(m.matched, 2);
    assert_int_equal(m.base_only, 1);
    assert_int_equal(m.new_only, 1);
    assert_int_equal(m.changed, 3);
    assert_int_equal(m.max_growth, 80);
    assert_int_equal(m.over, 0);

    t = diff(&r, HP_DIFF_TEXT, NONE, HP_OK, NULL);
    char want[2048];
    snprintf(want, sizeof want,
             "base      %s: snapshot 1 at 0.1 s, 455 bytes\n"
             "new       %s: snapshot 1 at 0.1 s, 560 bytes\n"
             "change    +105 bytes (+23.08%%)\n"
             "stacks    2 matched, 1 only in base, 1 only in new; 3 changed\n"
             "\n"
             "        before          after         change  innermost frame\n"
             "             -             80            +80  e.py:5  (new)\n"
             "           100            170            +70  b.py:2\n"
             "            50              -            -50  c.py:3  (gone)\n"
             "             5             10             +5  OTHER\n",
             r.base, r.new_fb);
    assert_string_equal(t, want);
    free(t);

    t = diff(&r, HP_DIFF_JSON, (hp_threshold){HP_THRESHOLD_PERCENT, 25}, HP_OK, NULL);
    snprintf(want, sizeof want,
             "{\"base\": {\"filebase\": \"%s\", \"snapshot\": 1, \"relative_time\": 0.1, \"total\": 455},\n"
             " \"new\": {\"filebase\": \"%s\", \"snapshot\": 1, \"relative_time\": 0.1, \"total\": 560},\n"
             " \"change\": 105, \"matched\": 2, \"base_only\": 1, \"new_only\": 1, \"changed\": 3, \"max_growth\": 80,\n"
             " \"threshold\": {\"kind\": \"percent\", \"value\": 25, \"bytes\": 113}, \"over\": false,\n"
             " \"stacks\": [\n"
             "  {\"frames\": [\"e.py:5\"], \"before\": 0, \"after\": 80, \"change\": 80, \"status\": \"new_only\"},\n"
             "  {\"frames\": [\"a.py:1\", \"b.py:2\"], \"before\": 100, \"after\": 170, \"change\": 70, \"status\": \"matched\"},\n"
             "  {\"frames\": [\"x.py:9\", \"c.py:3\"], \"before\": 50, \"after\": 0, \"change\": -50, \"status\": \"base_only\"},\n"
             "  {\"frames\": [], \"before\": 5, \"after\": 10, \"change\": 5, \"status\": \"other\"},\n"
             "  {\"frames\": [\"a.py:1\", \"c.py:3\"], \"before\": 300, \"after\": 300, \"change\": 0, \"status\": \"matched\"}\n"
             " ]}\n",
             r.base, r.new_fb);
    assert_string_equal(t, want);
    free(t);
    done(&r);
}

static void pprof(void **state)
{
    runs r = make(state);
    free(diff(&r, HP_DIFF_PPROF, NONE, HP_OK, NULL));
    Perftools__Profiles__Profile *p = tu_read_pprof(r.f->out);
    assert_int_equal(p->n_sample, 4); /* the unchanged stack is left out */
    const int64_t values[] = {80, 70, -50, 5};
    const char *leaf[] = {"e.py:5", "b.py:2", "c.py:3", "OTHER"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(p->sample[i]->value[0], values[i]);
        Perftools__Profiles__Location *loc = p->location[p->sample[i]->location_id[0] - 1];
        assert_string_equal(p->string_table[p->function[loc->line[0]->function_id - 1]->name], leaf[i]);
    }
    assert_int_equal(p->time_nanos, 1795000000600000000ll); /* the new snapshot's */
    perftools__profiles__profile__free_unpacked(p, NULL);
    done(&r);
}

static void thresholds(void **state)
{
    runs r = make(state);
    hp_diff_summary m;
    const struct {
        hp_threshold th;
        int rc;
    } cases[] = {
        {{HP_THRESHOLD_BYTES, 80}, HP_OVER_LIMIT},  /* the total, +105 */
        {{HP_THRESHOLD_BYTES, 105}, HP_OK},         /* not more than */
        {{HP_THRESHOLD_PERCENT, 20}, HP_OVER_LIMIT}, /* 91 bytes */
        {{HP_THRESHOLD_PERCENT, 25}, HP_OK},         /* 113 bytes */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        free(diff(&r, HP_DIFF_TEXT, cases[i].th, cases[i].rc, &m));
        assert_int_equal(m.over, cases[i].rc == HP_OVER_LIMIT);
    }
    /* the other way round the total shrinks, but x.py:9;c.py:3 grows by 50 */
    char *tmp = r.base;
    r.base = r.new_fb;
    r.new_fb = tmp;
    char *t = diff(&r, HP_DIFF_TEXT, (hp_threshold){HP_THRESHOLD_BYTES, 40}, HP_OVER_LIMIT, &m);
    assert_int_equal(m.max_growth, 50);
    assert_non_null(strstr(t, "threshold 40 bytes: PASSED by a stack\n"));
    free(t);
    free(diff(&r, HP_DIFF_TEXT, (hp_threshold){HP_THRESHOLD_BYTES, 50}, HP_OK, &m));

    hp_threshold th;
    assert_int_equal(hp_threshold_parse("1000", &th), HP_OK);
    assert_int_equal(th.kind, HP_THRESHOLD_BYTES);
    assert_true(th.value == 1000);
    assert_int_equal(hp_threshold_parse("2MiB", &th), HP_OK);
    assert_true(th.value == 2097152);
    assert_int_equal(hp_threshold_parse("1.5KiB", &th), HP_OK);
    assert_true(th.value == 1536);
    assert_int_equal(hp_threshold_parse("12.5%", &th), HP_OK);
    assert_int_equal(th.kind, HP_THRESHOLD_PERCENT);
    assert_true(th.value == 12.5);
    const char *bad[] = {"", "-1", "10MB", "%", "x%", "1e30", "nan%", "5 %"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(hp_threshold_parse(bad[i], &th), HP_EINVAL);
    done(&r);
}

/* One run at two times; --top; the default name; formats by name. */
static void one_run(void **state)
{
    runs r = make(state);
    hp_diff_options o = HP_DIFF_OPTIONS_INIT;
    hp_diff_summary m;
    o.base_at = (hp_at){.kind = HP_AT_TIME, .seconds = 0};
    o.new_at = (hp_at){.kind = HP_AT_PEAK};
    o.summary = &m;
    o.top = 2;
    assert_int_equal(hp_diff(r.base, r.base, &o), HP_OK); /* base.diff.txt */
    assert_int_equal(m.new_only, 3);
    assert_int_equal(m.base_total, 0);
    char *path = tu_path(r.f->dir, "base.diff.txt"), *t = tu_read_text(path);
    assert_non_null(t);
    assert_non_null(strstr(t, "change    +455 bytes\n"));
    assert_non_null(strstr(t, "(2 more lines: --top)\n"));
    free(t);
    free(path);
    hp_diff_format fmt;
    assert_int_equal(hp_diff_format_parse("collapsed", &fmt), HP_OK);
    assert_int_equal(fmt, HP_DIFF_COLLAPSED);
    assert_int_equal(hp_diff_format_parse("svg", &fmt), HP_EINVAL);
    assert_string_equal(hp_diff_format_name(HP_DIFF_PPROF), "pprof");
    assert_int_equal(hp_diff_options_init(&o, HP_DIFF_OPTIONS_VERSION), HP_OK);
    assert_int_equal(o.format, HP_DIFF_TEXT);
    assert_int_equal(hp_diff_options_init(&o, 0), HP_EINVAL);
    done(&r);
}

static void errors(void **state)
{
    runs r = make(state);
    hp_diff_options o = HP_DIFF_OPTIONS_INIT;
    o.output = r.f->out;
    o.new_at = (hp_at){.kind = HP_AT_TIME, .seconds = 9};
    assert_int_equal(hp_diff(r.base, r.new_fb, &o), HP_ERANGE);
    assert_non_null(strstr(hp_last_error(), "new.hpc: no snapshot at 9 s"));
    o.new_at = (hp_at){.kind = HP_AT_PEAK};
    o.fail_over = (hp_threshold){HP_THRESHOLD_PERCENT, -1};
    assert_int_equal(hp_diff(r.base, r.new_fb, &o), HP_EINVAL);
    o.fail_over = NONE;
    static const char *const *const two[] = {T3, T1};
    tu_craft(r.new_fb, two, 2, NULL, 0); /* the .hpm of another profile */
    assert_int_equal(hp_diff(r.base, r.new_fb, &o), HP_ERANGE);
    assert_non_null(strstr(hp_last_error(), "new.hpm, which has 2 traces"));
    assert_int_equal(hp_diff(r.base, "/nonexistent/x", &o), HP_EIO);
    assert_int_equal(access(r.f->out, F_OK), -1);
    done(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(matched_by_frames, tu_scratch_setup, tu_scratch_teardown),
        cmocka_unit_test_setup_teardown(pprof, tu_scratch_setup, tu_scratch_teardown),
        cmocka_unit_test_setup_teardown(thresholds, tu_scratch_setup, tu_scratch_teardown),
        cmocka_unit_test_setup_teardown(one_run, tu_scratch_setup, tu_scratch_teardown),
        cmocka_unit_test_setup_teardown(errors, tu_scratch_setup, tu_scratch_teardown),
    };
    return cmocka_run_group_tests_name("diff", tests, NULL, NULL);
}
