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

typedef struct {
	const char *dir;              /* --vault DIR or CASEVAULT_DIR */
	const char *user;             /* --user NAME or CASEVAULT_USER */
	const char *passphrase_file;  /* --passphrase-file FILE or CASEVAULT_PASSPHRASE_FILE */
	int restored;                 /* --restored: accept a history put back to an older copy */
	vault *v;                     /* prepared per the flags; NULL under --help */
	char *pass;             /* with CMD_KEEPPASS: the passphrase, wiped after */
	size_t passlen;
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

/** 1 if argv[1..] holds "--help" or "-h" before any "--". */
int cli_wants_help(int argc, char **argv);

typedef struct {
	const char *name;
	cli_cmd_fn fn;
} cli_subcmd;

/** Run the verb in argv[1] from `subs`, with argv from the verb on. */
int cli_dispatch(cli_ctx *ctx, const char *name, const char *usage,
	const cli_subcmd *subs, int argc, char **argv);

/* ---- values and output (util.c) ------------------------------------------ */

/** "3" or "v3", 1..UINT32_MAX; prints a usage error for `option` otherwise. */
int cli_parse_version(uint32_t *out, const char *option, const char *s);

/** --threads: 1..64; prints a usage error otherwise. */
int cli_parse_threads(unsigned int *out, const char *s);

/** Bytes with an optional K, M or G suffix (powers of 1024). 0 or -1. */
int cli_parse_size(uint64_t *out, const char *s);

/**
 * A time: RFC 3339 ("2026-11-28T10:00:00Z", any offset), a date
 * ("2026-11-28", UTC midnight) or unix seconds. 0 or -1.
 */
int cli_parse_time(int64_t *out, const char *s);

/* --purpose P[:NOTE] → purpose and note (NULL if none); free `*copy` with
 * cli_purpose_free(copy, arg), which wipes the note. */
int cli_purpose_split(const char **purpose, const char **note, char **copy, const char *arg);
void cli_purpose_free(char *copy, const char *arg);
/* --at TIME: a usage error if it is not a time or is still to come. */
int cli_parse_at(int64_t *out, const char *arg);
/* Would a look into the past (a read event) take this purpose? */
int cli_check_at_purpose(vault *v, const char *purpose, const char *what, const char *path);
/* Report a failed look into the past, with a hint where to look. */
int cli_fail_at(const char *what, const char *path, const char *at_arg);

#define CLI_TIME_SIZE 32
/** "2026-11-28T10:00:00Z" */
const char *cli_time_rfc3339(char buf[CLI_TIME_SIZE], int64_t t);
/** "2026-11-28 10:00" (UTC) */
const char *cli_time_short(char buf[CLI_TIME_SIZE], int64_t t);

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

/* ---- shared listings ----------------------------------------------------- */

/** The cases the user sees, as `case list` prints them (cmd_case.c). */
int cli_print_cases(vault *v, int json, const char *purpose_arg);

#endif
