/* cli_signals_install: SIGPIPE is ignored (a write to a closed peer is an
 * EPIPE error, not the end of the process), and the first SIGINT/SIGTERM
 * only sets cli_interrupt. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/job.h"

static void test_sigpipe_is_an_error_not_death(void **st)
{
    (void)st;
    cli_signals_install();
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    close(fds[0]);
    /* Without the handler set to ignore, this write kills the process. */
    assert_int_equal(write(fds[1], "x", 1), -1);
    assert_int_equal(errno, EPIPE);
    close(fds[1]);
}

static void test_first_interrupt_sets_the_flag(void **st)
{
    (void)st;
    cli_signals_install();
    atomic_store(&cli_interrupt, 0);
    assert_int_equal(raise(SIGTERM), 0);
    assert_int_equal(atomic_load(&cli_interrupt), 1);
    atomic_store(&cli_interrupt, 0);
    assert_int_equal(raise(SIGINT), 0);
    assert_int_equal(atomic_load(&cli_interrupt), 1);
    atomic_store(&cli_interrupt, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigpipe_is_an_error_not_death),
        cmocka_unit_test(test_first_interrupt_sets_the_flag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
