/*
 * casevault CLI — the config file, and where each setting comes from.
 *
 * $XDG_CONFIG_HOME/casevault/config (~/.config/casevault/config):
 *
 *	# a comment
 *	vault = /srv/vault
 *	user = alice
 *	passphrase-file = ~/.config/casevault/alice.pass
 *
 *	[vault /srv/vault]
 *	mountpoint = ~/Cases
 *	purpose = casework
 *	idle = 15m
 *	read-only = no
 *
 * One `key = value` a line; a `[vault DIR]` section holds what applies
 * when that vault is the one in use: its user and passphrase file, and its
 * mount's options. An option wins over the environment, which wins over
 * the section, which wins over the lines before any section.
 *
 * The file is not secret, but whoever can change it chooses the vault you
 * type into: as ssh does with ~/.ssh/config, a file others can write is
 * refused. A passphrase is refused in it: a file of its own (mode 600),
 * named by passphrase-file, holds it.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"

#define CONFIG_MAX   (64 * 1024)   /* bytes: a config is a few lines */
#define SECTIONS_MAX 32

enum { K_VAULT, K_USER, K_PASSFILE, K_MOUNTPOINT, K_IDLE, K_PURPOSE, K_READONLY, K_COUNT };

#define AT_TOP     1u   /* before any section */
#define AT_SECTION 2u   /* in a [vault DIR] section */

enum { V_TEXT, V_PATH, V_BOOL };

/*
 * The keys. Those with a mount option are given to `casevault mount` as
 * that option when its command line does not give it.
 */
static const struct {
	const char *name;
	unsigned int where;
	int kind;
	const char *env;            /* the environment variable that wins over it */
	const char *mount_option;   /* "--purpose", or NULL */
} keys[K_COUNT] = {
	[K_VAULT]      = { "vault", AT_TOP, V_PATH, "CASEVAULT_DIR", NULL },
	[K_USER]       = { "user", AT_TOP | AT_SECTION, V_TEXT, "CASEVAULT_USER", NULL },
	[K_PASSFILE]   = { "passphrase-file", AT_TOP | AT_SECTION, V_PATH, "CASEVAULT_PASSPHRASE_FILE", NULL },
	[K_MOUNTPOINT] = { "mountpoint", AT_SECTION, V_PATH, NULL, NULL },
	[K_IDLE]       = { "idle", AT_SECTION, V_TEXT, NULL, "--idle" },
	[K_PURPOSE]    = { "purpose", AT_SECTION, V_TEXT, NULL, "--purpose" },
	[K_READONLY]   = { "read-only", AT_SECTION, V_BOOL, NULL, "--read-only" },
};

/* Names a secret would go under: refused, whatever the spelling. */
static const char *const secret_keys[] = {
	"pass", "passwd", "secret", "key", "code", NULL
};

typedef struct {
	const char *value;     /* NULL: not set here */
	unsigned int line;
} entry;

typedef struct {
	const char *dir;       /* as written, ~ expanded */
	unsigned int line;
	entry e[K_COUNT];
} section;

typedef enum { FROM_NONE, FROM_OPTION, FROM_ENV, FROM_CONFIG } from_t;

typedef struct {
	const char *value;
	from_t from;
	unsigned int line;     /* FROM_CONFIG */
	const section *in;     /* FROM_CONFIG: NULL before any section */
} setting;

struct alloc {
	struct alloc *next;
	char s[];
};

struct cli_config {
	char path[PATH_MAX];
	int found;
	char *text;
	struct alloc *allocs;   /* expanded paths */
	entry top[K_COUNT];
	section sect[SECTIONS_MAX];
	size_t nsect;
	const section *current;   /* the section of the vault in use */
	setting set[K_COUNT];
};

/* ---- the file ------------------------------------------------------------ */

static const char *home_dir(void)
{
	const char *home = getenv("HOME");
	struct passwd *pw;

	if (home != NULL && home[0] == '/')
		return home;
	pw = getpwuid(getuid());
	return pw != NULL && pw->pw_dir != NULL ? pw->pw_dir : NULL;
}

/* XDG: an XDG_CONFIG_HOME that is not absolute is ignored. */
static int config_path(char out[PATH_MAX])
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home;
	int n;

	if (xdg != NULL && xdg[0] == '/')
		n = snprintf(out, PATH_MAX, "%s/casevault/config", xdg);
	else if ((home = home_dir()) != NULL)
		n = snprintf(out, PATH_MAX, "%s/.config/casevault/config", home);
	else
		return -1;
	return n > 0 && n < PATH_MAX ? 0 : -1;
}

