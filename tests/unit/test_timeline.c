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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(rows, tu_scratch_setup, tu_scratch_teardown),
        cmocka_unit_test_setup_teardown(outputs, tu_scratch_setup, tu_scratch_teardown),
        cmocka_unit_test_setup_teardown(errors, tu_scratch_setup, tu_scratch_teardown),
    };
    return cmocka_run_group_tests_name("timeline", tests, NULL, NULL);
}
