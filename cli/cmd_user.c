/*
 * casevault user: add, list, disable and enable users (admins); change your own
 * passphrase (anyone).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>

#include "cmd.h"

#define ADD_SYNOPSIS     "casevault user add NAME --role admin|caseworker|auditor [--code-file FILE]"
#define LIST_SYNOPSIS    "casevault user list [--json]"
#define DISABLE_SYNOPSIS "casevault user disable NAME [--yes]"
#define ENABLE_SYNOPSIS  "casevault user enable NAME [--code-file FILE]"
#define PASSWD_SYNOPSIS  "casevault user passwd [--new-passphrase-file FILE]"

static const char usage[] =
	"usage: " ADD_SYNOPSIS "\n"
	"   or: " LIST_SYNOPSIS "\n"
	"   or: " DISABLE_SYNOPSIS "\n"
	"   or: " ENABLE_SYNOPSIS "\n"
	"   or: " PASSWD_SYNOPSIS "\n"
	"\n"
	"Admins add and disable users; anyone may change their own passphrase.\n"
	"New passphrases come from --new-passphrase-file, or are typed twice.\n";

static const char add_usage[] =
	"usage: " ADD_SYNOPSIS "\n"
	"\n"
	"Add a pending user. NAME is 1 to 32 of [a-z0-9._-]. Prints a one-time\n"
	"enrolment code, or writes it to FILE (mode 0600; an existing file is\n"
	"refused). Give it to the person, who runs 'casevault --user NAME enrol'\n"
	"and makes their own key and passphrase. The code works once and expires\n"
	"(setting enrol-code-ttl, 7 days unless set).\n";

static const char list_usage[] =
	"usage: " LIST_SYNOPSIS "\n"
	"\n"
	"List the users: NAME ROLE STATUS, or with --json one object per line:\n"
	"{\"name\", \"role\", \"status\": \"active\"|\"disabled\"|\"pending\", \"key\": \"ssh-ed25519 ...\"}\n"
	"(a pending user has not enrolled: no key yet).\n";

static const char disable_usage[] =
	"usage: " DISABLE_SYNOPSIS "\n"
	"\n"
	"Disable a user: they can no longer unlock the vault. Their history stays.\n"
	"They held the key of the history: 'casevault history rotate-key' makes a\n"
	"new one, so that what is recorded afterwards is closed to them.\n"
	"At a terminal, asks first; --yes (-y) does not ask.\n";

static const char enable_usage[] =
	"usage: " ENABLE_SYNOPSIS "\n"
	"\n"
	"Let a disabled user back. Their old key stays retired: they enrol again\n"
	"('casevault --user NAME enrol') with the new one-time code printed here\n"
	"(or written to FILE, as for 'user add') and make a new key and passphrase.\n"
	"They keep their role and are a member of no case: grant them again.\n";

static const char passwd_usage[] =
	"usage: " PASSWD_SYNOPSIS "\n"
	"\n"
	"Change the passphrase of the --user running the command. The new one has\n"
	"at least 12 characters, is not a common passphrase, and holds neither the\n"
	"user name nor the vault id (several random words). The key is made again\n"
	"with the vault's current Argon2id parameters (settings kdf-min-*).\n";

/*
 * A one-time enrolment code for `name`: a new user of `role` (user add),
 * or a disabled one back (user enable, `role` NULL). Printed, or written
 * to `codefile` (made first: a user whose code went nowhere is no use).
 */