/* "~/x" for a path under the home directory, for people to read. */
static const char *show_path(char out[PATH_MAX], const char *path)
{
	const char *home = home_dir();
	size_t len = home ? strlen(home) : 0;

	if (len > 1 && strncmp(path, home, len) == 0 && path[len] == '/')
		snprintf(out, PATH_MAX, "~%s", path + len);
	else
		snprintf(out, PATH_MAX, "%s", path);
	return out;
}

/* "config FILE:LINE: what is wrong", what is wrong a whole sentence
 * (po/make-pot.sh extracts `fmt` and `hint`). */
static int config_error(const cli_config *cfg, unsigned int line, const char *hint,
	const char *fmt, ...) VAULT_PRINTF(4, 5);

static int config_error(const cli_config *cfg, unsigned int line, const char *hint,
	const char *fmt, ...)
{
	char shown[PATH_MAX], what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, _(fmt), ap);
	va_end(ap);
	return cli_error(CLI_EXIT_USAGE, hint, "config %s:%u: %s", show_path(shown, cfg->path), line, what);
}

/*
 * Owned by the user (or root) and writable by no one else, as ssh wants
 * of its config. @return 0, or an exit code
 */
static int check_owner(const cli_config *cfg, int fd)
{
	char shown[PATH_MAX], hint[PATH_MAX + 40];
	struct stat st;

	if (fstat(fd, &st) < 0)
		return cli_error_os("check the config file", "cannot read config '%s'", cfg->path);
	show_path(shown, cfg->path);
	if (!S_ISREG(st.st_mode))
		return cli_error(CLI_EXIT_USAGE, "make it a plain file, or remove it",
			"config '%s' is not a regular file", shown);
	if (st.st_uid != geteuid() && st.st_uid != 0)
		return cli_error(CLI_EXIT_USAGE, "use a file of your own (chown it, or write a new one)",
			"config '%s' belongs to another user (uid %u): they could choose your vault",
			shown, (unsigned) st.st_uid);
	if (st.st_mode & 022) {
		snprintf(hint, sizeof hint, "chmod go-w '%s'", shown);
		return cli_error(CLI_EXIT_USAGE, hint,
			"config '%s' can be changed by others (mode %04o): they could choose your vault",
			shown, (unsigned) (st.st_mode & 07777));
	}
	return 0;
}

