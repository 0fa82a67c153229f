/*
 * casevault CLI — error messages, hints and exit codes.
 *
 * The library's message says what went wrong; we add what the user was
 * doing and what to do next. The process runs one command, so the context
 * for the hints (command, object) is kept here rather than threaded
 * through every call.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "error.h"

static struct {
	const char *command;
	cli_on_t on;
	const char *object;
	vault_role_t role;   /* of the unlocked user; 0 before an unlock */
} errctx;

void cli_error_command(const char *name)
{
	errctx.command = name;
}

void cli_error_role(vault_role_t role)
{
	errctx.role = role;
}

void cli_error_on(cli_on_t on, const char *object)
{
	errctx.on = on;
	errctx.object = object;
}

int cli_exit_code(int vault_code)
{
	switch (vault_code) {
	case VAULT_OK:
		return CLI_EXIT_OK;
	case VAULT_EUSAGE:
		return CLI_EXIT_USAGE;
	case VAULT_EAUTH:
		return CLI_EXIT_AUTH;
	case VAULT_EACCES:
		return CLI_EXIT_ACCESS;
	case VAULT_ECORRUPT:
		return CLI_EXIT_INTEGRITY;
	default:
		return CLI_EXIT_ERROR;
	}
}

static void report(const char *hint, const char *detail, const char *fmt, va_list ap)
	VAULT_PRINTF(3, 0);

/*
 * One line on stderr. Names typed by the user or found in the vault are
 * data: control characters are shown as '?', so that an error is always
 * exactly one line and never drives the terminal.
 */
static void emit(const char *prefix, const char *text)
{
	fputs(prefix, stderr);
	cli_print_text(stderr, text);
	fputc('\n', stderr);
}

static void report(const char *hint, const char *detail, const char *fmt, va_list ap)
{
	char line[2048];   /* Lao and Thai take three bytes a character */
	size_t n;

	n = (size_t) vsnprintf(line, sizeof line, fmt, ap);
	if (n < sizeof line && detail != NULL && *detail != '\0')
		snprintf(line + n, sizeof line - n, ": %s", detail);
	emit("casevault: ", line);
	emit("hint: ", hint);
	fflush(stderr);
}

int cli_error(int exit_code, const char *hint, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(_(hint), NULL, _(fmt), ap);
	va_end(ap);
	return exit_code;
}

int cli_error_os(const char *hint, const char *fmt, ...)
{
	const char *reason = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	report(_(hint), reason, _(fmt), ap);
	va_end(ap);
	return CLI_EXIT_ERROR;
}

static const char *usage_hint(char *buf, size_t size)
{
	if (errctx.command == NULL)
		return _("run 'casevault --help' for usage");
	snprintf(buf, size, _("run 'casevault %s --help' for usage"), errctx.command);
	return buf;
}

static int usage_report(const char *suggestion, const char *fmt, va_list ap)
	VAULT_PRINTF(2, 0);

static int usage_report(const char *suggestion, const char *fmt, va_list ap)
{
	char hint[512], line[2048];
	size_t n = 0;

	if (errctx.command != NULL)
		n = (size_t) snprintf(line, sizeof line, "%s: ", errctx.command);
	vsnprintf(line + n, sizeof line - n, _(fmt), ap);
	emit("casevault: ", line);
	if (suggestion != NULL)
		snprintf(hint, sizeof hint, _("did you mean '%s'?"), suggestion);
	emit("hint: ", suggestion != NULL ? hint : usage_hint(hint, sizeof hint));
	fflush(stderr);
	return CLI_EXIT_USAGE;
}

int cli_usage_suggest(const char *suggestion, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = usage_report(suggestion, fmt, ap);
	va_end(ap);
	return rc;
}

/* Does the library's message begin so? It says which object it is about. */
static int message_starts(const char *prefix)
{
	const char *m = vault_error_last()->message;

	return m != NULL && strncmp(m, prefix, strlen(prefix)) == 0;
}

/* The case code that starts the path being worked on: its length. */
static int object_code_len(void)
{
	const char *path = errctx.object ? errctx.object : "";

	return (int) strcspn(path, "/");
}

/* Admins and auditors see every case with 'case list'; caseworkers their own with 'ls'. */
static const char *cases_hint(void)
{
	if (errctx.role == VAULT_ROLE_ADMIN || errctx.role == VAULT_ROLE_AUDITOR)
		return _("run 'casevault case list' to see the cases");
	return _("run 'casevault ls' (or 'casevault case list') to see your cases");
}

