/*
 * casevault CLI — what the command files share.
 *
 * Adding a new command
 * --------------------
 *  1. cli/cmd_<name>.c: `int cmd_<name>(cli_ctx *ctx, int argc, char **argv)`
 *     with its usage text and cli_opt table, parsed by cli_parse(). Nested
 *     verbs (`user add`) get a cli_subcmd table and cli_dispatch().
 *  2. cli/cmd.h (this file): declare cmd_<name>() below.
 *  3. cli/main.c: add a row to cli_cmds[]: the name, the function, the
 *     CMD_* flags (what main() prepares: the vault opened, a user
 *     unlocked) and one line of help.
 *  4. tests/cli/t_<name>.sh: a scenario test; failures and exit codes first.
 *  5. docs/ and the README: the command, its output and its exit codes.
 *
 * Commands call only the public API ("vault.h"): never LMDB, libsodium or
 * libgit2.
 */
#ifndef CLI_CMD_H
#define CLI_CMD_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "vault.h"
#include "error.h"

/* ---- the command table --------------------------------------------------- */

#define CMD_DIR    (1u << 0)   /* needs --vault DIR */
#define CMD_VAULT  (1u << 1)   /* main() opens the vault (locked) */
#define CMD_UNLOCK (1u << 2)   /* ... and unlocks --user with a passphrase */
#define CMD_KEEPPASS (1u << 3) /* ... and keeps it in ctx->pass for the command
                                  (the mount unlocks again once detached) */
#define CMD_FUSE   (1u << 4)   /* the mount's session: what its unlock records
                                  (a recovery grant finished) is `via fuse` */

typedef struct cli_config cli_config;

typedef struct {
	const char *dir;              /* --vault DIR, CASEVAULT_DIR or the config */
	const char *user;             /* --user NAME or CASEVAULT_USER */
	const char *passphrase_file;  /* --passphrase-file FILE or CASEVAULT_PASSPHRASE_FILE */
	int restored;                 /* --restored: accept a history put back to an older copy */
	vault *v;                     /* prepared per the flags; NULL under --help */
	char *pass;             /* with CMD_KEEPPASS: the passphrase, wiped after */
	size_t passlen;
	const cli_config *config;     /* the config file and where each setting came from */
} cli_ctx;

typedef int (*cli_cmd_fn)(cli_ctx *ctx, int argc, char **argv);

typedef struct {
	const char *name;
	cli_cmd_fn fn;
	unsigned int flags;           /* CMD_* */
	const char *help;             /* one line for `casevault --help` */
} cli_cmd_spec;

/* Every command gets its argv from its own name on: argv[0] is "put". */
int cmd_enrol(cli_ctx *ctx, int argc, char **argv);
int cmd_init(cli_ctx *ctx, int argc, char **argv);
int cmd_user(cli_ctx *ctx, int argc, char **argv);
int cmd_case(cli_ctx *ctx, int argc, char **argv);
int cmd_recovery(cli_ctx *ctx, int argc, char **argv);
int cmd_purpose(cli_ctx *ctx, int argc, char **argv);
int cmd_settings(cli_ctx *ctx, int argc, char **argv);
int cmd_put(cli_ctx *ctx, int argc, char **argv);
int cmd_get(cli_ctx *ctx, int argc, char **argv);
int cmd_ls(cli_ctx *ctx, int argc, char **argv);
int cmd_mkdir(cli_ctx *ctx, int argc, char **argv);
int cmd_mv(cli_ctx *ctx, int argc, char **argv);
int cmd_rm(cli_ctx *ctx, int argc, char **argv);
int cmd_history(cli_ctx *ctx, int argc, char **argv);
int cmd_restore(cli_ctx *ctx, int argc, char **argv);
int cmd_backup(cli_ctx *ctx, int argc, char **argv);
int cmd_compact(cli_ctx *ctx, int argc, char **argv);
int cmd_audit(cli_ctx *ctx, int argc, char **argv);
/* audit's verbs kept in files of their own (cmd_verify.c, cmd_export.c) */
int cmd_audit_verify(cli_ctx *ctx, int argc, char **argv);
int cmd_audit_export(cli_ctx *ctx, int argc, char **argv);
int cmd_audit_push(cli_ctx *ctx, int argc, char **argv);

#define AUDIT_LOG_SYNOPSIS    "casevault audit log [--json] [--case CODE] [--user NAME] [--since T] [--until T]\n" \
	"                             [--action ACTION[,...]] [--node NODE] [--notes]"
