/*
 * casevault CLI — global options, the command table, and what every
 * command needs prepared: the vault opened, a user unlocked.
 *
 * The commands themselves live in cmd_<name>.c; see cmd.h for how to add
 * one.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cmd.h"

static int cmd_help(cli_ctx *ctx, int argc, char **argv);

#define OPEN   (CMD_DIR | CMD_VAULT)
#define UNLOCK (CMD_DIR | CMD_VAULT | CMD_UNLOCK)

static const cli_cmd_spec cli_cmds[] = {
	{ "init",    cmd_init,    CMD_DIR, N_("Create a vault with its first admin") },
	{ "user",    cmd_user,    UNLOCK,  "Add, list or disable users; change your passphrase" },
	{ "enrol",   cmd_enrol,   OPEN,    "Make your key pair with the code an admin gave you" },
	{ "case",    cmd_case,    UNLOCK,  "Create and list cases; grant or revoke members" },
	{ "purpose", cmd_purpose, UNLOCK,  "Manage the purposes of access given when reading" },
	{ "recovery", cmd_recovery, UNLOCK, N_("Recover a case whose members are gone (M of N custodians)") },
	{ "settings", cmd_settings, UNLOCK, N_("Show or change the vault's settings (anomaly thresholds)") },
	{ "put",     cmd_put,     UNLOCK,  "Store a file as a new version" },
	{ "get",     cmd_get,     UNLOCK,  "Read a file (recorded as a read event)" },
	{ "ls",      cmd_ls,      UNLOCK,  "List your cases, or a folder of a case" },
	{ "mkdir",   cmd_mkdir,   UNLOCK,  "Create a folder" },
	{ "mv",      cmd_mv,      UNLOCK,  "Move or rename a file or folder" },
	{ "rm",      cmd_rm,      UNLOCK,  "Remove a file or folder (its history stays)" },
	{ "history", cmd_history, UNLOCK,  "List the versions of a file" },
	{ "restore", cmd_restore, UNLOCK,  "Make an old version of a file current again, or a vault from a backup" },
	{ "backup",  cmd_backup,  UNLOCK,  "Back up the vault (a signed snapshot), or verify a backup" },
	{ "compact", cmd_compact, CMD_DIR, N_("Rewrite the vault file without its free pages (offline)") },
	{ "audit",   cmd_audit,   OPEN,    "Show or verify the signed history" },
	{ "mount",   cmd_mount,   UNLOCK | CMD_KEEPPASS | CMD_FUSE, N_("Show your cases as folders (FUSE)") },
	{ "umount",  cmd_umount,  0,       "Unmount a casevault mount" },
	{ "config",  cmd_config,  0,       "Show the settings in use and where each comes from" },
	{ "help",    cmd_help,    0,       "Show this help, or a command's" },
	{ NULL, NULL, 0, NULL }
};

static void usage(FILE *out)
{
	const cli_cmd_spec *c;

	fputs(_("usage: casevault [--vault DIR] [--user NAME] [--passphrase-file FILE] [--restored]\n"
		"                 [-q | -v] COMMAND [ARGS]\n"
		"\n"
		"An encrypted, audit-logged records vault.\n"
		"\n"
		"Commands:\n"), out);
	for (c = cli_cmds; c->name != NULL; c++)
		fprintf(out, "  %-9s %s\n", c->name, _(c->help));
	fputs(_("\n"
		"Options (before or after the command, up to '--'):\n"
		"  --vault DIR             the vault (env CASEVAULT_DIR)\n"
		"  --user NAME             who you are (env CASEVAULT_USER)\n"
		"  --passphrase-file FILE  read your passphrase from FILE instead of the\n"
		"                          terminal (env CASEVAULT_PASSPHRASE_FILE)\n"
		"  --restored              the vault was put back to an older copy on purpose\n"
		"                          (a restore from a backup): accept its history if it\n"
		"                          verifies, as a signed 'rollback-accepted' event\n"
		"  -q, --quiet             errors and warnings only: no notes, no progress bars\n"
		"  -v, --verbose           say which config, vault and user are used, and the\n"
		"                          last event's commit after the command\n"
		"  --help, --version\n"
		"\n"
		"After the command, an option the command has under the same name is the\n"
		"command's: 'audit log --user NAME' lists that user's events. The config\n"
		"file (~/.config/casevault/config) sets the vault, user and passphrase file;\n"
		"options win over the environment, which wins over the config. 'casevault\n"
		"config' shows where each setting comes from.\n"
		"\n"
		"Exit codes: 0 ok, 1 error, 2 usage, 3 integrity failure, 4 access denied,\n"
		"5 authentication failed.\n"
		"\n"
		"Run 'casevault COMMAND --help' for the options of a command.\n"), out);
}

static const cli_cmd_spec *find_command(const char *name)
{
	const cli_cmd_spec *c;

	for (c = cli_cmds; c->name != NULL; c++) {
		if (strcmp(c->name, name) == 0)
			return c;
	}
	return NULL;
}

static int unknown_command(const char *name)
{
	const cli_cmd_spec *c;
	cli_suggest s;

	cli_suggest_init(&s, name, strlen(name));
	for (c = cli_cmds; c->name != NULL; c++)
		cli_suggest_add(&s, c->name);
	return cli_usage_suggest(s.best, "unknown command '%s'", name);
}

/* `casevault help [COMMAND [VERB]]`: the command's own --help. */
static int cmd_help(cli_ctx *ctx, int argc, char **argv)
{
	static char help_opt[] = "--help";
	const cli_cmd_spec *c;
	char **hargv;
	int rc;

	cli_error_command(NULL);
	if (argc < 2 || strcmp(argv[1], "help") == 0 || cli_wants_help(argc, argv)) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if ((c = find_command(argv[1])) == NULL)
		return unknown_command(argv[1]);
	if ((hargv = calloc((size_t) argc + 1, sizeof *hargv)) == NULL)
		return cli_error(CLI_EXIT_ERROR, "free some memory and try again", "out of memory");
	memcpy(hargv, argv + 1, (size_t) (argc - 1) * sizeof *hargv);
	hargv[argc - 1] = help_opt;
	rc = c->fn(ctx, argc, hargv);
	free(hargv);
	return rc;
}

