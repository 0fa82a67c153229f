/*
 * casevault init: create a vault with its first admin.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"

static const char usage[] =
	"usage: casevault --vault DIR [--passphrase-file FILE] init --admin NAME\n"
	"\n"
	"Create a vault in DIR (missing or empty) with NAME as its first admin.\n"
	"The admin's passphrase comes from --passphrase-file, or is typed twice:\n"
	"at least 12 characters, not a common passphrase, without NAME in it\n"
	"(several random words).\n"
	"\n"
	"Prints the vault id and the genesis commit. The genesis commit is the\n"
	"trust anchor of the history: keep a copy outside the vault.\n"
	"\n"
	"The vault's map grows on its own as documents are added, as far as the\n"
	"disk allows: no size to choose.\n"
	"\n"
	"Environment:\n"
	"  CASEVAULT_MAP_SIZE  the map's first size in bytes, with an optional K,\n"
	"                      M or G suffix (default: 64M; for tests of growth)\n";

static int map_size(uint64_t *out)
{
	const char *s = getenv("CASEVAULT_MAP_SIZE");

	*out = 0;
	if (s == NULL || *s == '\0')
		return 0;
	if (cli_parse_size(out, s) < 0 || *out == 0)
		return cli_error(CLI_EXIT_USAGE, "give a number of bytes, with K, M or G if you like",
			"invalid CASEVAULT_MAP_SIZE '%s'", s);
	return 0;
}

int cmd_init(cli_ctx *ctx, int argc, char **argv)
{
	const char *admin = NULL;
	const cli_opt opts[] = {
		{ "admin", 0, NULL, &admin },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "init", usage, opts, 0, 0 };
	cli_secret pass = { NULL, 0 };
	char genesis[VAULT_OID_SIZE];
	uint64_t mapsize;
	vault *v = NULL;
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, NULL)) != CLI_PARSED)
		return rc;
	if (admin == NULL)
		return cli_usage_error("missing option '--admin NAME'");
	if ((rc = map_size(&mapsize)) != 0)
		return rc;
	if ((rc = cli_passphrase_new(&pass, ctx->passphrase_file, admin, NULL, CLI_HINT_PASSFILE)) != 0)
		return rc;

	cli_error_on(CLI_ON_NEW_VAULT, ctx->dir);
	if (vault_init(&v, ctx->dir, admin, pass.buf, pass.len, mapsize) < 0) {
		rc = cli_fail_vault("cannot create a vault in '%s'", ctx->dir);
		goto done;
	}
	cli_secret_dispose(&pass);
	if (vault_genesis(genesis, v) < 0) {
		rc = cli_fail_vault("vault created in '%s', but its genesis commit cannot be read",
			ctx->dir);
		goto done;
	}
	printf("vault-id %s\n", vault_id(v));
	printf("genesis %s\n", genesis);
done:
	cli_secret_dispose(&pass);
	vault_close(v);
	return rc;
}