#define AUDIT_SHOW_SYNOPSIS   "casevault audit show EVENT [--json] [--notes]"
#define AUDIT_REPORT_SYNOPSIS "casevault audit report (--case CODE | --user NAME | --revoked NAME --case CODE |\n" \
	"                             --anomalies | --recoveries [--case CODE]) [--since T] [--until T] [--notes] [--json]"
#define AUDIT_VERIFY_SYNOPSIS "casevault audit verify [--anchor OID] [--against URL|DIR] [--json] [--quick] [--threads N]"
#define AUDIT_EXPORT_SYNOPSIS "casevault audit export DIR"
#define AUDIT_PUSH_SYNOPSIS   "casevault audit push URL"
int cmd_mount(cli_ctx *ctx, int argc, char **argv);
int cmd_umount(cli_ctx *ctx, int argc, char **argv);
int cmd_config(cli_ctx *ctx, int argc, char **argv);

/* ---- the config file (config.c) ------------------------------------------ */

/**
 * Read $XDG_CONFIG_HOME/casevault/config (~/.config/casevault/config), if
 * there. A bad line, a passphrase in it, or a file others can write fail
 * with the file, the line and a hint (exit 2).
 * @param[out] out  freed with cli_config_free() in any case
 * @return 0, or an exit code after the message
 */
int cli_config_load(cli_config **out);
void cli_config_free(cli_config *cfg);

/**
 * ctx->dir, ->user and ->passphrase_file (the options, or NULL) become the
 * settings in use: the option, else the environment, else the config (the
 * vault's [vault DIR] section before the top); where each came from is
 * kept for `casevault config` and -v.
 */
void cli_config_settings(cli_config *cfg, cli_ctx *ctx);

/** Under -v: the config, and which vault and user are used and why. */
void cli_config_verbose(const cli_config *cfg);

/**
 * `mount`: the vault's mount options from the config that its command
 * line does not give; `mount` and `umount`: the config's mountpoint when
 * no DIR is given. *argv becomes a new array the caller frees.
 * @return 0, or an exit code
 */
int cli_config_mount_args(const cli_config *cfg, int *argc, char ***argv);

/* ---- options (opt.c) ----------------------------------------------------- */

/* cli_parse() returns this when the command should go on. */
#define CLI_PARSED (-1)

/** One option: `--name`, `--name=VALUE`, `--name VALUE`, `-c VALUE`. */
typedef struct {
	const char *name;       /* long name without "--"; NULL ends a table */
	int shortname;          /* one letter, or 0 */
	int *flag;              /* a flag: set to 1 when given ... */
	const char **value;     /* ... or an option with a value */
} cli_opt;

typedef struct {
	const char *name;       /* "user add": in messages and hints */
	const char *usage;      /* printed by --help */
	const cli_opt *opts;    /* may be NULL */
	size_t min_args, max_args;
} cli_syntax;

/**
 * Parse a command's argv (argv[0] is its name) by `syn`. Options and
 * positional arguments may come in any order; "--" ends the options.
 * "--help" (or "-h") anywhere before "--" prints the usage.
 * @param[out] args  `max_args` slots: the positional arguments, NULL if not given
 * @return CLI_PARSED; or an exit code to return: 0 after --help, 2 (after
 *         the message) for a usage error.
 */
int cli_parse(const cli_syntax *syn, int argc, char **argv, char **args);

/** 1 if argv[1..] holds `name` ("--version") or "name=VALUE" before any "--". */
int cli_has_option(int argc, char **argv, const char *name);

/** 1 if argv[1..] holds "--help" or "-h" before any "--". */
int cli_wants_help(int argc, char **argv);

typedef struct {
	const char *name;
	cli_cmd_fn fn;
} cli_subcmd;

/** The verb of `subs` nearest to a mistyped `word`, or NULL. */
const char *cli_suggest_subcmd(const cli_subcmd *subs, const char *word);

/** Run the verb in argv[1] from `subs`, with argv from the verb on. */
int cli_dispatch(cli_ctx *ctx, const char *name, const char *usage,
	const cli_subcmd *subs, int argc, char **argv);

/*
 * "Did you mean": the name nearest to a mistyped `word` (of `len` bytes),
 * by edit distance (an insertion, a deletion, a change or a swap of two
 * neighbours is one edit): one edit away, two for names of five letters
 * or more; the first of equals wins.
 */
typedef struct {
	const char *word;
	size_t len;
	const char *best;       /* NULL: nothing near */
	unsigned int distance;
} cli_suggest;