/*
 * Options before the command. On return *cmd_index is the command's
 * index in argv. @return CLI_PARSED, or an exit code.
 */
static int parse_globals(int argc, char **argv, int *cmd_index)
{
	int i, rc;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *arg = argv[i];

		if (strcmp(arg, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			usage(stdout);
			return CLI_EXIT_OK;
		}
		if (strcmp(arg, "--version") == 0) {
			puts("casevault " VAULT_VERSION);
			return CLI_EXIT_OK;
		}
		if ((rc = cli_global_take(argc, argv, &i)) == 0)
			return cli_global_unknown(arg);
		if (rc != CLI_PARSED)
			return rc;
	}
	*cmd_index = i;
	return CLI_PARSED;
}

/*
 * The global options after the command, up to "--", taken out of its argv
 * (argv[0] is the command), except those the command (after its verb, the
 * first argument that is not an option) has under the same name.
 * @return CLI_PARSED, or an exit code
 */
static int globals_after(int *argc, char **argv)
{
	const char *verb = NULL;
	const cli_opt *g;
	int i, n = 1, rc;

	for (i = 1; i < *argc; i++) {
		if (!strcmp(argv[i], "--")) {
			while (i < *argc)
				argv[n++] = argv[i++];
			break;
		}
		if (argv[i][0] != '-' || argv[i][1] == '\0') {
			if (verb == NULL)
				verb = argv[i];
		} else if ((g = cli_global_find(argv[i])) != NULL &&
		    !cli_global_owned(argv[0], verb, g->name)) {
			if ((rc = cli_global_take(*argc, argv, &i)) != CLI_PARSED)
				return rc;
			continue;
		}
		argv[n++] = argv[i];
	}
	argv[n] = NULL;
	*argc = n;
	return CLI_PARSED;
}