/* "run 'casevault ls C-7KQ2M9XD'": the case code is the path up to its first '/'. */
static const char *path_hint(char *buf, size_t size)
{
	const char *path = errctx.object ? errctx.object : "";
	const char *slash = strchr(path, '/');

	if (slash == NULL || slash == path || message_starts("case '"))
		return cases_hint();
	if (message_starts("folder '"))
		snprintf(buf, size, _("create the folder first (casevault mkdir), or run 'casevault ls %.*s' "
			"to see what is there"), (int) (slash - path), path);
	else
		snprintf(buf, size, _("run 'casevault ls %.*s' to see what is there"), (int) (slash - path), path);
	return buf;
}

static const char *notfound_hint(char *buf, size_t size)
{
	switch (errctx.on) {
	case CLI_ON_VAULT:
		return _("check --vault DIR (or CASEVAULT_DIR), or create a vault with 'casevault init'");
	case CLI_ON_NEW_VAULT:
		return _("create the parent directory first");
	case CLI_ON_BACKUP:
	case CLI_ON_RESTORE:
		if (strstr(vault_error_last()->message, "cannot create"))
			return _("create the parent directory first");
		return _("check the backup's directory: 'casevault backup DEST' made it, with data.mdb and manifest");
	case CLI_ON_USER:
		return _("run 'casevault user list' to see the users");
	case CLI_ON_CASE:
		if (message_starts("user '"))
			return _("run 'casevault user list' to see the users");
		return _("run 'casevault case list' to see the cases");
	case CLI_ON_PURPOSE:
		return _("run 'casevault purpose list' to see the purposes");
	case CLI_ON_PATH:
	case CLI_ON_READ:
		return path_hint(buf, size);
	case CLI_ON_VERSION:
		snprintf(buf, size, _("run 'casevault history %s' to see its versions"),
			errctx.object ? errctx.object : "CODE/PATH");
		return buf;
	case CLI_ON_AUDIT:
		return _("check the --anchor commit: the genesis printed at init, or a head you kept");
	case CLI_ON_WITNESS:
		snprintf(buf, size, _("check the witness; to start one: 'git init --bare DIR', then 'casevault audit push %s'"),
			errctx.object ? errctx.object : "DIR");
		return buf;
	default:
		return _("check the names you typed");
	}
}

static const char *exists_hint(void)
{
	switch (errctx.on) {
	case CLI_ON_NEW_VAULT:
	case CLI_ON_RESTORE:
		return _("choose a new or empty directory for the vault");
	case CLI_ON_BACKUP:
		return _("choose a new or empty directory for the backup: a backup never replaces another");
	case CLI_ON_PATH:
		return _("choose another name, or remove the existing one first");
	case CLI_ON_CASE:
		return _("nothing to do: it is already so");
	case CLI_ON_USER:
		if (strstr(vault_error_last()->message, "already disabled"))
			return _("nothing to do: 'casevault user list' shows each user's status");
		return _("choose another name");
	default:
		return _("choose another name");
	}
}

/*
 * Refused in a case. Admins and auditors hold no case key by design (an
 * admin only of the cases they are a member of); a caseworker may be
 * granted access, or have it and wait for the key.
 */
static const char *case_access_hint(char *buf, size_t size)
{
	const char *path = errctx.object ? errctx.object : "CODE";
	int clen = object_code_len();

	if (strstr(vault_error_last()->message, "not received the key"))
		return _("a member of the case who holds its key must open the vault once (any command) to pass it to you");
	if (errctx.role == VAULT_ROLE_AUDITOR) {
		snprintf(buf, size, _("auditors hold no case keys by design: "
			"'casevault audit log --case %.*s' shows what happened in it"), clen, path);
	} else if (errctx.role == VAULT_ROLE_ADMIN) {
		snprintf(buf, size, _("admins hold no key of a case they are not a member of; "
			"to give a caseworker access: 'casevault case grant %.*s USER'"), clen, path);
	} else if (strstr(vault_error_last()->message, "read-only")) {
		snprintf(buf, size, _("you may read case %.*s, not change it: ask an admin (DPO) for read-write access"),
			clen, path);
	} else {
		snprintf(buf, size, _("ask an admin (DPO) to grant you access to case %.*s"), clen, path);
	}
	return buf;
}

static const char *access_hint(char *buf, size_t size)
{
	if (strstr(vault_error_last()->message, "the enrolment code opens no key of it"))
		return _("an admin disables the pending user and adds them again under another name "
			"('casevault user add NAME --role ROLE'): the new code opens the newest key");
	if (strstr(vault_error_last()->message, "cannot be a case member"))
		return _("admins and auditors hold no case keys, so they are never members: grant a caseworker "
			"('casevault user list' shows each user's role)");
	switch (errctx.on) {
	case CLI_ON_VAULT:
	case CLI_ON_NEW_VAULT:
		return _("run casevault as the vault's owner; its files must be readable by the owner only");
	case CLI_ON_PATH:
	case CLI_ON_VERSION:
	case CLI_ON_READ:
		return case_access_hint(buf, size);
	default:
		if (errctx.role == VAULT_ROLE_ADMIN && strstr(vault_error_last()->message, "is an admin"))
			return _("admins hold no case keys, so they make no cases: a caseworker creates the case, "
				"and an admin grants others access");
		if (errctx.role == VAULT_ROLE_AUDITOR)
			return _("auditors read and verify the history only: an admin or a caseworker does this");
		return _("your role does not allow this; ask an admin (DPO)");
	}
}