void cli_suggest_init(cli_suggest *s, const char *word, size_t len);
void cli_suggest_add(cli_suggest *s, const char *name);

/*
 * The global options (--vault, --user, ...), taken by main() before the
 * command and after it, up to "--". After the command, an option the
 * command (with its verb) declares under the same name is the command's:
 * `audit log --user NAME` filters by user.
 */
void cli_globals_set(const cli_opt *opts);
/** Does `command` with `verb` (NULL: any) declare the global `option` as its own? */
int cli_global_owned(const char *command, const char *verb, const char *option);
/** The global option argv[*i] names, or NULL. */
const cli_opt *cli_global_find(const char *arg);
/** Take argv[*i] (and its value) if a global option: CLI_PARSED, 0 if none, or an exit code. */
int cli_global_take(int argc, char **argv, int *i);
/** The usage error for an unknown option before the command. */
int cli_global_unknown(const char *arg);

/* ---- values and output (util.c) ------------------------------------------ */

/** "3" or "v3", 1..UINT32_MAX; prints a usage error for `option` otherwise. */
int cli_parse_version(uint32_t *out, const char *option, const char *s);

/** --threads: 1..64; prints a usage error otherwise. */
int cli_parse_threads(unsigned int *out, const char *s);

/** Bytes with an optional K, M or G suffix (powers of 1024). 0 or -1. */
int cli_parse_size(uint64_t *out, const char *s);

/**
 * A time: RFC 3339 ("2026-11-28T10:00:00Z", any offset), the same
 * without a zone or seconds ("2026-11-28T10:00", local time), a date
 * ("2026-11-28", local midnight) or unix seconds. 0 or -1.
 */
int cli_parse_time(int64_t *out, const char *s);

/* --purpose P[:NOTE] → purpose and note (NULL if none); free `*copy` with
 * cli_purpose_free(copy, arg), which wipes the note. */
int cli_purpose_split(const char **purpose, const char **note, char **copy, const char *arg);
void cli_purpose_free(char *copy, const char *arg);
/* --at TIME: a usage error if it is not a time or is still to come. */
int cli_parse_at(int64_t *out, const char *arg);
/* Would a look into the past (a read event) take this purpose? `list`:
 * the look lists a folder (ls), else it reads a file (get). */
int cli_check_at_purpose(vault *v, const char *purpose, int list, const char *path);
/* Report a failed look into the past, with a hint where to look. */
int cli_fail_at(int list, const char *path, const char *at_arg);

#define CLI_TIME_SIZE 32
/** "2026-11-28T17:00:00+07:00": local time with its offset */
const char *cli_time_rfc3339(char buf[CLI_TIME_SIZE], int64_t t);
/** "2026-11-28T17:00+07:00": the same to the minute */
const char *cli_time_short(char buf[CLI_TIME_SIZE], int64_t t);
/** "2026-11-28T10:00:00Z": UTC, for --json */
const char *cli_time_utc(char buf[CLI_TIME_SIZE], int64_t t);

/** Print a name or label for a person to read: control characters as '?'. */
void cli_print_text(FILE *out, const char *s);

/** Drop trailing '/' from a "CODE/PATH" the user typed ("C-1/docs/"). */
char *cli_path(char *path);

/* ---- JSON (json.c): one object per line ---------------------------------- */

#define CLI_JSON_DEPTH 8

typedef struct {
	FILE *out;
	int depth;
	unsigned char first[CLI_JSON_DEPTH];
} cli_json;

/** Write `s` as a JSON string: quoted, escaped, invalid UTF-8 as U+FFFD. */
void cli_json_escape(FILE *out, const char *s);

/* `key` is NULL for the elements of an array. */
void cli_json_begin(cli_json *j, FILE *out);      /* "{" */
void cli_json_end(cli_json *j);                   /* "}\n" */
void cli_json_object_begin(cli_json *j, const char *key);
void cli_json_object_end(cli_json *j);
void cli_json_array_begin(cli_json *j, const char *key);
void cli_json_array_end(cli_json *j);
void cli_json_str(cli_json *j, const char *key, const char *s);          /* NULL: null */
void cli_json_str_or_null(cli_json *j, const char *key, const char *s);  /* "" too */
void cli_json_uint(cli_json *j, const char *key, uint64_t n);
void cli_json_uint_or_null(cli_json *j, const char *key, uint64_t n);    /* 0: null */
void cli_json_bool(cli_json *j, const char *key, int b);
void cli_json_time(cli_json *j, const char *key, int64_t t);             /* RFC 3339 */

