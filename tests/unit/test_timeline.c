/* timeline.c: the rows of a crafted profile, in CSV and JSON, columns by
 * peak, labels made unique, and the errors. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const T1[] = {"a.py:1", "b.py:2", NULL};
static const char *const T2[] = {"a.py:1", "c.py:3", NULL};
static const char *const T3[] = {"x.py:9", "c.py:3", NULL}; /* T2's innermost frame */
static const char *const T4[] = {"d.py:4", NULL};
static const char *const *const STACKS[] = {T1, T2, T3, T4};

/* peaks: T1 100, T2 300, T3 350, T4 50; trace 0 holds 5 */
static const tu_ev EVENTS[] = {
    {50, 1, 100}, {60, 0, 5},     {150, 2, 300}, {160, 3, 200},
    {250, 2, -300}, {260, 4, 50}, {350, 3, 150},
};

static char *timeline(tu_scratch *f, size_t top, hp_table_format format)
{
    hp_timeline_options o = HP_TIMELINE_OPTIONS_INIT;
    o.top = top;
    o.format = format;
    o.output = f->out;
    assert_int_equal(hp_timeline(f->fb, &o), HP_OK);
    char *t = tu_read_text(f->out);
    assert_non_null(t);
    return t;
}

static void rows(void **state)
{
    tu_scratch *f = *state;
    tu_craft_digest(f->fb, STACKS, 4, EVENTS, sizeof EVENTS / sizeof *EVENTS, 100);
    char *t = timeline(f, 2, HP_TABLE_CSV);
    assert_string_equal(t, "time,total,c.py:3 #3,c.py:3 #2,other\n"
                           "0,0,0,0,0\n"
                           "0.1,105,0,0,105\n"
                           "0.2,605,200,300,105\n"
                           "0.3,355,200,0,155\n"
                           "0.4,505,350,0,155\n");
    free(t);
    t = timeline(f, 10, HP_TABLE_CSV); /* more than there are: all four */
    assert_string_equal(t, "time,total,c.py:3 #3,c.py:3 #2,b.py:2,d.py:4,other\n"
                           "0,0,0,0,0,0,0\n"
                           "0.1,105,0,0,100,0,5\n"
                           "0.2,605,200,300,100,0,5\n"
                           "0.3,355,200,0,100,50,5\n"
                           "0.4,505,350,0,100,50,5\n");
    free(t);
    t = timeline(f, 0, HP_TABLE_CSV);
    assert_string_equal(t, "time,total,other\n0,0,0\n0.1,105,105\n0.2,605,605\n0.3,355,355\n0.4,505,505\n");
    free(t);
    t = timeline(f, 1, HP_TABLE_JSON);
    char want[1024];
    snprintf(want, sizeof want,
             "{\"filebase\": \"%s\", \"interval\": 0.1,\n"
             " \"columns\": [\"time\", \"total\", \"c.py:3\", \"other\"],\n"
             " \"traces\": [\n"
             "  {\"trace\": 3, \"peak\": 350, \"label\": \"c.py:3\", \"frames\": [\"x.py:9\", \"c.py:3\"]}\n"
             " ],\n"
             " \"rows\": [\n"
             "  [0, 0, 0, 0],\n"
             "  [0.1, 105, 0, 105],\n"
             "  [0.2, 605, 200, 405],\n"
             "  [0.3, 355, 200, 155],\n"
             "  [0.4, 505, 350, 155]\n"
             " ]}\n",
             f->fb);
    assert_string_equal(t, want);
    free(t);
}

/* The same bytes every time, to a file or a stream; the default name. */
static void outputs(void **state)
{
    tu_scratch *f = *state;
    tu_craft_digest(f->fb, STACKS, 4, EVENTS, sizeof EVENTS / sizeof *EVENTS, 100);
    char *a = timeline(f, 3, HP_TABLE_JSON);
    hp_timeline_options o;
    assert_int_equal(hp_timeline_options_init(&o, HP_TIMELINE_OPTIONS_VERSION), HP_OK);
    assert_int_equal(o.top, 10);
    o.top = 3;
    o.format = HP_TABLE_JSON;
    assert_int_equal(hp_timeline(f->fb, &o), HP_OK);
    char *path = tu_path(f->dir, "p.timeline.json");
    char *b = tu_read_text(path);
    assert_string_equal(a, b);
    char *buf = NULL;
    size_t n = 0;
    FILE *mem = open_memstream(&buf, &n);
    o.stream = mem;
    assert_int_equal(hp_timeline(f->fb, &o), HP_OK);
    fclose(mem);
    assert_string_equal(a, buf);
    free(buf);
    free(a);
    free(b);
    free(path);
    assert_int_equal(hp_timeline_options_init(&o, 2), HP_EINVAL);
}

