/* intern.c: strings and number sequences to ids in the order first seen. */
#include "intern.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void strings(void **state)
{
    (void)state;
    hp_strtab t = {0};
    uint32_t id;
    assert_int_equal(hp_strtab_add(&t, "", 0, &id), 1);
    assert_int_equal(id, 0);
    assert_int_equal(hp_strtab_add(&t, "abcdef", 3, &id), 1); /* "abc" */
    assert_int_equal(id, 1);
    assert_string_equal(t.str[1], "abc");
    assert_int_equal(hp_strtab_add(&t, "abc", 3, &id), 0);
    assert_int_equal(id, 1);
    assert_int_equal(hp_strtab_add(&t, "ab", 2, &id), 1); /* a prefix is another string */
    assert_int_equal(id, 2);
    char buf[32];
    for (int i = 0; i < 5000; i++) { /* through several rehashes */
        int n = snprintf(buf, sizeof buf, "name%d", i);
        assert_int_equal(hp_strtab_add(&t, buf, (size_t)n, &id), 1);
        assert_int_equal(id, 3 + i);
    }
    for (int i = 0; i < 5000; i += 7) {
        int n = snprintf(buf, sizeof buf, "name%d", i);
        assert_int_equal(hp_strtab_add(&t, buf, (size_t)n, &id), 0);
        assert_int_equal(id, 3 + i);
    }
    assert_int_equal(t.n, 5003);
    hp_strtab_free(&t);
    assert_int_equal(t.n, 0);
}

static void sequences(void **state)
{
    (void)state;
    hp_seqtab t = {0};
    uint32_t id;
    const uint64_t a[] = {1, 2, 3}, b[] = {1, 2}, c[] = {3, 2, 1};
    assert_int_equal(hp_seqtab_find(&t, a, 3, &id), 0); /* empty */
    assert_int_equal(hp_seqtab_add(&t, a, 3, &id), 1);
    assert_int_equal(id, 0);
    assert_int_equal(hp_seqtab_add(&t, b, 2, &id), 1);
    assert_int_equal(hp_seqtab_add(&t, c, 3, &id), 1);
    assert_int_equal(hp_seqtab_add(&t, NULL, 0, &id), 1); /* the empty sequence */
    assert_int_equal(id, 3);
    assert_int_equal(hp_seqtab_add(&t, a, 3, &id), 0);
    assert_int_equal(id, 0);
    assert_int_equal(hp_seqtab_find(&t, b, 2, &id), 1);
    assert_int_equal(id, 1);
    assert_int_equal(hp_seqtab_find(&t, a, 2, &id), 1); /* {1, 2} is b */
    assert_int_equal(hp_seqtab_find(&t, NULL, 0, &id), 1);
    assert_int_equal(id, 3);
    size_t len;
    const uint64_t *k = hp_seqtab_key(&t, 2, &len);
    assert_int_equal(len, 3);
    assert_int_equal(k[0], 3);
    for (uint64_t i = 0; i < 20000; i++) {
        uint64_t key[2] = {i, i * 31};
        assert_int_equal(hp_seqtab_add(&t, key, 1 + (i & 1), &id), 1);
        assert_int_equal(id, 4 + i);
    }
    for (uint64_t i = 0; i < 20000; i += 13) {
        uint64_t key[2] = {i, i * 31};
        assert_int_equal(hp_seqtab_find(&t, key, 1 + (i & 1), &id), 1);
        assert_int_equal(id, 4 + i);
    }
    hp_seqtab_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strings),
        cmocka_unit_test(sequences),
    };
    return cmocka_run_group_tests_name("intern", tests, NULL, NULL);
}
