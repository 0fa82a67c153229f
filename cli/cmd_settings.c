/*
 * casevault settings: the vault's named settings, such as the thresholds
 * of `audit report --anomalies`. Admins change them, each change a signed
 * `setting` event; every user may show them.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

#define SHOW_SYNOPSIS  "casevault settings show [--json]"
#define SET_SYNOPSIS   "casevault settings set KEY VALUE"
#define UNSET_SYNOPSIS "casevault settings unset KEY"

static const char usage[] =
	"usage: " SHOW_SYNOPSIS "\n"
	"   or: " SET_SYNOPSIS "\n"
	"   or: " UNSET_SYNOPSIS "\n"
	"\n"
	"The vault's settings: the thresholds of 'casevault audit report --anomalies',\n"
	"the witness the history is pushed to by itself, and the minimum cost of\n"
	"hashing a new passphrase.\n"
	"Each change is a signed event in the history (admins only).\n";

static const char show_usage[] =
	"usage: " SHOW_SYNOPSIS "\n"
	"\n"
	"Print every setting: KEY VALUE, then '(default)' when it was never set,\n"
	"and what it means. With --json, one object per line: key, value, default.\n";

static const char set_usage[] =
	"usage: " SET_SYNOPSIS "\n"
	"\n"
	"Set KEY to VALUE (admins). Values by key:\n"
	"  bulk-read-count, failed-unlock-count      a whole number, 1 to 1000000\n"
	"  bulk-read-window, failed-unlock-window,\n"
	"  membership-read-window,\n"
	"  grant-after-add-window                    seconds, or 10m, 2h, 1d\n"
	"  work-hours                                hours HH:MM-HH:MM (07:00-19:00; 22:00-06:00\n"
	"                                            overnight) in the vault's time zone\n"
	"  work-days                                 days: mon-fri, sat,sun, ...\n"
	"  time-zone                                 a tz database name: Asia/Vientiane, UTC\n"
	"                                            ('timedatectl list-timezones')\n"
	"  witness                                   a git URL or directory (a bare\n"
	"                                            repository: 'git init --bare DIR')\n"
	"  witness-every                             a whole number of events, 1 to 1000000\n"
	"  kdf-min-memory                            Argon2id memory of new passphrases, at least:\n"
	"                                            1M to 4096M, or 1G to 4G (default 256M)\n"
	"  kdf-min-passes                            ... and its passes, 1 to 64 (default 6); a\n"
	"                                            user below either is told to run 'user passwd'\n";

static const char unset_usage[] =
	"usage: " UNSET_SYNOPSIS "\n"
	"\n"
	"Return KEY to its default (admins).\n";

static int print_setting(const vault_setting_info *s, void *payload)
{
	const int *json = payload;
	cli_json j;

	if (*json) {
		cli_json_begin(&j, stdout);
		cli_json_str(&j, "key", s->key);
		cli_json_str(&j, "value", s->value);
		cli_json_bool(&j, "default", s->is_default);
		cli_json_end(&j);
		return 0;
	}
	printf("%-24s %-20s%s  %s\n", s->key, s->value, s->is_default ? " (default)" : "          ",
		s->help);
	return 0;
}

static int settings_show(cli_ctx *ctx, int argc, char **argv)
{
	int json = 0, rc;
	const cli_opt opts[] = {
		{ "json", 0, &json, NULL },
		{ NULL, 0, NULL, NULL }
	};
	const cli_syntax syn = { "settings show", show_usage, opts, 0, 0 };

	if ((rc = cli_parse(&syn, argc, argv, NULL)) != CLI_PARSED)
		return rc;
	cli_error_on(CLI_ON_NONE, NULL);
	if (vault_setting_foreach(ctx->v, print_setting, &json) < 0)
		return cli_fail_vault("cannot read the settings");
	return CLI_EXIT_OK;
}

static int settings_change(cli_ctx *ctx, const char *key, const char *value)
{
	const vault_error *err;

	if (vault_setting_set(ctx->v, key, value) == 0)
		return CLI_EXIT_OK;
	err = vault_error_last();
	if (err->code == VAULT_EUSAGE && !strcmp(key, "time-zone"))
		return cli_error(CLI_EXIT_USAGE, "'timedatectl list-timezones' lists the zones (package tzdata)",
			"cannot change setting '%s': %s", key, err->message);
	if (err->code == VAULT_EUSAGE)
		return cli_error(CLI_EXIT_USAGE,
			"run 'casevault settings show' for the keys, 'casevault settings set --help' for the values",
			"cannot %s setting '%s': %s", value ? "change" : "reset", key, err->message);
	if (err->code == VAULT_EACCES)
		return cli_error(CLI_EXIT_ACCESS, "ask an admin (DPO) to change the settings",
			"cannot %s setting '%s': %s", value ? "change" : "reset", key, err->message);
	return cli_fail_vault("cannot %s setting '%s'", value ? "change" : "reset", key);
}

static int settings_set(cli_ctx *ctx, int argc, char **argv)
{
	const cli_syntax syn = { "settings set", set_usage, NULL, 2, 2 };
	char *args[2];
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	if (args[1] == NULL)
		return cli_usage_error("give a KEY and a VALUE");
	return settings_change(ctx, args[0], args[1]);
}

static int settings_unset(cli_ctx *ctx, int argc, char **argv)
{
	const cli_syntax syn = { "settings unset", unset_usage, NULL, 1, 1 };
	char *args[1];
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, args)) != CLI_PARSED)
		return rc;
	return settings_change(ctx, args[0], NULL);
}

static const cli_subcmd subcmds[] = {
	{ "set",   settings_set },
	{ "show",  settings_show },
	{ "unset", settings_unset },
	{ NULL, NULL }
};

int cmd_settings(cli_ctx *ctx, int argc, char **argv)
{
	return cli_dispatch(ctx, "settings", usage, subcmds, argc, argv);
}