static const char *memory_text(char buf[32], uint64_t bytes)
{
	if (bytes % (1u << 20) == 0)
		snprintf(buf, 32, "%llu MiB", (unsigned long long) (bytes >> 20));
	else
		snprintf(buf, 32, "%llu KiB", (unsigned long long) (bytes >> 10));
	return buf;
}

/* A key made with less than the vault's minimum still opens: say so, and
 * how to make it again. */
static void warn_weak_key(cli_ctx *ctx)
{
	vault_kdf_info k;
	char mem[32], min[32];

	if (vault_kdf_status(&k, ctx->v) < 0 || !k.below)
		return;
	fprintf(stderr, "casevault: warning: the key of user '%s' is hashed with %llu passes over %s, "
		"less than the vault's minimum of %llu passes over %s\n"
		"hint: run 'casevault user passwd' to make it again with the current parameters\n",
		ctx->user, (unsigned long long) k.passes, memory_text(mem, k.memory),
		(unsigned long long) k.min_passes, memory_text(min, k.min_memory));
}

/*
 * The first session on a vault made from a backup, or one that accepted a
 * rollback: what is not in it. Recorded by the library as a signed event.
 */
static int say_restored(cli_ctx *ctx)
{
	vault_restored_info ri;
	char when[CLI_TIME_SIZE];

	if (vault_restored_note(&ri, ctx->v) < 0)
		return cli_fail_vault("cannot record that vault '%s' was restored", ctx->dir);
	if (ri.restored)
		fprintf(stderr, "casevault: restored from a backup at event %llu (%.12s, made %s)",
			(unsigned long long) ri.events, ri.head, cli_time_short(when, ri.time));
	else if (ri.seen)
		fprintf(stderr, "casevault: the vault was put back to an older copy");
	if (ri.seen && ri.seen > ri.events && ri.restored)
		fprintf(stderr, "; user '%s' had seen %llu events: the %llu later ones are lost",
			ctx->user, (unsigned long long) ri.seen, (unsigned long long) (ri.seen - ri.events));
	else if (ri.seen)
		fprintf(stderr, "; user '%s' had seen %llu events, and the vault holds fewer",
			ctx->user, (unsigned long long) ri.seen);
	if (!ri.restored && !ri.seen)
		return 0;
	if (ri.witness == 1 && ri.witness_found)
		fprintf(stderr, "; the witness holds %llu later events\n", (unsigned long long) ri.witness_later);
	else if (ri.witness == 1)
		fprintf(stderr, "; the witness does not hold this vault's last event (it is older, "
			"or of another history)\n");
	else if (ri.witness == -1)
		fprintf(stderr, "; the witness could not be read (%s)\n", ri.witness_why);
	else
		fprintf(stderr, "; no witness is set to say what was lost\n");
	fprintf(stderr, "hint: this was recorded as a 'rollback-accepted' event; what was lost since "
		"the backup must be entered again\n");
	return 0;
}

static int unlock(cli_ctx *ctx, cli_secret *pass)
{
	int rc;

	if ((rc = cli_passphrase_get(pass, ctx->passphrase_file, ctx->user)) != 0)
		return rc;
	if ((ctx->restored ? vault_unlock_restored : vault_unlock)(ctx->v, ctx->user, pass->buf, pass->len) < 0)
		return cli_fail_vault("cannot unlock vault '%s' as '%s'", ctx->dir, ctx->user);
	cli_error_role(vault_role(ctx->v));
	warn_weak_key(ctx);
	return say_restored(ctx);
}

/*
 * What a command needs prepared, by the form it is given in: `backup
 * verify` and `restore SNAPSHOT DIR` open what they need themselves (a
 * snapshot, a new vault); `backup DEST` and `restore CODE/PATH --version
 * N` need the vault unlocked.
 */
