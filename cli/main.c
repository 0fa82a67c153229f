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
	{ "user",    cmd_user,    UNLOCK,  N_("Add, list or disable users; change your passphrase") },
	{ "enrol",   cmd_enrol,   OPEN,    N_("Make your key pair with the code an admin gave you") },
	{ "case",    cmd_case,    UNLOCK,  N_("Create and list cases; grant or revoke members") },
	{ "purpose", cmd_purpose, UNLOCK,  N_("Manage the purposes of access given when reading") },
	{ "recovery", cmd_recovery, UNLOCK, N_("Recover a case whose members are gone (M of N custodians)") },
	{ "settings", cmd_settings, UNLOCK, N_("Show or change the vault's settings (anomaly thresholds)") },
	{ "put",     cmd_put,     UNLOCK,  N_("Store a file as a new version") },
	{ "get",     cmd_get,     UNLOCK,  N_("Read a file (recorded as a read event)") },
	{ "ls",      cmd_ls,      UNLOCK,  N_("List your cases, or a folder of a case") },
	{ "mkdir",   cmd_mkdir,   UNLOCK,  N_("Create a folder") },
	{ "mv",      cmd_mv,      UNLOCK,  N_("Move or rename a file or folder") },
	{ "rm",      cmd_rm,      UNLOCK,  N_("Remove a file or folder (its history stays)") },
	{ "history", cmd_history, UNLOCK,  N_("List the versions of a file") },
	{ "restore", cmd_restore, UNLOCK,  N_("Make an old version of a file current again, or a vault from a backup") },
	{ "backup",  cmd_backup,  UNLOCK,  N_("Back up the vault (a signed snapshot), or verify a backup") },
	{ "compact", cmd_compact, CMD_DIR, N_("Rewrite the vault file without its free pages (offline)") },
	{ "audit",   cmd_audit,   OPEN,    N_("Show or verify the signed history") },
	{ "mount",   cmd_mount,   UNLOCK | CMD_KEEPPASS, N_("Show your cases as folders (FUSE)") },
	{ "umount",  cmd_umount,  0,       N_("Unmount a casevault mount") },
	{ "help",    cmd_help,    0,       N_("Show this help, or a command's") },
	{ NULL, NULL, 0, NULL }
};