static int issue_code(cli_ctx *ctx, const char *name, const char *codefile, const vault_role_t *role)
{
	const char *verb = role ? "add" : "enable";
	char *code = NULL;
	int rc = CLI_EXIT_OK, fd = -1, failed;

	/* The code is a secret until it is used: in secret memory, and
	 * written with write(2), past stdio's buffers. */
	if ((code = sodium_malloc(VAULT_ENROL_CODE_SIZE)) == NULL)
		return cli_error(CLI_EXIT_ERROR, "free some memory and try again",
			"cannot %s user '%s': out of secret memory", verb, name);
	if (codefile && (fd = open(codefile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		rc = cli_error(CLI_EXIT_ERROR, errno == EEXIST ?
			"name a file that does not exist: a code is never written over another" :
			"check the directory of FILE exists and is writable",
			"cannot write the enrolment code of '%s' to '%s': %s", name, codefile,
			strerror(errno));
		goto done;
	}

	cli_error_on(CLI_ON_USER, name);
	failed = role ? vault_user_add(ctx->v, name, *role, code) < 0 :
		vault_user_enable(ctx->v, name, code) < 0;
	if (failed) {
		rc = cli_fail_vault("cannot %s user '%s'", verb, name);
	} else {
		code[VAULT_ENROL_CODE_LEN] = '\n';
		if (write(fd < 0 ? STDOUT_FILENO : fd, code, VAULT_ENROL_CODE_LEN + 1) !=
		    VAULT_ENROL_CODE_LEN + 1 || (fd >= 0 && fsync(fd) < 0))
			rc = cli_error(CLI_EXIT_ERROR, role ?
				"disable the user and add them again under another name" :
				"disable the user and enable them again: a new code replaces this one",
				"user '%s' was %s, but its enrolment code could not be written to '%s'",
				name, role ? "added" : "enabled", fd < 0 ? "standard output" : codefile);
	}
	if (fd >= 0) {
		close(fd);
		if (rc != CLI_EXIT_OK)
			unlink(codefile);   /* no code, or part of one */
	}
done:
	sodium_free(code);
	return rc;
}

static int user_add(cli_ctx *ctx, int argc, char **argv)
{
	const char *role_name = NULL, *codefile = NULL;
	const cli_opt opts[] = {
		{ "role", 0, NULL, &role_name },
		{ "code-file", 0, NULL, &codefile },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "user add", add_usage, opts, 1, 1 };
	vault_role_t role;
	char *args[1];
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	if (role_name == NULL)
		return cli_usage_error("missing option '--role admin|caseworker|auditor'");
	if (vault_role_parse(&role, role_name) < 0)
		return cli_error(CLI_EXIT_USAGE, "use admin, caseworker or auditor",
			"unknown role '%s'", role_name);
	/* The library checks it too, but only after the code file was made:
	 * refuse first. */
	if (vault_role(ctx->v) != VAULT_ROLE_ADMIN)
		return cli_error(CLI_EXIT_ACCESS, "only admins add users; ask an admin (DPO)",
			"cannot add user '%s': user '%s' is %s %s, not an admin", args[0], ctx->user,
			vault_role(ctx->v) == VAULT_ROLE_AUDITOR ? "an" : "a",
			vault_role_name(vault_role(ctx->v)));
	return issue_code(ctx, args[0], codefile, &role);
}

static int print_user(const vault_user_info *u, void *payload)
{
	const int *json = payload;
	const char *role = vault_role_name(u->role);
	const char *status = u->disabled ? "disabled" : u->pending ? "pending" : "active";
	cli_json j;

	if (!*json) {
		printf("%s %s %s\n", u->name, role ? role : "-", status);
		return 0;
	}
	cli_json_begin(&j, stdout);
	cli_json_str(&j, "name", u->name);
	cli_json_str(&j, "role", role);
	cli_json_str(&j, "status", status);
	cli_json_str(&j, "key", u->publine);
	cli_json_end(&j);
	return 0;
}

static int user_list(cli_ctx *ctx, int argc, char **argv)
{
	int json = 0, rc;
	const cli_opt opts[] = {
		{ "json", 0, &json, NULL },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "user list", list_usage, opts, 0, 0 };

	if ((rc = cli_parse(&syn, argc, argv, NULL)) != CLI_PARSED)
		return rc;
	cli_error_on(CLI_ON_USER, NULL);
	if (vault_user_foreach(ctx->v, print_user, &json) < 0)
		return cli_fail_vault("cannot list users");
	return CLI_EXIT_OK;
}

static int user_disable(cli_ctx *ctx, int argc, char **argv)
{
	int yes = 0;
	const cli_opt opts[] = {
		{ "yes", 'y', &yes, NULL },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "user disable", disable_usage, opts, 1, 1 };
	char *args[1];
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	/* Others are refused by the library: no question for them. */
	if (vault_role(ctx->v) == VAULT_ROLE_ADMIN &&
	    (rc = cli_confirm(yes, CLI_CONFIRM_AT_TTY, "disable user '%s'", args[0])) != 0)
		return rc;
	cli_error_on(CLI_ON_USER, args[0]);
	if (vault_user_disable(ctx->v, args[0]) < 0)
		return cli_fail_vault("cannot disable user '%s'", args[0]);
	fprintf(stderr, "hint: '%s' held the key of the history; 'casevault history rotate-key' "
		"keeps a copy of it from reading what is recorded from now on\n", args[0]);
	return CLI_EXIT_OK;
}

static int user_enable(cli_ctx *ctx, int argc, char **argv)
{
	const char *codefile = NULL;
	const cli_opt opts[] = {
		{ "code-file", 0, NULL, &codefile },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "user enable", enable_usage, opts, 1, 1 };
	char *args[1];
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	return issue_code(ctx, args[0], codefile, NULL);
}

static int user_passwd(cli_ctx *ctx, int argc, char **argv)
{
	const char *passfile = NULL;
	const cli_opt opts[] = {
		{ "new-passphrase-file", 0, NULL, &passfile },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "user passwd", passwd_usage, opts, 0, 0 };
	cli_secret pass = { NULL, 0 };
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, NULL)) != CLI_PARSED)
		return rc;
	if ((rc = cli_passphrase_new(&pass, passfile, ctx->user, vault_id(ctx->v), CLI_HINT_NEWPASSFILE)) != 0)
		return rc;

	cli_error_on(CLI_ON_USER, ctx->user);
	if (vault_user_passwd(ctx->v, pass.buf, pass.len) < 0)
		rc = cli_fail_vault("cannot change the passphrase of '%s'", ctx->user);
	cli_secret_dispose(&pass);
	return rc;
}

static const cli_subcmd subcmds[] = {
	{ "add",     user_add },
	{ "list",    user_list },
	{ "disable", user_disable },
	{ "enable",  user_enable },
	{ "passwd",  user_passwd },
	{ NULL, NULL }
};

int cmd_user(cli_ctx *ctx, int argc, char **argv)
{
	return cli_dispatch(ctx, "user", usage, subcmds, argc, argv);
}