static unsigned int flags_of(const cli_cmd_spec *cmd, int argc, char **argv)
{
	if (cmd->fn == cmd_backup && argc > 1 && !strcmp(argv[1], "verify"))
		return 0;
	if (cmd->fn == cmd_restore && !cli_has_option(argc, argv, "--version"))
		return 0;
	return cmd->flags;
}

/* What the command's flags ask for, before it runs. @return 0 or an exit code. */
static int prepare(cli_ctx *ctx, unsigned int flags, cli_secret *pass)
{
	if ((flags & CMD_DIR) && ctx->dir == NULL)
		return cli_error(CLI_EXIT_USAGE, "pass --vault DIR, set CASEVAULT_DIR, or set "
			"'vault = DIR' in the config ('casevault config' shows where it is)",
			"no vault given");
	if ((flags & CMD_UNLOCK) && ctx->user == NULL)
		return cli_error(CLI_EXIT_USAGE, "pass --user NAME, set CASEVAULT_USER, or set "
			"'user = NAME' in the config ('casevault config' shows where it is)",
			"no user given");
	if (!(flags & CMD_VAULT))
		return 0;

	cli_error_on(CLI_ON_VAULT, ctx->dir);
	if (vault_open(&ctx->v, ctx->dir) < 0)
		return cli_fail_vault("cannot open vault '%s'", ctx->dir);
	if (flags & CMD_FUSE)
		vault_set_via(ctx->v, VAULT_VIA_FUSE);
	if (flags & CMD_UNLOCK) {
		int rc = unlock(ctx, pass);
		if (rc == 0 && (flags & CMD_KEEPPASS)) {
			ctx->pass = pass->buf;
			ctx->passlen = pass->len;
		}
		return rc;
	}
	return 0;
}

/*
 * After a command of an unlocked user: the vault's own push to its witness,
 * when `witness-every` events went by. A failure is a warning (the event
 * is recorded, nothing is lost), never the command's exit code.
 */
static void push_witness(cli_ctx *ctx)
{
	vault_push_result res;

	if (ctx->v && vault_user(ctx->v) && vault_witness_auto(&res, ctx->v, 0) < 0)
		fprintf(stderr, "casevault: warning: the push to the witness failed: %s\n"
			"hint: it was recorded as a 'witness-failed' event and is tried again after "
			"'witness-every' more events; 'casevault audit push URL' pushes now\n",
			vault_error_last()->message);
}

/* -v: the commit of the command's last event (reads are events too). */
static void say_head(cli_ctx *ctx, const char *before)
{
	char after[VAULT_OID_SIZE];

	if (ctx->v != NULL && vault_head(after, ctx->v) == 0 && strcmp(before, after) != 0)
		cli_note(CLI_VERBOSE, "recorded: the history's head is now %s", after);
}

static int run(cli_ctx *ctx, const cli_cmd_spec *cmd, int argc, char **argv)
{
	cli_secret pass = { NULL, 0 };
	unsigned int flags = flags_of(cmd, argc, argv);
	char before[VAULT_OID_SIZE];
	int rc, verbose;

	cli_error_command(cmd->name);
	/* --help needs no vault: the command prints its usage and returns. */
	if (cli_wants_help(argc, argv))
		return cmd->fn(ctx, argc, argv);
	if ((rc = prepare(ctx, flags, &pass)) != 0)
		goto done;
	if (!(flags & CMD_KEEPPASS))
		cli_secret_dispose(&pass);
	cli_error_on(CLI_ON_NONE, NULL);
	verbose = cli_verbosity() >= CLI_VERBOSE && ctx->v && vault_head(before, ctx->v) == 0;
	rc = cmd->fn(ctx, argc, argv);
	if ((flags & CMD_UNLOCK) && !(flags & CMD_KEEPPASS))
		push_witness(ctx);
	if (verbose)
		say_head(ctx, before);
done:
	vault_close(ctx->v);   /* wipes the keys */
	ctx->v = NULL;
	ctx->pass = NULL;
	cli_secret_dispose(&pass);
	return rc;
}