/* The vault's state forbids it: say what would make it possible. */
static const char *refused_hint(char *buf, size_t size)
{
	const char *m = vault_error_last()->message, *last = strstr(m, "is the last member of case '");

	if (last && errctx.on != CLI_ON_CASE) {
		/* A user to disable who is a case's only member. */
		last += strlen("is the last member of case '");
		snprintf(buf, size, _("grant someone else access first ('casevault case grant %.*s USER'), "
			"then disable the user; or, once 'casevault recovery status' shows the case covered, "
			"disable them and let the custodians recover it"), (int)strcspn(last, "'"), last);
		return buf;
	}
	if (strstr(m, "is pending (not enrolled yet) and cannot be a case member"))
		return _("the user enrols first ('casevault --user NAME enrol' with the code of 'user add'); grant again then");
	if (strstr(m, "is disabled and cannot be a case member"))
		return _("a disabled user gets no access: grant an active caseworker ('casevault user list')");
	if (strstr(m, "is not disabled"))
		return _("only a disabled user is enabled: 'casevault user list' shows who is");
	if (strstr(m, "waits for a new key"))
		return _("run the command again: its unlock seals the case's new key first");
	if (errctx.on == CLI_ON_PURPOSE)
		return _("add the purpose that replaces it first ('casevault purpose add CODE'), then remove this one");
	if (errctx.on == CLI_ON_CASE) {
		snprintf(buf, size, _("a case keeps at least one member: grant someone else access first "
			"('casevault case grant %.*s USER'), then revoke"), object_code_len(),
			errctx.object ? errctx.object : "CODE");
		return buf;
	}
	return _("a vault keeps at least one active admin: add another first ('casevault user add NAME --role admin')");
}

/* A read, listing or mount without the purpose the vault requires: it
 * was refused before anything was recorded or shown. */
static const char *purpose_missing_hint(void)
{
	const char *cmd = errctx.command ? errctx.command : "";

	if (!strcmp(cmd, "mount"))
		return _("nothing was mounted or recorded: mount with --purpose CODE (see 'casevault purpose list')");
	if (!strcmp(cmd, "get"))
		return _("nothing was recorded or written: give --purpose CODE[:NOTE] (see 'casevault purpose list')");
	return _("nothing was recorded or listed: give --purpose CODE[:NOTE] (see 'casevault purpose list')");
}

/* Who failed to authenticate, and why: the message says which case. */
static const char *auth_hint(void)
{
	static const struct { const char *says, *hint; } hints[] = {
		{ "is disabled", N_("ask an admin (DPO): disabled users cannot unlock the vault") },
		{ "does not exist", N_("check --user (or CASEVAULT_USER); 'casevault user list' shows the users") },
		{ "has not enrolled yet",
		  N_("enrol first: 'casevault --user NAME enrol' with the code an admin (DPO) gave you") },
		{ "has enrolled already",
		  N_("unlock with your passphrase; if you did not enrol, tell an admin (DPO) at once") },
		{ "wrong enrolment code",
		  N_("check the code as 'user add' gave it (26 characters); a code works for its own user only") },
		{ "code of user",
		  N_("ask an admin (DPO) for a new user name and code: a code expires (setting enrol-code-ttl)") },
		{ "below this build's floor",
		  N_("keys this weak come from test builds (CASEVAULT_TEST_KDF), whose vaults are for tests only; "
		  "if this vault holds real data, its user record was changed: restore the vault from a backup, "
		  "or an admin (DPO) adds the person under a new user name, to enrol with a new passphrase") },
	};
	const char *m = vault_error_last()->message;

	for (size_t i = 0; i < sizeof hints / sizeof hints[0]; i++)
		if (strstr(m, hints[i].says))
			return _(hints[i].hint);
	/* A damaged record fails its checksum first (exit 3): this one is
	 * whole, so the passphrase is wrong, or the record was replaced. */
	return _("check the passphrase (a lost passphrase cannot be recovered: an admin adds a new user); "
		"if it is right, the user's record was replaced: an auditor's 'casevault audit verify' tells");
}

