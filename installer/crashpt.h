#ifndef CRASHPT_H
#define CRASHPT_H
/*
 * Test hook AGENT_INSTALL_TEST_CRASH_AT=<point> (spec bundle-install-update.md
 * §24.2): the process sends itself SIGKILL when it reaches the named point.
 * The command layer arms it (only when the root is not "/"); modules only
 * call crashpt_hit().  Points: after-download, after-verify, mid-unpack,
 * after-unpack, after-self-test, mid-switch, after-switch, after-restart,
 * mid-health, mid-revert.
 */

/* Arm the hook for point (NULL or "" disarms).  Copies the name. */
void crashpt_arm(const char *point);
/* SIGKILL ourselves if point is the armed one. */
void crashpt_hit(const char *point);

#endif
