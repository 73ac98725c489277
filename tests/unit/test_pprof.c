/* pprof.c: profiles built with protobuf-c and gzip-compressed with zlib,
 * read back here with the same generated code and zlib's inflate. */
#include "pprof.h"
#include "profile.pb-c.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const char *str(const Perftools__Profiles__Profile *p, int64_t i)
{
    assert_true(i >= 0 && (size_t)i < p->n_string_table);
    return p->string_table[i];
}

static void write_file(hp_pprof *b, const char *path)
{
    hp_sink s;
    assert_int_equal(hp_sink_open(&s, path, NULL, NULL, 0), HP_OK);
    assert_int_equal(hp_pprof_write(b, &s), HP_OK);
    assert_int_equal(hp_sink_close(&s), HP_OK);
}

static void build_and_read_back(void **state)
{
    tu_scratch *f = *state;
    hp_pprof *b;
    assert_int_equal(hp_pprof_new(&b, "inuse_space"), HP_OK);
    int64_t a, c;
    assert_int_equal(hp_pprof_string(b, "a.py", &a), HP_OK);
    assert_int_equal(hp_pprof_string(b, "c.py", &c), HP_OK);
    uint64_t l1, l2, l3, again, other;
    assert_int_equal(hp_pprof_find_location(b, a, 1, &l1), 0);
    assert_int_equal(hp_pprof_location(b, a, 1, "main()", &l1), HP_OK);
    assert_int_equal(hp_pprof_location(b, a, 2, "", &l2), HP_OK);
    assert_int_equal(hp_pprof_location(b, c, 3, "x = [0] * n", &l3), HP_OK);
    assert_int_equal(hp_pprof_location(b, a, 1, "ignored", &again), HP_OK);
    assert_int_equal(again, l1);
    assert_int_equal(hp_pprof_find_location(b, c, 3, &again), 1);
    assert_int_equal(again, l3);
    assert_int_equal(hp_pprof_other(b, &other), HP_OK);
    const uint64_t s1[] = {l2, l1}, s2[] = {l3, l1}; /* leaf first */
    assert_int_equal(hp_pprof_sample(b, s1, 2, 1000), HP_OK);
    assert_int_equal(hp_pprof_sample(b, s2, 2, -24), HP_OK);
    assert_int_equal(hp_pprof_sample(b, &other, 1, 7), HP_OK);
    assert_int_equal(hp_pprof_samples(b), 3);
    hp_pprof_time(b, 1795000000500000000ll);
    assert_int_equal(hp_pprof_comment(b, "a comment"), HP_OK);
    write_file(b, f->out);
    char *second = tu_path(f->dir, "second.pb.gz");
    write_file(b, second); /* the same bytes again */
    size_t n1, n2;
    uint8_t *x1 = tu_read_file(f->out, &n1), *x2 = tu_read_file(second, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(x1, x2, n1);
    free(x1);
    free(x2);
    free(second);
    hp_pprof_free(b);

    Perftools__Profiles__Profile *p = tu_read_pprof(f->out);
    assert_string_equal(str(p, 0), "");
    assert_int_equal(p->n_sample_type, 1);
    assert_string_equal(str(p, p->sample_type[0]->type), "inuse_space");
    assert_string_equal(str(p, p->sample_type[0]->unit), "bytes");
    assert_string_equal(str(p, p->default_sample_type), "inuse_space");
    assert_string_equal(str(p, p->period_type->type), "space");
    assert_int_equal(p->time_nanos, 1795000000500000000ll);
    assert_int_equal(p->n_comment, 1);
    assert_string_equal(str(p, p->comment[0]), "a comment");
    assert_int_equal(p->n_mapping, 1);
    assert_true(p->mapping[0]->has_functions && p->mapping[0]->has_line_numbers);
    assert_int_equal(p->n_location, 4);
    assert_int_equal(p->n_function, 4);
    const char *names[] = {"a.py:1 main()", "a.py:2", "c.py:3 x = [0] * n", "OTHER"};
    for (size_t i = 0; i < 4; i++) {
        Perftools__Profiles__Location *loc = p->location[i];
        Perftools__Profiles__Function *fn = p->function[i];
        assert_int_equal(loc->id, i + 1);
        assert_int_equal(loc->mapping_id, 1);
        assert_int_equal(loc->n_line, 1);
        assert_int_equal(loc->line[0]->function_id, fn->id);
        assert_string_equal(str(p, fn->name), names[i]);
    }
    assert_string_equal(str(p, p->function[2]->filename), "c.py");
    assert_int_equal(p->function[2]->start_line, 3);
    assert_int_equal(p->location[2]->line[0]->line, 3);
    assert_int_equal(p->n_sample, 3);
    assert_int_equal(p->sample[0]->n_location_id, 2);
    assert_int_equal(p->sample[0]->location_id[0], l2);
    assert_int_equal(p->sample[0]->location_id[1], l1);
    assert_int_equal(p->sample[0]->value[0], 1000);
    assert_int_equal(p->sample[1]->value[0], -24);
    assert_int_equal(p->sample[2]->location_id[0], other);
    perftools__profiles__profile__free_unpacked(p, NULL);
}

/* No sample at all is a valid profile. */
static void empty(void **state)
{
    tu_scratch *f = *state;
    hp_pprof *b;
    assert_int_equal(hp_pprof_new(&b, "inuse_space"), HP_OK);
    write_file(b, f->out);
    hp_pprof_free(b);
    Perftools__Profiles__Profile *p = tu_read_pprof(f->out);
    assert_int_equal(p->n_sample, 0);
    assert_int_equal(p->n_location, 0);
    assert_int_equal(p->n_sample_type, 1);
    perftools__profiles__profile__free_unpacked(p, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(build_and_read_back, tu_scratch_setup, tu_scratch_teardown),
        cmocka_unit_test_setup_teardown(empty, tu_scratch_setup, tu_scratch_teardown),
    };
    return cmocka_run_group_tests_name("pprof", tests, NULL, NULL);
}
