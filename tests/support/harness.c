#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vault.h"
#include "harness.h"

int harness_failures;
static char tmpdirs[16][256];
static int ntmp;

const char *harness_tmpdir(void)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *d;

	if (ntmp == 16)
		abort();
	/*
	 * The tests copy vaults and use the copy and the original in turn,
	 * which a user's checkpoint file outside the vault (keyed by the
	 * vault's id) would rightly call a rollback. So handles keep no such
	 * file here, unless a test sets a state directory (vault_set_state_dir).
	 */
	if (ntmp == 0) {
		unsetenv("XDG_STATE_HOME");
		unsetenv("HOME");
	}
	snprintf(tmpdirs[ntmp], sizeof tmpdirs[ntmp], "%s/cvtest.XXXXXX", base);
	if ((d = mkdtemp(tmpdirs[ntmp])) == NULL)
		abort();
	return tmpdirs[ntmp++];
}

void harness_cleanup(void)
{
	char cmd[4200];

	for (int i = 0; i < ntmp; i++) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdirs[i]);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", tmpdirs[i]);
	}
	ntmp = 0;
}

int harness_done(const char *name)
{
	harness_cleanup();
	if (harness_failures) {
		fprintf(stderr, "%s: %d check(s) failed\n", name, harness_failures);
		return 1;
	}
	printf("%s: all checks passed\n", name);
	return 0;
}
