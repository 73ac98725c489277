/* Atomic output: whatever happens during a digest, the previous .hpc stays
 * intact and no stray file is left. */
#include "testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static const char OLD[] = "the previous digest";

typedef struct fx {
    char *dir, *fb, *hpc;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = tu_tmpdir();
    f->fb = tu_path(f->dir, "p");
    f->hpc = tu_path(f->dir, "p.hpc");
    tu_generate(f->fb, 300000, 500, 30, 7, NULL);
    tu_write_file(f->hpc, OLD, sizeof OLD);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    tu_rmdir(f->dir);
    free(f->dir);
    free(f->fb);
    free(f->hpc);
    free(f);
    return 0;
}

static void assert_untouched(const fx *f)
{
    size_t n;
    uint8_t *data = tu_read_file(f->hpc, &n);
    assert_non_null(data);
    assert_int_equal(n, sizeof OLD);
    assert_memory_equal(data, OLD, n);
    free(data);
    assert_int_equal(tu_count_entries(f->dir), 3); /* .hpm, .hpd, .hpc */
}

static int waves;

static void kill_self(void *ctx, uint64_t done, uint64_t total)
{
    (void)ctx;
    (void)total;
    if (done > 0 && ++waves == 2)
        raise(SIGKILL);
}

static hp_make_options small_chunks(void)
{
    hp_make_options o;
    hp_make_options_init(&o, HP_MAKE_OPTIONS_VERSION);
    o.threads = 2;
    o.chunk_bytes = 4096; /* many waves, so there is a middle to stop in */
    return o;
}

static void sigkill_midway(void **state)
{
    fx *f = *state;
    for (int fmt = 0; fmt < 2; fmt++) {
        pid_t pid = fork();
        if (pid == 0) {
            hp_make_options o = small_chunks();
            o.format = fmt ? HP_FORMAT_V1 : HP_FORMAT_V2;
            o.progress = kill_self;
            hp_hpc_make_ex(f->fb, 0.01, 0.01, &o);
            _exit(0); /* not reached: killed in the second wave */
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        assert_untouched(f);
    }
}

/* What the progress callback raises: the digest's cancel flag. */
typedef struct cancel_ctx {
    volatile int *flag;
} cancel_ctx;

static void set_cancel(void *ctx, uint64_t done, uint64_t total)
{
    (void)total;
    if (done > 0)
        *((cancel_ctx *)ctx)->flag = 1;
}

static void cancel_flag(void **state)
{
    fx *f = *state;
    volatile int cancel = 0;
    cancel_ctx cc = {&cancel};
    hp_make_options o = small_chunks();
    o.progress = set_cancel;
    o.progress_ctx = &cc;
    o.cancel = &cancel;
    assert_int_equal(hp_hpc_make_ex(f->fb, 0.01, 0.01, &o), HP_ECANCELED);
    assert_non_null(strstr(hp_last_error(), "cancelled"));
    assert_untouched(f);
}

static void file_size_limit(void **state)
{
    fx *f = *state;
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit rl = {20000, 20000};
        signal(SIGXFSZ, SIG_IGN);
        setrlimit(RLIMIT_FSIZE, &rl);
        hp_make_options o = small_chunks();
        o.format = HP_FORMAT_V1;
        int rc = hp_hpc_make_ex(f->fb, 0.01, 0, &o);
        _exit(rc == HP_EIO && strstr(hp_last_error(), "p.hpc: write failed") ? 42 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 42);
    assert_untouched(f);
}

static void unwritable_destination(void **state)
{
    fx *f = *state;
    hp_make_options o = small_chunks();
    o.output = "/nonexistent-folder/x.hpc";
    assert_int_equal(hp_hpc_make_ex(f->fb, 1, 0, &o), HP_EIO);
    assert_non_null(strstr(hp_last_error(), "/nonexistent-folder/x.hpc: cannot create"));
    o.output = "/proc/x.hpc";
    assert_int_equal(hp_hpc_make_ex(f->fb, 1, 0, &o), HP_EIO);
    assert_non_null(strstr(hp_last_error(), "/proc/x.hpc"));
    assert_untouched(f);
}

static void replaces_existing(void **state)
{
    fx *f = *state;
    hp_make_options o = small_chunks();
    assert_int_equal(hp_hpc_make_ex(f->fb, 1, 0.01, &o), HP_OK);
    assert_int_equal(tu_count_entries(f->dir), 3);
    hp_hpc *hpc;
    assert_int_equal(hp_hpc_open(&hpc, f->fb), HP_OK);
    assert_int_equal(hp_hpc_length(hpc), 31); /* about 30 s of profile */
    hp_hpc_close(hpc);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    /* The forking tests come first: libgomp's thread pool does not survive
     * fork(), so a child must not run OpenMP once its parent has. */
    const struct CMUnitTest tests[] = {
        T(sigkill_midway), T(file_size_limit), T(cancel_flag), T(unwritable_destination),
        T(replaces_existing),
    };
    return cmocka_run_group_tests_name("atomic", tests, NULL, NULL);
}