/*
 * The config file read, the settings chosen (option, environment, config),
 * and the config's mount options added to the command's argv (a copy).
 */
static int configure(cli_ctx *ctx, cli_config **cfg, int *argc, char ***argv)
{
	int rc;

	if ((rc = cli_config_load(cfg)) != 0)
		return rc;
	cli_config_settings(*cfg, ctx);
	ctx->config = *cfg;
	if ((rc = cli_config_mount_args(*cfg, argc, argv)) != 0) {
		free(*argv);
		return rc;
	}
	cli_config_verbose(*cfg);
	return 0;
}

/*
 * A closed stdin, stdout or stderr would be the next file we open: a vault
 * file, into which `get` would then write plaintext. Fill the gaps with
 * /dev/null first, as OpenSSH's sanitise_stdfd() does.
 */
static int sanitise_stdfd(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= STDERR_FILENO)
		;
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct rlimit no_core = { 0, 0 };
	cli_ctx ctx = { NULL, NULL, NULL, 0, NULL, NULL, 0, NULL };
	int quiet = 0, verbose = 0;
	const cli_opt globals[] = {
		{ "vault", 0, NULL, &ctx.dir },
		{ "user", 0, NULL, &ctx.user },
		{ "passphrase-file", 0, NULL, &ctx.passphrase_file },
		{ "restored", 0, &ctx.restored, NULL },
		{ "quiet", 'q', &quiet, NULL },
		{ "verbose", 'v', &verbose, NULL },
		{ NULL, 0, NULL, NULL }
	};
	const cli_cmd_spec *cmd;
	cli_config *cfg = NULL;
	int rc, i = argc;

	cli_i18n_init();
	if (sanitise_stdfd() < 0)
		return cli_error_os("check that /dev/null exists", "cannot open /dev/null");
	/* This process will hold keys: no core dumps, no ptrace by other processes of the user. */
	if (prctl(PR_SET_DUMPABLE, 0) != 0 || setrlimit(RLIMIT_CORE, &no_core) != 0)
		return cli_error_os("report this: casevault refuses to run without it",
			"cannot disable core dumps");
	if (vault_global_init() < 0)
		return cli_fail_vault("cannot initialise the crypto libraries");
	/* A damaged vault file: exit 3 with a message, never a signal. */
	if (vault_guard_damage("casevault", NULL) < 0)
		return cli_fail_vault("cannot guard against a damaged vault file");
	if (vault_kdf_check_profile() < 0)
		return cli_error(CLI_EXIT_USAGE, "unset CASEVAULT_KDF; the weak profile 'test' is only in "
			"test builds (cmake -DCASEVAULT_TEST_KDF=ON), for test suites", "%s",
			vault_error_last()->message);

	cli_globals_set(globals);
	if ((rc = parse_globals(argc, argv, &i)) != CLI_PARSED)
		return rc;
	if (i >= argc)
		return cli_usage_error("no command given");
	if ((cmd = find_command(argv[i])) == NULL)
		return unknown_command(argv[i]);
	argc -= i;
	argv += i;
	if ((rc = globals_after(&argc, argv)) != CLI_PARSED)
		return rc;
	if (quiet && verbose)
		return cli_usage_error("-q and -v together: choose one");
	cli_set_verbosity(quiet ? CLI_QUIET : verbose ? CLI_VERBOSE : CLI_NORMAL);

	/* `help` needs no config: it must work when the config is bad. */
	if (cmd->fn != cmd_help && (rc = configure(&ctx, &cfg, &argc, &argv)) != 0) {
		cli_config_free(cfg);
		return rc;
	}
	rc = run(&ctx, cmd, argc, argv);
	if (cfg != NULL)
		free(argv);   /* the copy configure() made */
	cli_config_free(cfg);

	/* Listings go through stdio: a full disk shows only now. */
	if (rc == CLI_EXIT_OK && (fflush(stdout) != 0 || ferror(stdout)))
		rc = cli_error_os("check where the output goes (a full disk, a closed pipe)",
			"cannot write to standard output");
	return rc;
}
