/*
 * casevault enrol: a pending user makes their own key pair, with the
 * one-time code an admin gave them, and chooses their passphrase.
 */
#include <stdio.h>

#include "cmd.h"

#define ENROL_SYNOPSIS "casevault --user NAME enrol [--code-file FILE] [--new-passphrase-file FILE]"

static const char enrol_usage[] =
	"usage: " ENROL_SYNOPSIS "\n"
	"\n"
	"Enrol as NAME, a user an admin added: your key pair is made here, in\n"
	"your own process, and sealed under your new passphrase; nobody else ever\n"
	"knows either. The code comes from FILE or is typed (no echo); it works\n"
	"once and expires. The new passphrase comes from --new-passphrase-file,\n"
	"or is typed twice: at least 12 characters, not a common passphrase, and\n"
	"neither your user name nor the vault id in it (several random words).\n";

int cmd_enrol(cli_ctx *ctx, int argc, char **argv)
{
	const char *codefile = NULL, *passfile = NULL;
	const cli_opt opts[] = {
		{ "code-file", 0, NULL, &codefile },
		{ "new-passphrase-file", 0, NULL, &passfile },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "enrol", enrol_usage, opts, 0, 0 };
	cli_secret code = { NULL, 0 }, pass = { NULL, 0 };
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, NULL)) != CLI_PARSED)
		return rc;
	if (ctx->user == NULL)
		return cli_usage_error("missing '--user NAME' (or CASEVAULT_USER): who enrols");
	if ((rc = cli_code_get(&code, codefile, ctx->user)) != 0)
		return rc;
	if ((rc = cli_passphrase_new(&pass, passfile, ctx->user, vault_id(ctx->v), CLI_HINT_NEWPASSFILE)) == 0) {
		cli_error_on(CLI_ON_USER, ctx->user);
		if (vault_user_enrol(ctx->v, ctx->user, code.buf, code.len, pass.buf, pass.len) < 0)
			rc = cli_fail_vault("cannot enrol user '%s'", ctx->user);
	}
	cli_secret_dispose(&code);
	cli_secret_dispose(&pass);
	return rc;
}
