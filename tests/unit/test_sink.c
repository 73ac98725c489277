/* sink.c: buffered output to an atomic file or a stream; JSON and CSV
 * quoting; exact seconds from milliseconds. */
#include "sink.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a sink on a memory stream wrote. */
static char *through(void (*fn)(hp_sink *, const char *), const char *arg)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    hp_sink s;
    assert_int_equal(hp_sink_open(&s, NULL, f, NULL, 0), HP_OK);
    fn(&s, arg);
    assert_int_equal(hp_sink_close(&s), HP_OK);
    fclose(f);
    return buf;
}

static void json(void **state)
{
    (void)state;
    const struct {
        const char *in, *out;
    } cases[] = {
        {"plain", "\"plain\""},
        {"a\"b\\c", "\"a\\\"b\\\\c\""},
        {"tab\tnl\ncr\r\x01", "\"tab\\tnl\\ncr\\r\\u0001\""},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
        {"bad\xff\xc3(", "\"bad\xef\xbf\xbd\xef\xbf\xbd(\""},    /* not UTF-8 */
        {"\xc0\xaf\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* overlong, surrogate */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *got = through(hp_sink_json, cases[i].in);
        assert_string_equal(got, cases[i].out);
        free(got);
    }
}

static void csv(void **state)
{
    (void)state;
    const struct {
        const char *in, *out;
    } cases[] = {
        {"plain", "plain"}, {"", ""}, {"a,b", "\"a,b\""}, {"say \"hi\"", "\"say \"\"hi\"\"\""},
        {"two\nlines", "\"two\nlines\""}, {" padded", "\" padded\""}, {"x = f(a)", "x = f(a)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *got = through(hp_sink_csv, cases[i].in);
        assert_string_equal(got, cases[i].out);
        free(got);
    }
}

static void milliseconds(void **state)
{
    (void)state;
    char b[HP_MS_BUF];
    assert_string_equal(hp_format_ms(b, 0), "0");
    assert_string_equal(hp_format_ms(b, 3400), "3.4");
    assert_string_equal(hp_format_ms(b, 1), "0.001");
    assert_string_equal(hp_format_ms(b, 60000), "60");
    assert_string_equal(hp_format_ms(b, 123456789), "123456.789");
    assert_string_equal(hp_format_ms(b, UINT64_MAX), "18446744073709551.615");
}

/* A file appears only on a clean close: large writes, then an abort. */
static void atomic_file(void **state)
{
    tu_scratch *f = *state;
    hp_sink s;
    assert_int_equal(hp_sink_open(&s, f->out, NULL, NULL, 0), HP_OK);
    static char big[1 << 20];
    memset(big, 'x', sizeof big);
    for (int i = 0; i < 3; i++)
        hp_sink_put(&s, big, sizeof big);
    hp_sink_printf(&s, "%0600d", 7); /* longer than printf's stack buffer */
    assert_int_equal(tu_count_entries(f->dir), 0);
    assert_int_equal(hp_sink_close(&s), HP_OK);
    size_t n;
    uint8_t *p = tu_read_file(f->out, &n);
    assert_int_equal(n, 3 * sizeof big + 600);
    free(p);
    assert_int_equal(hp_sink_open(&s, f->out, NULL, NULL, 0), HP_OK);
    hp_sink_str(&s, "new");
    hp_sink_abort(&s);
    p = tu_read_file(f->out, &n);
    assert_int_equal(n, 3 * sizeof big + 600); /* untouched */
    free(p);
    assert_int_equal(tu_count_entries(f->dir), 1);
    assert_int_equal(hp_sink_open(&s, "/nonexistent/dir/x", NULL, NULL, 0), HP_EIO);
    assert_non_null(strstr(hp_last_error(), "/nonexistent/dir/x: cannot create"));
}

/* A stream that fails reports it once, at close. */
static void stream_error(void **state)
{
    (void)state;
    FILE *full = fopen("/dev/full", "w");
    if (!full)
        skip();
    hp_sink s;
    assert_int_equal(hp_sink_open(&s, NULL, full, NULL, 0), HP_OK);
    static char big[1 << 19];
    memset(big, 'y', sizeof big);
    hp_sink_put(&s, big, sizeof big);
    hp_sink_put(&s, big, sizeof big);
    assert_int_equal(hp_sink_close(&s), HP_EIO);
    assert_non_null(strstr(hp_last_error(), "the output stream: write failed"));
    fclose(full);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json),
        cmocka_unit_test(csv),
        cmocka_unit_test(milliseconds),
        cmocka_unit_test_setup_teardown(atomic_file, tu_scratch_setup, tu_scratch_teardown),
        cmocka_unit_test(stream_error),
    };
    return cmocka_run_group_tests_name("sink", tests, NULL, NULL);
}