static const char *vault_hint(int code, char *buf, size_t size)
{
	switch (code) {
	case VAULT_EUSAGE:
		if (strstr(vault_error_last()->message, "requires a purpose"))
			return purpose_missing_hint();
		if (errctx.on == CLI_ON_READ)
			return _("give a reason with --purpose CODE[:NOTE] (see 'casevault purpose list'), and check the path");
		/* A listing is recorded as a read is, with its purpose. */
		if (errctx.on != CLI_ON_PURPOSE && strstr(vault_error_last()->message, "purpose"))
			return _("give a reason with --purpose CODE[:NOTE] (see 'casevault purpose list')");
		return usage_hint(buf, size);
	case VAULT_ENOTFOUND:
		return notfound_hint(buf, size);
	case VAULT_EEXISTS:
		return exists_hint();
	case VAULT_EAUTH:
		return auth_hint();
	case VAULT_EACCES:
		return access_hint(buf, size);
	case VAULT_EREFUSED:
		return refused_hint(buf, size);
	case VAULT_ECORRUPT:
		if (errctx.on == CLI_ON_VAULT && strstr(vault_error_last()->message, "is not a"))
			return _("check --vault DIR (or CASEVAULT_DIR): it must be a directory made by 'casevault init'");
		if (errctx.on == CLI_ON_BACKUP || errctx.on == CLI_ON_RESTORE)
			return _("do not restore from this backup: use another one, and keep this one for investigation");
		if (errctx.on == CLI_ON_AUDIT || strstr(vault_error_last()->message, "the vault file is damaged"))
			return _("restore the vault from a backup, and keep this copy for investigation");
		if (errctx.on == CLI_ON_WITNESS)
			return _("the witness holds events this vault lacks: this vault was rolled back or rewritten; keep both for investigation");
		if (strstr(vault_error_last()->message, "was rolled back"))
			return _("an older copy of the vault was put back: find the newest copy; if an older backup was restored on purpose, run the command again with --restored (recorded as an event)");
		/* A sealed key is not in the history: verify may pass. */
		if (strstr(vault_error_last()->message, "sealed key of case"))
			return _("the key was changed outside casevault and was not used: tell an admin (DPO), and restore the vault from a backup");
		return _("run 'casevault audit verify' and restore the vault from a backup");
	case VAULT_EVERSION:
		if (strstr(vault_error_last()->message, "older casevault"))
			return _("this casevault does not read vaults of older formats: make a new vault with 'casevault init'");
		return _("a newer casevault wrote this vault; upgrade casevault");
	case VAULT_ENOSPC:
		return _("free space on the disk holding the vault (or move the vault to a larger disk), "
			"then run the command again: nothing of this command was kept");
	case VAULT_EBUSY:
		if (strstr(vault_error_last()->message, "map, which has grown"))
			return _("run the command again: the vault has room for it now");
		if (strstr(vault_error_last()->message, "compact works offline"))
			return _("unmount the vault ('casevault umount DIR') and let other casevault commands "
				"end, then run 'casevault compact' again");
		return _("another process is using the vault; try again");
	case VAULT_ENOTEMPTY:
		return _("remove what the folder holds first ('casevault ls' shows it)");
	default:
		if (errctx.on == CLI_ON_WITNESS)
			return _("check the witness: a git URL or the directory of a repository ('git init --bare DIR' makes one)");
		return _("if this persists, run 'casevault audit verify' and report the message above");
	}
}

int cli_fail_vault(const char *fmt, ...)
{
	const vault_error *err = vault_error_last();
	int code = err->code < 0 ? err->code : VAULT_ERROR;
	const char *message = err->text ? err->text : err->message ? err->message : "unknown error";
	char hint[1024];
	va_list ap;

	va_start(ap, fmt);
	report(vault_hint(code, hint, sizeof hint), message, _(fmt), ap);
	va_end(ap);
	return cli_exit_code(code);
}

static int verbosity;

void cli_set_verbosity(int level)
{
	verbosity = level;
}

int cli_verbosity(void)
{
	return verbosity;
}

void cli_note(int level, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	if (verbosity < level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, _(fmt), ap);
	va_end(ap);
	emit("casevault: ", line);
	fflush(stderr);
}

/* One translated line on stderr after a prefix that stays as it is. */
static void say(const char *prefix, const char *fmt, va_list ap) VAULT_PRINTF(2, 0);

static void say(const char *prefix, const char *fmt, va_list ap)
{
	char line[2048];

	vsnprintf(line, sizeof line, _(fmt), ap);
	emit(prefix, line);
	fflush(stderr);
}

void cli_warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say("casevault: warning: ", fmt, ap);
	va_end(ap);
}

void cli_batch_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say("note: ", fmt, ap);
	va_end(ap);
}