/* ---- passphrases (passphrase.c) ------------------------------------------ */

#define CLI_PASS_MAX 1024   /* bytes */

#define CLI_STR_(x) #x
#define CLI_STR(x) CLI_STR_(x)   /* CLI_STR(CLI_PASS_MAX) is "1024" */

/** A passphrase in a locked, wiped-on-dispose buffer. */
typedef struct {
	char *buf;
	size_t len;
} cli_secret;

/* Hints for "no terminal to ask on": where else a passphrase may come from. */
#define CLI_HINT_PASSFILE    N_("pass --passphrase-file FILE or set CASEVAULT_PASSPHRASE_FILE")
#define CLI_HINT_NEWPASSFILE N_("pass --new-passphrase-file FILE")
#define CLI_HINT_CODEFILE    N_("pass --code-file FILE")

/**
 * The passphrase of `user`: the content of `file` (one trailing "\n" or
 * "\r\n" removed) if given, else typed on /dev/tty without echo.
 * @return 0, or an exit code after printing the error
 */
int cli_passphrase_get(cli_secret *out, const char *file, const char *user);
/* A one-time enrolment code, from `file` or the terminal (no echo). */
int cli_code_get(cli_secret *out, const char *file, const char *user);

/**
 * A new passphrase for `user` of vault `vault_id` (NULL before init made
 * it): from `file`, else typed twice on /dev/tty (`hint` says what to do
 * when there is none). It must keep the CLI's rule (exit 2 otherwise): at
 * least 12 characters, not a common passphrase, neither the user name nor
 * the vault id in it. Warns when the weak test KDF is in use: a key is
 * about to be made.
 * @return 0, or an exit code after printing the error
 */
int cli_passphrase_new(cli_secret *out, const char *file, const char *user,
	const char *vault_id, const char *hint);

/** Wipe and free; NULL-safe, idempotent. */
void cli_secret_dispose(cli_secret *s);

/* ---- batch commands (batch.c) ------------------------------------------- */

typedef struct {
	char *path;   /* "CODE/dir/name" */
	int is_dir;
	dev_t dev;    /* put -r: the local file its walk read, 0 otherwise */
	ino_t ino;
} cli_tree_item;

/* Everything under a folder, depth first: a folder comes before what it holds. */
typedef struct {
	cli_tree_item *items;
	size_t n, cap;
} cli_tree;

/**
 * Append the tree under folder `dir` (not `dir` itself) to `t`: one
 * vault_list() per folder, with `opts`.
 * @return 0, or an exit code after printing the error
 */
int cli_tree_list(cli_tree *t, vault *v, const char *dir, const vault_list_options *opts);
/* "DIR/NAME" (NAME alone if DIR is ""), malloc'd; NULL out of memory. */
char *cli_join(const char *dir, const char *name);
/* Append DIR/NAME (NAME alone if DIR is ""); 0, or -1 out of memory. */
int cli_tree_add(cli_tree *t, const char *dir, const char *name, int is_dir);
/* Files (dirs 0) or folders (dirs 1) in `t`. */
size_t cli_tree_count(const cli_tree *t, int dirs);
void cli_tree_dispose(cli_tree *t);

/**
 * mkdir -p: make each missing folder of "CODE/a/b" (`path` is cut and
 * put back in place); `*made` (may be NULL) counts those made.
 * @return 0, or an exit code after printing the error
 */
int cli_mkdir_p(vault *v, char *path, size_t *made);

typedef enum {
	CLI_CONFIRM_ALWAYS,   /* no terminal: refused (exit 2, hint: --yes) */
	CLI_CONFIRM_AT_TTY,   /* no terminal: go on without asking (the older
	                         commands scripts already run: user disable,
	                         case revoke) */
} cli_confirm_t;

/**
 * Ask "QUESTION? [y/N]" on the terminal (standard input and error), unless
 * `yes` (--yes). `fmt` is a verb phrase: "remove 12 files under C-1/x".
 * @return 0 to go on, or an exit code after printing the error
 */
int cli_confirm(int yes, cli_confirm_t when, const char *fmt, ...) VAULT_PRINTF(3, 4);

/* Length of the valid UTF-8 sequence at `s` (NUL-terminated), or 0 (json.c). */
size_t cli_utf8_len(const unsigned char *s);

/* ---- shared listings ----------------------------------------------------- */

/** The cases the user sees, as `case list` prints them (cmd_case.c). */
int cli_print_cases(vault *v, int json, const char *purpose_arg);

#endif