static void usage(FILE *out)
{
	const cli_cmd_spec *c;

	fputs(_("usage: casevault [--vault DIR] [--user NAME] [--passphrase-file FILE] [--restored]\n"
		"                 COMMAND [ARGS]\n"
		"\n"
		"An encrypted, audit-logged records vault.\n"
		"\n"
		"Commands:\n"), out);
	for (c = cli_cmds; c->name != NULL; c++)
		fprintf(out, "  %-9s %s\n", c->name, _(c->help));
	fputs(_("\n"
		"Options (before the command):\n"
		"  --vault DIR             the vault (env CASEVAULT_DIR)\n"
		"  --user NAME             who you are (env CASEVAULT_USER)\n"
		"  --passphrase-file FILE  read your passphrase from FILE instead of the\n"
		"                          terminal (env CASEVAULT_PASSPHRASE_FILE)\n"
		"  --restored              the vault was put back to an older copy on purpose\n"
		"                          (a restore from a backup): accept its history if it\n"
		"                          verifies, as a signed 'rollback-accepted' event\n"
		"  --help, --version\n"
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
		return cli_usage_error("unknown command '%s'", argv[1]);
	if ((hargv = calloc((size_t) argc + 1, sizeof *hargv)) == NULL)
		return cli_error(CLI_EXIT_ERROR, "free some memory and try again", "out of memory");
	memcpy(hargv, argv + 1, (size_t) (argc - 1) * sizeof *hargv);
	hargv[argc - 1] = help_opt;
	rc = c->fn(ctx, argc, hargv);
	free(hargv);
	return rc;
}

/* "--name VALUE" or "--name=VALUE": 1 if argv[*i] is this option, 0 if not, or an exit code < 0. */
static int global_value(const char **out, const char *name, int argc, char **argv, int *i)
{
	const char *arg = argv[*i];
	size_t len = strlen(name);

	if (strncmp(arg, name, len) != 0 || (arg[len] != '\0' && arg[len] != '='))
		return 0;
	if (arg[len] == '=') {
		*out = arg + len + 1;
	} else if (*i + 1 < argc) {
		*out = argv[++*i];
	} else {
		cli_usage_error("option '%s' needs a value", name);
		return -1;
	}
	return 1;
}

/*
 * Options before the command. On return *cmd_index is the command's
 * index in argv. @return CLI_PARSED, or an exit code.
 */
static int parse_globals(cli_ctx *ctx, int argc, char **argv, int *cmd_index)
{
	int i, n;

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
		if (strcmp(arg, "--restored") == 0) {
			ctx->restored = 1;
			continue;
		}
		if ((n = global_value(&ctx->dir, "--vault", argc, argv, &i)) == 0 &&
		    (n = global_value(&ctx->user, "--user", argc, argv, &i)) == 0 &&
		    (n = global_value(&ctx->passphrase_file, "--passphrase-file", argc, argv, &i)) == 0)
			return cli_usage_error("unknown option '%.*s'",
				(int) strcspn(arg, "="), arg);
		if (n < 0)
			return CLI_EXIT_USAGE;
	}
	*cmd_index = i;
	return CLI_PARSED;
}

/* An option given wins over the environment; an empty value counts as none. */
static const char *setting(const char *given, const char *env)
{
	const char *s = given != NULL ? given : getenv(env);

	return s != NULL && *s != '\0' ? s : NULL;
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

/* An argument given as "--name" or "--name=VALUE". */
static int has_option(int argc, char **argv, const char *name)
{
	size_t len = strlen(name);

	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strncmp(argv[i], name, len) && (argv[i][len] == '\0' || argv[i][len] == '='))
			return 1;
	return 0;
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
	if (cmd->fn == cmd_restore && !has_option(argc, argv, "--version"))
		return 0;
	return cmd->flags;
}

/* What the command's flags ask for, before it runs. @return 0 or an exit code. */
static int prepare(cli_ctx *ctx, unsigned int flags, cli_secret *pass)
{
	if ((flags & CMD_DIR) && ctx->dir == NULL)
		return cli_error(CLI_EXIT_USAGE, "pass --vault DIR or set CASEVAULT_DIR",
			"no vault given");
	if ((flags & CMD_UNLOCK) && ctx->user == NULL)
		return cli_error(CLI_EXIT_USAGE, "pass --user NAME or set CASEVAULT_USER",
			"no user given");
	if (!(flags & CMD_VAULT))
		return 0;

	cli_error_on(CLI_ON_VAULT, ctx->dir);
	if (vault_open(&ctx->v, ctx->dir) < 0)
		return cli_fail_vault("cannot open vault '%s'", ctx->dir);
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

static int run(cli_ctx *ctx, const cli_cmd_spec *cmd, int argc, char **argv)
{
	cli_secret pass = { NULL, 0 };
	unsigned int flags = flags_of(cmd, argc, argv);
	int rc;

	cli_error_command(cmd->name);
	/* --help needs no vault: the command prints its usage and returns. */
	if (cli_wants_help(argc, argv))
		return cmd->fn(ctx, argc, argv);
	if ((rc = prepare(ctx, flags, &pass)) != 0)
		goto done;
	if (!(flags & CMD_KEEPPASS))
		cli_secret_dispose(&pass);
	cli_error_on(CLI_ON_NONE, NULL);
	rc = cmd->fn(ctx, argc, argv);
	if ((flags & CMD_UNLOCK) && !(flags & CMD_KEEPPASS))
		push_witness(ctx);
done:
	vault_close(ctx->v);   /* wipes the keys */
	ctx->v = NULL;
	ctx->pass = NULL;
	cli_secret_dispose(&pass);
	return rc;
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
	cli_ctx ctx = { NULL, NULL, NULL, 0, NULL, NULL, 0 };
	const cli_cmd_spec *cmd;
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

	if ((rc = parse_globals(&ctx, argc, argv, &i)) != CLI_PARSED)
		return rc;
	if (i >= argc)
		return cli_usage_error("no command given");
	if ((cmd = find_command(argv[i])) == NULL)
		return cli_usage_error("unknown command '%s'", argv[i]);

	ctx.dir = setting(ctx.dir, "CASEVAULT_DIR");
	ctx.user = setting(ctx.user, "CASEVAULT_USER");
	ctx.passphrase_file = setting(ctx.passphrase_file, "CASEVAULT_PASSPHRASE_FILE");

	rc = run(&ctx, cmd, argc - i, argv + i);

	/* Listings go through stdio: a full disk shows only now. */
	if (rc == CLI_EXIT_OK && (fflush(stdout) != 0 || ferror(stdout)))
		rc = cli_error_os("check where the output goes (a full disk, a closed pipe)",
			"cannot write to standard output");
	return rc;
}
