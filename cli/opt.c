/*
 * casevault CLI — option parsing for the commands.
 *
 * By hand rather than with getopt_long: options and positional arguments
 * mix freely (`get C-1/a -o out`), "--" ends the options, and nothing is
 * permuted behind our back. Error messages quote option names, never
 * option values or positional arguments (a mistyped label would otherwise
 * land in a log).
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

int cli_wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	}
	return 0;
}

static const cli_opt *find_long(const cli_opt *opts, const char *name, size_t len)
{
	for (; opts != NULL && opts->name != NULL; opts++) {
		if (strlen(opts->name) == len && memcmp(opts->name, name, len) == 0)
			return opts;
	}
	return NULL;
}

static const cli_opt *find_short(const cli_opt *opts, int c)
{
	for (; opts != NULL && opts->name != NULL; opts++) {
		if (opts->shortname != 0 && opts->shortname == c)
			return opts;
	}
	return NULL;
}

/* argv[*i] starts with '-' and is neither "-" nor "--". */
static int parse_option(const cli_opt *opts, int argc, char **argv, int *i)
{
	const char *arg = argv[*i], *value = NULL;
	const cli_opt *o;

	if (arg[1] == '-') {
		const char *name = arg + 2, *eq = strchr(name, '=');
		size_t len = eq ? (size_t) (eq - name) : strlen(name);

		if ((o = find_long(opts, name, len)) == NULL)
			return cli_usage_error("unknown option '--%.*s'", (int) len, name);
		if (eq != NULL)
			value = eq + 1;
	} else {
		if ((o = find_short(opts, (unsigned char) arg[1])) == NULL)
			return cli_usage_error("unknown option '-%c'", arg[1]);
		if (arg[2] != '\0')
			value = arg + 2;
	}

	if (o->flag != NULL) {
		if (value != NULL)
			return cli_usage_error("option '--%s' takes no value", o->name);
		*o->flag = 1;
		return CLI_PARSED;
	}
	if (value == NULL) {
		if (*i + 1 >= argc)
			return cli_usage_error("option '--%s' needs a value", o->name);
		value = argv[++*i];
	}
	*o->value = value;
	return CLI_PARSED;
}

int cli_parse(const cli_syntax *syn, int argc, char **argv, char **args)
{
	size_t nargs = 0, k;
	int only_args = 0, i, rc;

	cli_error_command(syn->name);
	for (k = 0; k < syn->max_args; k++)
		args[k] = NULL;

	/* Before anything else, as main() decides by the same test not to open the vault. */
	if (cli_wants_help(argc, argv)) {
		fputs(_(syn->usage), stdout);
		return CLI_EXIT_OK;
	}

	for (i = 1; i < argc; i++) {
		char *arg = argv[i];

		if (only_args || arg[0] != '-' || arg[1] == '\0') {
			if (nargs == syn->max_args)
				return cli_usage_error("too many arguments");
			args[nargs++] = arg;
		} else if (strcmp(arg, "--") == 0) {
			only_args = 1;
		} else if ((rc = parse_option(syn->opts, argc, argv, &i)) != CLI_PARSED) {
			return rc;
		}
	}
	if (nargs < syn->min_args)
		return cli_usage_error("missing argument");
	return CLI_PARSED;
}

int cli_dispatch(cli_ctx *ctx, const char *name, const char *usage,
	const cli_subcmd *subs, int argc, char **argv)
{
	const cli_subcmd *s;

	cli_error_command(name);
	if (argc < 2)
		return cli_usage_error("missing subcommand");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(_(usage), stdout);
		return CLI_EXIT_OK;
	}
	for (s = subs; s->name != NULL; s++) {
		if (strcmp(s->name, argv[1]) == 0)
			return s->fn(ctx, argc - 1, argv + 1);
	}
	return cli_usage_error("unknown subcommand '%s'", argv[1]);
}
