/*
 * casevault CLI — option parsing for the commands.
 *
 * By hand rather than with getopt_long: options and positional arguments
 * mix freely (`get C-1/a -o out`), "--" ends the options, and nothing is
 * permuted behind our back. Error messages quote option names, never
 * option values or positional arguments (a mistyped label would otherwise
 * land in a log).
 */
#include <limits.h>
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

int cli_has_option(int argc, char **argv, const char *name)
{
	size_t len = strlen(name);

	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strncmp(argv[i], name, len) && (argv[i][len] == '\0' || argv[i][len] == '='))
			return 1;
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

/*
 * "Did you mean": the optimal string alignment distance (Levenshtein with
 * the swap of two neighbours as one edit), as git and Damerau have it.
 * Names are short: longer words are never near anything.
 */
#define SUGGEST_MAX 64

static const cli_opt *globals;   /* main()'s, see cli_globals_set() */

static unsigned int edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
	unsigned int d[SUGGEST_MAX + 1][SUGGEST_MAX + 1];
	size_t i, j;

	for (i = 0; i <= la; i++)
		d[i][0] = (unsigned int) i;
	for (j = 0; j <= lb; j++)
		d[0][j] = (unsigned int) j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			unsigned int cost = a[i - 1] != b[j - 1], best = d[i - 1][j - 1] + cost;

			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

void cli_suggest_init(cli_suggest *s, const char *word, size_t len)
{
	s->word = word;
	s->len = len;
	s->best = NULL;
	s->distance = UINT_MAX;
}

/* One edit away; two for names of five letters or more. */
void cli_suggest_add(cli_suggest *s, const char *name)
{
	size_t len = strlen(name);
	unsigned int dist, limit;

	if (s->len > SUGGEST_MAX || len > SUGGEST_MAX || s->len == 0)
		return;
	dist = edit_distance(s->word, s->len, name, len);
	limit = (s->len < len ? s->len : len) >= 5 ? 2 : 1;
	if (dist <= limit && dist < s->distance) {
		s->best = name;
		s->distance = dist;
	}
}

/* --name: the nearest long option of the table, with its dashes. */
static const char *near_option(char buf[SUGGEST_MAX + 3], const cli_opt *opts,
	const char *name, size_t len)
{
	cli_suggest s;

	cli_suggest_init(&s, name, len);
	for (; opts != NULL && opts->name != NULL; opts++)
		cli_suggest_add(&s, opts->name);
	for (opts = globals; opts != NULL && opts->name != NULL; opts++)
		cli_suggest_add(&s, opts->name);
	if (s.best == NULL)
		return NULL;
	snprintf(buf, SUGGEST_MAX + 3, "--%s", s.best);
	return buf;
}

/* The option argv[*i] names: NULL if it is not in the table. */
static const cli_opt *find_option(const cli_opt *opts, const char *arg, const char **value)
{
	const cli_opt *o;

	*value = NULL;
	if (arg[1] == '-') {
		const char *name = arg + 2, *eq = strchr(name, '=');
		size_t len = eq ? (size_t) (eq - name) : strlen(name);

		if ((o = find_long(opts, name, len)) != NULL && eq != NULL)
			*value = eq + 1;
		return o;
	}
	if ((o = find_short(opts, (unsigned char) arg[1])) != NULL && arg[2] != '\0')
		*value = arg + 2;
	return o;
}

static int unknown_option(const cli_opt *opts, const char *arg)
{
	char buf[SUGGEST_MAX + 3];

	if (arg[1] == '-') {
		const char *name = arg + 2;
		size_t len = strcspn(name, "=");

		return cli_usage_suggest(near_option(buf, opts, name, len),
			"unknown option '--%.*s'", (int) len, name);
	}
	return cli_usage_error("unknown option '-%c'", arg[1]);
}

/* Set `o` from argv[*i] (its value there, or the next argument). */
static int apply_option(const cli_opt *o, const char *value, int argc, char **argv, int *i)
{
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

/* argv[*i] starts with '-' and is neither "-" nor "--". */
static int parse_option(const cli_opt *opts, int argc, char **argv, int *i)
{
	const char *value;
	const cli_opt *o;

	if ((o = find_option(opts, argv[*i], &value)) == NULL)
		return unknown_option(opts, argv[*i]);
	return apply_option(o, value, argc, argv, i);
}

/* ---- the global options -------------------------------------------------- */

/*
 * Commands whose own option has the name of a global option: after the
 * command (and its verb), the option is the command's. cli_parse() refuses
 * a table that declares a global name without a line here, so that the
 * two cannot drift apart.
 */
static const struct {
	const char *command;   /* "audit log": a command and its verb */
	const char *option;
} owned[] = {
	{ "audit log", "user" },      /* the events of that user */
	{ "audit report", "user" },   /* the report on that user */
};

void cli_globals_set(const cli_opt *opts)
{
	globals = opts;
}

/* Is `command` ("audit") with `verb` ("log", or NULL) the command `name`? */
static int is_command(const char *name, const char *command, const char *verb)
{
	size_t len = strlen(command);

	if (strncmp(name, command, len) != 0)
		return 0;
	if (name[len] == '\0')
		return 1;
	return name[len] == ' ' && verb != NULL && strcmp(name + len + 1, verb) == 0;
}

int cli_global_owned(const char *command, const char *verb, const char *option)
{
	size_t k;

	for (k = 0; k < sizeof owned / sizeof owned[0]; k++)
		if (is_command(owned[k].command, command, verb) && !strcmp(owned[k].option, option))
			return 1;
	return 0;
}

int cli_global_take(int argc, char **argv, int *i)
{
	const char *value;
	const cli_opt *o;

	if ((o = find_option(globals, argv[*i], &value)) == NULL)
		return 0;
	return apply_option(o, value, argc, argv, i);
}

const cli_opt *cli_global_find(const char *arg)
{
	const char *value;

	return find_option(globals, arg, &value);
}

int cli_global_unknown(const char *arg)
{
	return unknown_option(globals, arg);
}

/* A command's own option named as a global one, and not in owned[]. */
static const cli_opt *shadowed_global(const cli_syntax *syn)
{
	const cli_opt *o, *g;

	for (o = syn->opts; o != NULL && o->name != NULL; o++)
		for (g = globals; g != NULL && g->name != NULL; g++)
			if ((!strcmp(o->name, g->name) || (o->shortname && o->shortname == g->shortname)) &&
			    !cli_global_owned(syn->name, NULL, g->name))
				return o;
	return NULL;
}

int cli_parse(const cli_syntax *syn, int argc, char **argv, char **args)
{
	const cli_opt *o;
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

	if ((o = shadowed_global(syn)) != NULL)
		return cli_error(CLI_EXIT_ERROR, "report this: the option needs a line in owned[] in cli/opt.c",
			"'%s' declares '--%s', the name of a global option", syn->name, o->name);

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

const char *cli_suggest_subcmd(const cli_subcmd *subs, const char *word)
{
	cli_suggest s;

	cli_suggest_init(&s, word, strlen(word));
	for (; subs->name != NULL; subs++)
		cli_suggest_add(&s, subs->name);
	return s.best;
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
	return cli_usage_suggest(cli_suggest_subcmd(subs, argv[1]), "unknown subcommand '%s'", argv[1]);
}