/* The whole file, NUL-terminated, in cfg->text; none is no error. */
static int read_config(cli_config *cfg)
{
	ssize_t n;
	size_t len = 0;
	int fd, rc;

	if ((fd = open(cfg->path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return cli_error_os("check the config file's permissions", "cannot open config '%s'",
			cfg->path);
	}
	if ((rc = check_owner(cfg, fd)) != 0 || (cfg->text = malloc(CONFIG_MAX + 1)) == NULL) {
		close(fd);
		return rc ? rc : cli_error(CLI_EXIT_ERROR, "free some memory and try again", "out of memory");
	}
	while ((n = read(fd, cfg->text + len, CONFIG_MAX + 1 - len)) > 0 && len + (size_t) n <= CONFIG_MAX)
		len += (size_t) n;
	close(fd);
	if (n < 0)
		return cli_error_os("check the config file", "cannot read config '%s'", cfg->path);
	if (n > 0)
		return cli_error(CLI_EXIT_USAGE, "a config holds a few lines: check the file",
			"config '%s' is larger than %d KiB", cfg->path, CONFIG_MAX / 1024);
	cfg->text[len] = '\0';
	if (memchr(cfg->text, '\0', len) != NULL)
		return config_error(cfg, 1, "a config is text: check the file", "a NUL byte in the file");
	cfg->found = 1;
	return 0;
}

/* ---- lines --------------------------------------------------------------- */

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

/* "~/x" as $HOME/x; a path must be absolute. NULL after the error. */
static const char *expand(cli_config *cfg, unsigned int line, const char *path, int *rc)
{
	const char *home;
	struct alloc *a;
	size_t len;

	if (path[0] == '/')
		return path;
	if (strncmp(path, "~/", 2) != 0 || (home = home_dir()) == NULL) {
		*rc = config_error(cfg, line, "write the path from / or ~/", "not an absolute path:");
		return NULL;
	}
	len = strlen(home) + strlen(path);
	if ((a = malloc(sizeof *a + len)) == NULL) {
		*rc = cli_error(CLI_EXIT_ERROR, "free some memory and try again", "out of memory");
		return NULL;
	}
	snprintf(a->s, len, "%s%s", home, path + 1);
	a->next = cfg->allocs;
	cfg->allocs = a;
	return a->s;
}

static int is_secret_key(const char *key)
{
	if (!strcmp(key, "passphrase-file"))
		return 0;
	if (strstr(key, "passphrase") != NULL || strstr(key, "password") != NULL)
		return 1;
	for (size_t k = 0; secret_keys[k] != NULL; k++)
		if (!strcmp(key, secret_keys[k]))
			return 1;
	return 0;
}

static int find_key(const char *key)
{
	for (int k = 0; k < K_COUNT; k++)
		if (!strcmp(keys[k].name, key))
			return k;
	return -1;
}

static int unknown_key(const cli_config *cfg, unsigned int line, const char *key)
{
	const char *hint = _("the keys are vault, user, passphrase-file, and in a "
		"[vault DIR] section user, passphrase-file, mountpoint, idle, purpose, read-only");
	char best[256];
	cli_suggest s;

	cli_suggest_init(&s, key, strlen(key));
	for (int k = 0; k < K_COUNT; k++)
		cli_suggest_add(&s, keys[k].name);
	if (s.best != NULL) {
		snprintf(best, sizeof best, _("did you mean '%s'?"), s.best);
		hint = best;
	}
	return config_error(cfg, line, hint, "unknown key '%s'", key);
}

/* "[vault DIR]" */
static int parse_section(cli_config *cfg, unsigned int line, char *s)
{
	section *sec;
	const char *dir;
	char *end = s + strlen(s) - 1, hint[128];
	int rc = 0;

	if (*end != ']' || strncmp(s, "[vault", 6) != 0 || (s[6] != ' ' && s[6] != '\t'))
		return config_error(cfg, line, "a section is written '[vault DIR]'", "not a section");
	*end = '\0';
	s = trim(s + 6);
	if (*s == '\0')
		return config_error(cfg, line, "a section is written '[vault DIR]'",
			"a section without its vault");
	if (cfg->nsect == SECTIONS_MAX) {
		snprintf(hint, sizeof hint, _("keep to %d vaults"), SECTIONS_MAX);
		return config_error(cfg, line, hint, "too many sections");
	}
	if ((dir = expand(cfg, line, s, &rc)) == NULL)
		return rc;
	sec = &cfg->sect[cfg->nsect++];
	memset(sec, 0, sizeof *sec);
	sec->dir = dir;
	sec->line = line;
	return 0;
}

static int parse_value(cli_config *cfg, unsigned int line, int k, const char **value)
{
	int rc = 0;

	if (**value == '\0')
		return config_error(cfg, line, "give it a value, or remove the line", "no value for '%s'",
			keys[k].name);
	if (keys[k].kind == V_PATH && (*value = expand(cfg, line, *value, &rc)) == NULL)
		return rc;
	if (keys[k].kind == V_BOOL && strcmp(*value, "yes") && strcmp(*value, "no") &&
	    strcmp(*value, "true") && strcmp(*value, "false"))
		return config_error(cfg, line, "write yes or no", "not yes or no: '%s'", keys[k].name);
	return 0;
}

/* "key = value", at the top or in the last section. */
static int parse_pair(cli_config *cfg, unsigned int line, char *s)
{
	char *eq = strchr(s, '='), *key, hint[256];
	const char *value;
	section *sec = cfg->nsect ? &cfg->sect[cfg->nsect - 1] : NULL;
	entry *e;
	int k, rc;

	if (eq == NULL)
		return config_error(cfg, line, "write 'key = value', '[vault DIR]' or a '#' comment",
			"not a setting");
	*eq = '\0';
	key = trim(s);
	value = trim(eq + 1);
	if (is_secret_key(key))
		return config_error(cfg, line, "never write a passphrase into the config: put it in a "
			"file of mode 600 and set 'passphrase-file = FILE'", "a passphrase in the config: '%s'", key);
	if ((k = find_key(key)) < 0)
		return unknown_key(cfg, line, key);
	if (!(keys[k].where & AT_SECTION) && sec)
		return config_error(cfg, line, "set it before the first [vault DIR] section",
			"not a key of a section: '%s'", key);
	if (!(keys[k].where & AT_TOP) && !sec)
		return config_error(cfg, line, "set it in a [vault DIR] section",
			"only in a [vault DIR] section: '%s'", key);
	e = sec ? &sec->e[k] : &cfg->top[k];
	if (e->value != NULL) {
		snprintf(hint, sizeof hint, _("keep one of the two lines (the first is line %u)"), e->line);
		return config_error(cfg, line, hint, "set twice: '%s'", key);
	}
	if ((rc = parse_value(cfg, line, k, &value)) != 0)
		return rc;
	e->value = value;
	e->line = line;
	return 0;
}

static int parse(cli_config *cfg)
{
	char *s = cfg->text, *next;
	unsigned int line;
	int rc;

	for (line = 1; s != NULL && *s != '\0'; line++, s = next) {
		if ((next = strchr(s, '\n')) != NULL)
			*next++ = '\0';
		s = trim(s);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if ((rc = (*s == '[' ? parse_section : parse_pair)(cfg, line, s)) != 0)
			return rc;
	}
	return 0;
}

int cli_config_load(cli_config **out)
{
	cli_config *cfg;
	int rc;

	*out = NULL;
	if ((cfg = calloc(1, sizeof *cfg)) == NULL)
		return cli_error(CLI_EXIT_ERROR, "free some memory and try again", "out of memory");
	*out = cfg;
	if (config_path(cfg->path) < 0)
		return 0;   /* no home: no config */
	if ((rc = read_config(cfg)) != 0 || !cfg->found)
		return rc;
	return parse(cfg);
}

void cli_config_free(cli_config *cfg)
{
	struct alloc *a;

	if (cfg == NULL)
		return;
	while ((a = cfg->allocs) != NULL) {
		cfg->allocs = a->next;
		free(a);
	}
	free(cfg->text);
	free(cfg);
}

/* ---- settings ------------------------------------------------------------ */

/* Are the two the same directory? By their real paths when they exist. */
static int same_dir(const char *a, const char *b)
{
	char ra[PATH_MAX], rb[PATH_MAX];

	if (realpath(a, ra) != NULL && realpath(b, rb) != NULL)
		return strcmp(ra, rb) == 0;
	return strcmp(a, b) == 0;
}

static void select_section(cli_config *cfg, const char *dir)
{
	cfg->current = NULL;
	for (size_t i = 0; dir != NULL && i < cfg->nsect; i++)
		if (same_dir(cfg->sect[i].dir, dir)) {
			cfg->current = &cfg->sect[i];
			return;
		}
}

/* The key's line in the config: the vault's section first, then the top. */
static void from_config(cli_config *cfg, int k, setting *s)
{
	const entry *e = NULL;

	if (cfg->current != NULL && cfg->current->e[k].value != NULL)
		e = &cfg->current->e[k];
	else if (cfg->top[k].value != NULL)
		e = &cfg->top[k];
	if (e == NULL)
		return;
	s->value = e->value;
	s->from = FROM_CONFIG;
	s->line = e->line;
	s->in = e == &cfg->top[k] ? NULL : cfg->current;
}

/* An empty value counts as none. */
static const char *resolve(cli_config *cfg, int k, const char *given)
{
	setting *s = &cfg->set[k];
	const char *env = keys[k].env ? getenv(keys[k].env) : NULL;

	memset(s, 0, sizeof *s);
	if (given != NULL && *given != '\0') {
		s->value = given;
		s->from = FROM_OPTION;
	} else if (env != NULL && *env != '\0') {
		s->value = env;
		s->from = FROM_ENV;
	} else {
		from_config(cfg, k, s);
	}
	if (k == K_VAULT)
		select_section(cfg, s->value);
	return s->value;
}

void cli_config_settings(cli_config *cfg, cli_ctx *ctx)
{
	ctx->dir = resolve(cfg, K_VAULT, ctx->dir);
	ctx->user = resolve(cfg, K_USER, ctx->user);
	ctx->passphrase_file = resolve(cfg, K_PASSFILE, ctx->passphrase_file);
	for (int k = K_MOUNTPOINT; k < K_COUNT; k++)
		resolve(cfg, k, NULL);
}

/* "option", "environment CASEVAULT_USER", "config ~/.config/casevault/config:3" */
static const char *origin(char *buf, size_t size, const cli_config *cfg, int k)
{
	const setting *s = &cfg->set[k];
	char shown[PATH_MAX];

	switch (s->from) {
	case FROM_OPTION:
		return "option";
	case FROM_ENV:
		snprintf(buf, size, "environment %s", keys[k].env);
		return buf;
	case FROM_CONFIG:
		snprintf(buf, size, "config %s:%u", show_path(shown, cfg->path), s->line);
		return buf;
	default:
		return "not set";
	}
}

void cli_config_verbose(const cli_config *cfg)
{
	char a[PATH_MAX + 32], b[PATH_MAX + 32], shown[PATH_MAX];

	if (cli_verbosity() < CLI_VERBOSE)
		return;
	if (cfg->found)
		cli_note(CLI_VERBOSE, "config %s", show_path(shown, cfg->path));
	else
		cli_note(CLI_VERBOSE, "config %s (none)", show_path(shown, cfg->path));
	cli_note(CLI_VERBOSE, "vault %s (%s), user %s (%s)",
		cfg->set[K_VAULT].value ? cfg->set[K_VAULT].value : "-", origin(a, sizeof a, cfg, K_VAULT),
		cfg->set[K_USER].value ? cfg->set[K_USER].value : "-", origin(b, sizeof b, cfg, K_USER));
}

/* ---- the mount's options -------------------------------------------------- */

/* Does argv hold an argument that is not an option nor an option's value? */
static int has_positional(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		int k;

		if (!strcmp(argv[i], "--"))
			return i + 1 < argc;
		if (argv[i][0] != '-')
			return 1;
		for (k = 0; k < K_COUNT; k++)
			if (keys[k].mount_option && keys[k].kind != V_BOOL &&
			    !strcmp(argv[i], keys[k].mount_option))
				i++;
	}
	return 0;
}

static int append(char ***argv, int *argc, const char *arg)
{
	char **n = realloc(*argv, ((size_t) *argc + 2) * sizeof *n);

	if (n == NULL)
		return cli_error(CLI_EXIT_ERROR, "free some memory and try again", "out of memory");
	n[(*argc)++] = (char *) arg;
	n[*argc] = NULL;
	*argv = n;
	return 0;
}

/* The config's options for the mount, after those of its command line. */
static int add_mount_options(const cli_config *cfg, char ***args, int *n, int argc, char **argv)
{
	int rc = 0;

	for (int k = 0; k < K_COUNT && rc == 0; k++) {
		const char *value = cfg->set[k].value;

		if (!keys[k].mount_option || value == NULL || cli_has_option(argc, argv, keys[k].mount_option))
			continue;
		if (keys[k].kind != V_BOOL)
			rc = append(args, n, keys[k].mount_option) || append(args, n, value);
		else if (!strcmp(value, "yes") || !strcmp(value, "true"))
			rc = append(args, n, keys[k].mount_option);
	}
	return rc ? CLI_EXIT_ERROR : 0;
}

int cli_config_mount_args(const cli_config *cfg, int *argc, char ***argv)
{
	char **args;
	int n, rc = 0;

	if ((args = malloc(((size_t) *argc + 1) * sizeof *args)) == NULL)
		return cli_error(CLI_EXIT_ERROR, "free some memory and try again", "out of memory");
	for (n = 0; n < *argc; n++)
		args[n] = (*argv)[n];
	args[n] = NULL;
	if (!strcmp(args[0], "mount"))
		rc = add_mount_options(cfg, &args, &n, *argc, *argv);
	/* `mount` and `umount` without DIR: the mountpoint of the config. */
	if (rc == 0 && (!strcmp(args[0], "mount") || !strcmp(args[0], "umount")) &&
	    cfg->set[K_MOUNTPOINT].value != NULL && !has_positional(*argc, *argv))
		rc = append(&args, &n, cfg->set[K_MOUNTPOINT].value);
	*argc = n;
	*argv = args;   /* the caller frees it */
	return rc;
}

/* ---- casevault config ---------------------------------------------------- */

static const char config_usage[] =
	"usage: casevault config\n"
	"\n"
	"Show the settings in use and where each comes from: an option, the\n"
	"environment, or the config file and its line. Options win over the\n"
	"environment, which wins over the config. The config is\n"
	"$XDG_CONFIG_HOME/casevault/config (~/.config/casevault/config); see the\n"
	"README for its keys. Needs no passphrase.\n";

int cmd_config(cli_ctx *ctx, int argc, char **argv)
{
	const cli_syntax syn = { "config", config_usage, NULL, 0, 0 };
	const cli_config *cfg = ctx->config;
	char from[PATH_MAX + 64], shown[PATH_MAX];
	int rc;

	if ((rc = cli_parse(&syn, argc, argv, NULL)) != CLI_PARSED)
		return rc;
	if (cfg == NULL)
		return 0;
	printf("%-16s %s  (%s)\n", "config", show_path(shown, cfg->path),
		cfg->found ? "read" : "none: not there");
	for (int k = 0; k < K_COUNT; k++) {
		const setting *s = &cfg->set[k];

		printf("%-16s ", keys[k].name);
		cli_print_text(stdout, s->value ? s->value : "-");
		printf("  (%s", origin(from, sizeof from, cfg, k));
		if (s->from == FROM_CONFIG && s->in != NULL)
			printf(", [vault %s]", show_path(shown, s->in->dir));
		if (s->from == FROM_CONFIG && keys[k].mount_option)
			printf(", given to mount as %s", keys[k].mount_option);
		printf(")\n");
	}
	return 0;
}
