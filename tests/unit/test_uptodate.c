/* uptodate.c: whether a digest needs making again, from what v2 records. */
#include "testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

static hp_make_options opts_for(const char *out)
{
    hp_make_options o = HP_MAKE_OPTIONS_INIT;
    o.output = out;
    return o;
}

/* v2 records every parameter that changes the content and the inputs as
 * they were read; v1 records nothing. */
static void recorded_params(void **state)
{
    tu_scratch *f = *state;
    tu_generate(f->fb, 3000, 20, 2, 4, NULL);
    hp_make_options o = opts_for(f->out);
    o.salvage = 1;
    assert_int_equal(hp_hpc_make_ex(f->fb, 0.25, 0.03, &o), HP_OK);
    hp_hpc *h;
    assert_int_equal(hp_hpc_open_path(&h, f->out), HP_OK);
    hp_digest_params p;
    assert_int_equal(hp_hpc_recorded_params(h, &p), HP_OK);
    assert_int_equal(p.interval_ms, 250);
    assert_true(p.precision == 0.03);
    assert_true(p.salvage && !p.override_sampling && p.has_inputs);
    char *hpd = tu_path(f->dir, "p.hpd"), *hpm = tu_path(f->dir, "p.hpm");
    struct stat sd, sm;
    assert_int_equal(stat(hpd, &sd), 0);
    assert_int_equal(stat(hpm, &sm), 0);
    assert_true(p.hpd_size == (uint64_t)sd.st_size && p.hpm_size == (uint64_t)sm.st_size);
    assert_true(p.hpd_mtime_ns == (int64_t)sd.st_mtim.tv_sec * 1000000000 + sd.st_mtim.tv_nsec);
    hp_hpc_close(h);

    o.format = HP_FORMAT_V1;
    assert_int_equal(hp_hpc_make_ex(f->fb, 0.25, 0.03, &o), HP_OK);
    assert_int_equal(hp_hpc_open_path(&h, f->out), HP_OK);
    assert_int_equal(hp_hpc_recorded_params(h, &p), HP_NOT_RECORDED);
    hp_hpc_close(h);
    free(hpd);
    free(hpm);
}

/* Every parameter counts, and the inputs must be exactly as they were read. */
static void what_counts(void **state)
{
    tu_scratch *f = *state;
    tu_generate(f->fb, 3000, 20, 2, 4, NULL);
    hp_make_options o = opts_for(f->out);
    assert_int_equal(hp_hpc_make_ex(f->fb, 1, 0.01, &o), HP_OK);
    assert_int_equal(hp_hpc_is_up_to_date(f->fb, 1, 0.01, &o), 1);
    assert_int_equal(hp_hpc_is_up_to_date(f->fb, 1, 0.01, NULL), 0); /* no p.hpc */
    assert_int_equal(hp_hpc_is_up_to_date(f->fb, 0.5, 0.01, &o), 0);
    assert_int_equal(hp_hpc_is_up_to_date(f->fb, 1, 0.02, &o), 0);
    o.override_sampling = 1;
    assert_int_equal(hp_hpc_is_up_to_date(f->fb, 1, 0.01, &o), 0);
    o.override_sampling = 0;
    o.salvage = 1;
    assert_int_equal(hp_hpc_is_up_to_date(f->fb, 1, 0.01, &o), 0);
    o.salvage = 0;
    o.format = HP_FORMAT_V1;
    assert_int_equal(hp_hpc_is_up_to_date(f->fb, 1, 0.01, &o), 0);
    o.format = HP_FORMAT_V2;
    o.limit_bytes = 100; /* a slice is never the digest of the profile */
    assert_int_equal(hp_hpc_is_up_to_date(f->fb, 1, 0.01, &o), 0);
    o.limit_bytes = 0;
    assert_int_equal(hp_hpc_is_up_to_date(f->fb, 1, 0.01, &o), 1);

    /* the .hpd touched (same bytes, a new time): stale */
    char *hpd = tu_path(f->dir, "p.hpd"), *hpm = tu_path(f->dir, "p.hpm");
    struct timespec t[2] = {{0, UTIME_OMIT}, {time(NULL) - 100, 0}};
    assert_int_equal(utimensat(AT_FDCWD, hpd, t, 0), 0);
    assert_int_equal(hp_hpc_is_up_to_date(f->fb, 1, 0.01, &o), 0);
    assert_int_equal(hp_hpc_make_ex(f->fb, 1, 0.01, &o), HP_OK);
    assert_int_equal(hp_hpc_is_up_to_date(f->fb, 1, 0.01, &o), 1);
    /* the .hpd grew (appended while or after it was digested): stale, even
     * with its old time put back */
    struct stat st;
    assert_int_equal(stat(hpd, &st), 0);
    FILE *fp = fopen(hpd, "ab");
    fwrite("\0\0\0\1\0\0\5", 1, 7, fp); /* one more event */
    fclose(fp);
    struct timespec back[2] = {{0, UTIME_OMIT}, st.st_mtim};
    assert_int_equal(utimensat(AT_FDCWD, hpd, back, 0), 0);
    assert_int_equal(hp_hpc_is_up_to_date(f->fb, 1, 0.01, &o), 0);
    /* the .hpm replaced by another of the same size: a new time, stale */
    assert_int_equal(hp_hpc_make_ex(f->fb, 1, 0.01, &o), HP_OK);
    assert_int_equal(utimensat(AT_FDCWD, hpm, t, 0), 0);
    assert_int_equal(hp_hpc_is_up_to_date(f->fb, 1, 0.01, &o), 0);
    free(hpd);
    free(hpm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(recorded_params, tu_scratch_setup, tu_scratch_teardown),
        cmocka_unit_test_setup_teardown(what_counts, tu_scratch_setup, tu_scratch_teardown),
    };
    return cmocka_run_group_tests_name("uptodate", tests, NULL, NULL);
}
