/*
 * verify_recovery — what verify checks of the organisation's recovery
 * events, beyond the fields the action table lets them change: a
 * `recovery-setup` names active users and a threshold from 2 to their
 * number; a `recovery-split` records shares of the case's current epoch
 * for exactly the custodians of the policy in force.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "verify.h"

#define FAIL(...) do { error = vault_error_set(VAULT_ECORRUPT, __VA_ARGS__); goto done; } while (0)

/* The next line of `*p` that starts with `prefix`: its rest, in `out`. */
static int next_line(char *out, size_t n, const char **p, const char *prefix)
{
	size_t plen = strlen(prefix);

	while (**p) {
		const char *s = *p, *eol = strchr(s, '\n');
		size_t len = eol ? (size_t)(eol - s) : strlen(s);

		*p = eol ? eol + 1 : s + len;
		if (len > plen && !strncmp(s, prefix, plen)) {
			vault_history__copy(out, n, s + plen, len - plen);
			return 1;
		}
	}
	return 0;
}

/* Does `text` hold the line `prefix` + `value`? */
static int has_line(const char *text, const char *prefix, const char *value)
{
	char got[VAULT_NAME_MAX + 64];

	while (next_line(got, sizeof got, &text, prefix))
		if (!strcmp(got, value))
			return 1;
	return 0;
}

static int count_lines(const char *text, const char *prefix)
{
	char got[VAULT_NAME_MAX + 64];
	int n = 0;

	while (next_line(got, sizeof got, &text, prefix))
		n++;
	return n;
}

/* The custodians of a recovery-setup: sorted, each once, active users of
 * the policy before; a threshold from 2 to their number. */
static int check_setup(vault *v, git_tree *parent, const char *after)
{
	char name[VAULT_NAME_MAX + 64], prev[VAULT_NAME_MAX + 64] = "", value[16] = "";
	const char *p = after;
	vault_policy_user pu;
	unsigned long m;
	int n = 0, error = 0;

	while (next_line(name, sizeof name, &p, "recovery-custodian ")) {
		if (prev[0] && strcmp(prev, name) >= 0)
			FAIL("'recovery-setup' names custodian '%s' out of order or twice", name);
		if ((error = vault_history__user(&pu, parent, name, v)) < 0)
			goto done;
		if (!pu.found || !pu.active)
			FAIL("'recovery-setup' made '%s' a custodian, who is no active user", name);
		snprintf(prev, sizeof prev, "%s", name);
		n++;
	}
	p = after;
	if (count_lines(after, "recovery-threshold ") != 1 || !next_line(value, sizeof value, &p, "recovery-threshold "))
		FAIL("'recovery-setup' left no threshold, or several");
	m = strtoul(value, NULL, 10);
	if (m < 2 || m > (unsigned long)n || n > VAULT_RECOVERY_MAX)
		FAIL("'recovery-setup' set a threshold of %s for %d custodians", value, n);
done:
	return error;
}

/* A recovery-split: of the case's epoch, for the set of the policy in
 * force, one share for each of its custodians and no one else. */
static int check_split(const char *settings, const char *after, const char *code)
{
	unsigned char set[RECOVERY_SET_SIZE], zero[RECOVERY_SET_SIZE] = { 0 };
	char hex[2 * RECOVERY_SET_SIZE + 1], want[64], got[64], epoch[16] = "", name[VAULT_NAME_MAX + 64];
	const char *p = after;
	int error = 0;

	vault_rec__recovery_set(set, settings);
	if (!memcmp(set, zero, sizeof set))
		FAIL("'recovery-split' of case %s, and the vault names no custodians", code);
	next_line(epoch, sizeof epoch, &p, "epoch ");
	sodium_bin2hex(hex, sizeof hex, set, RECOVERY_SET_SIZE);
	snprintf(want, sizeof want, "%s %s", epoch, hex);
	p = after;
	if (!next_line(got, sizeof got, &p, "recovery ") || strcmp(got, want))
		FAIL("'recovery-split' of case %s is not of its epoch %s for the custodians in force", code, epoch);
	p = settings;
	while (next_line(name, sizeof name, &p, "recovery-custodian "))
		if (!has_line(after, "share ", name))
			FAIL("'recovery-split' of case %s left custodian '%s' without a share", code, name);
	if (count_lines(after, "share ") != count_lines(settings, "recovery-custodian "))
		FAIL("'recovery-split' of case %s sealed a share to someone who is no custodian", code);
done:
	return error;
}

int vault_verify__recovery(vault *v, const char *action, git_tree *parent, git_tree *tree, const char *code)
{
	vault_buf before = VAULT_BUF_INIT, after = VAULT_BUF_INIT;
	char path[64];
	int error;

	if (!strcmp(action, "recovery-setup")) {
		if ((error = vault_history__blob(&after, tree, VAULT_SETTINGS_PATH, v)) == 0)
			error = check_setup(v, parent, after.ptr);
	} else {
		vault_case__path(path, code);
		if ((error = vault_history__blob(&before, parent, VAULT_SETTINGS_PATH, v)) == 0 &&
		    (error = vault_history__blob(&after, tree, path, v)) == 0)
			error = check_split(before.ptr, after.ptr, code);
	}
	vault_buf_dispose(&before);
	vault_buf_dispose(&after);
	return error;
}