static void errors(void **state)
{
    tu_scratch *f = *state;
    tu_craft_digest(f->fb, STACKS, 4, EVENTS, sizeof EVENTS / sizeof *EVENTS, 100);
    static const char *const *const two[] = {T1, T2};
    tu_craft(f->fb, two, 2, NULL, 0); /* the .hpm of another profile */
    hp_timeline_options o = HP_TIMELINE_OPTIONS_INIT;
    o.output = f->out;
    assert_int_equal(hp_timeline(f->fb, &o), HP_ERANGE);
    assert_non_null(strstr(hp_last_error(), "p.hpc: trace 3 is not in "));
    o.top = 1; /* trace 3 is still the top one */
    assert_int_equal(hp_timeline(f->fb, &o), HP_ERANGE);
    o.top = 0; /* no column, no stack needed */
    assert_int_equal(hp_timeline(f->fb, &o), HP_OK);
    unlink(f->out);
    o.format = (hp_table_format)5;
    assert_int_equal(hp_timeline(f->fb, &o), HP_EINVAL);
    assert_int_equal(access(f->out, F_OK), -1);
    char *hpc = tu_path(f->dir, "p.hpc");
    tu_write_file(hpc, "\x28\xb5\x2f\xfd", 4);
    o.format = HP_TABLE_CSV;
    assert_true(hp_timeline(f->fb, &o) < 0);
    assert_non_null(strstr(hp_last_error(), "p.hpc"));
    assert_int_equal(access(f->out, F_OK), -1);
    free(hpc);
}

/* Many snapshots (several blocks and waves): the rows equal a plain
 * reference, for any thread count, and the same from a v1 digest (read in
 * full) as from a v2 one (whose snapshots are read only as far as needed
 * when ranking). */
static void reference(void **state)
{
    tu_scratch *f = *state;
    tu_generate(f->fb, 20000, 300, 5, 11, NULL);
    assert_int_equal(hp_hpc_make(f->fb, 0.01, 0.01, 0), HP_OK); /* 501 snapshots */
    hp_hpc *hpc;
    assert_int_equal(hp_hpc_open(&hpc, f->fb), HP_OK);
    size_t n = hp_hpc_length(hpc), top = 7;
    assert_true(n > 300);
    int64_t *peak = calloc(400, sizeof *peak);
    for (size_t k = 0; k < n; k++) {
        hp_snapshot s;
        assert_int_equal(hp_hpc_snapshot(hpc, k, &s), HP_OK);
        for (size_t i = 0; i < s.count; i++) {
            assert_true(s.entries[i].traceindex < 400);
            if (s.entries[i].traceindex && (int64_t)s.entries[i].bytes > peak[s.entries[i].traceindex])
                peak[s.entries[i].traceindex] = (int64_t)s.entries[i].bytes;
        }
    }
    uint32_t cols[7];
    for (size_t c = 0; c < top; c++) { /* the best remaining: highest peak, lowest index */
        uint32_t best = 0;
        for (uint32_t tr = 1; tr < 400; tr++)
            if (peak[tr] > 0 && (best == 0 || peak[tr] > peak[best]))
                best = tr;
        cols[c] = best;
        peak[best] = 0;
    }
    /* the expected rows */
    size_t cap = 1 << 20, len = 0;
    char *want = malloc(cap);
    for (size_t k = 0; k < n; k++) {
        hp_snapshot s;
        assert_int_equal(hp_hpc_snapshot(hpc, k, &s), HP_OK);
        int64_t total = 0, v[7] = {0}, shown = 0;
        for (size_t i = 0; i < s.count; i++) {
            total += (int64_t)s.entries[i].bytes;
            for (size_t c = 0; c < top; c++)
                if (s.entries[i].traceindex == cols[c]) {
                    v[c] += (int64_t)s.entries[i].bytes;
                    shown += (int64_t)s.entries[i].bytes;
                }
        }
        char t[32];
        snprintf(t, sizeof t, "%zu.%02zu", k / 100, k % 100);
        if (k % 100 == 0)
            snprintf(t, sizeof t, "%zu", k / 100);
        else if (k % 10 == 0)
            snprintf(t, sizeof t, "%zu.%zu", k / 100, (k % 100) / 10);
        len += (size_t)snprintf(want + len, cap - len, "%s,%lld", t, (long long)total);
        for (size_t c = 0; c < top; c++)
            len += (size_t)snprintf(want + len, cap - len, ",%lld", (long long)v[c]);
        len += (size_t)snprintf(want + len, cap - len, ",%lld\n", (long long)(total - shown));
        assert_true(len < cap);
    }
    hp_hpc_close(hpc);
    char *first = NULL;
    for (int variant = 0; variant < 4; variant++) {
        if (variant == 3) { /* v1: no recorded parameters, every entry read */
            hp_make_options mo = HP_MAKE_OPTIONS_INIT;
            mo.format = HP_FORMAT_V1;
            assert_int_equal(hp_hpc_make_ex(f->fb, 0.01, 0.01, &mo), HP_OK);
        }
        hp_timeline_options o = HP_TIMELINE_OPTIONS_INIT;
        o.top = top;
        o.threads = variant == 0 ? 1 : variant == 1 ? 3 : 2;
        o.output = f->out;
        assert_int_equal(hp_timeline(f->fb, &o), HP_OK);
        char *got = tu_read_text(f->out);
        char *rows = strchr(got, '\n') + 1;
        assert_string_equal(rows, want);
        if (!first)
            first = got;
        else {
            assert_string_equal(got, first); /* the header too */
            free(got);
        }
    }
    free(first);
    free(want);
    free(peak);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(rows, tu_scratch_setup, tu_scratch_teardown),
        cmocka_unit_test_setup_teardown(outputs, tu_scratch_setup, tu_scratch_teardown),
        cmocka_unit_test_setup_teardown(errors, tu_scratch_setup, tu_scratch_teardown),
        cmocka_unit_test_setup_teardown(reference, tu_scratch_setup, tu_scratch_teardown),
    };
    return cmocka_run_group_tests_name("timeline", tests, NULL, NULL);
}
