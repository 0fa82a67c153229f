/*
 * casevault CLI — exit codes and error reporting.
 *
 * Every failure prints exactly two lines on stderr:
 *
 *	casevault: <what failed>[: <reason>]
 *	hint: <what to do>
 *
 * and the functions below return the exit code, so a command fails in one
 * line: `return cli_error(CLI_EXIT_USAGE, "…", "…");`. Messages name the
 * objects the user typed (paths, user names, case codes); they never hold a
 * passphrase, file content, a case label or a decrypted name.
 */
#ifndef CLI_ERROR_H
#define CLI_ERROR_H

#include "vault.h"
#include "i18n.h"

/* Exit codes: scripts and auditors branch on them. */
#define CLI_EXIT_OK        0   /* success */
#define CLI_EXIT_ERROR     1   /* anything else that failed, and actions the vault's
                                  state refuses (the last member, an existing name) */
#define CLI_EXIT_USAGE     2   /* unknown command or option, missing argument, bad value */
#define CLI_EXIT_INTEGRITY 3   /* tampering detected, audit verify failed */
#define CLI_EXIT_ACCESS    4   /* role or membership forbids it */
#define CLI_EXIT_AUTH      5   /* wrong passphrase, unknown or disabled user */

/** What a library call was about; picks the hint for its error code. */
typedef enum {
	CLI_ON_NONE = 0,
	CLI_ON_VAULT,      /* opening or unlocking the vault */
	CLI_ON_NEW_VAULT,  /* init */
	CLI_ON_USER,
	CLI_ON_CASE,
	CLI_ON_PURPOSE,
	CLI_ON_PATH,       /* a document or folder: "CODE/PATH" */
	CLI_ON_READ,       /* get: a path, read with a purpose */
	CLI_ON_VERSION,    /* restore: a version of a path */
	CLI_ON_AUDIT,
	CLI_ON_WITNESS,    /* audit verify --against: a witness URL or directory */
	CLI_ON_BACKUP,     /* backup, backup verify, restore: a snapshot directory */
	CLI_ON_RESTORE,    /* restore SNAPSHOT DIR: the new vault's directory */
} cli_on_t;

/** The command being run ("put", "user add"), for usage hints. */
void cli_error_command(const char *name);

/** The role of the unlocked user: hints about access depend on it. */
void cli_error_role(vault_role_t role);

/**
 * What the next library call is about. `object` is the name the user
 * typed (for CLI_ON_PATH the path, whose case code the hint quotes); it
 * must outlive the call, argv strings do.
 */
void cli_error_on(cli_on_t on, const char *object);

/** Print "casevault: <fmt>" and "hint: <hint>"; return `exit_code`. */
int cli_error(int exit_code, const char *hint, const char *fmt, ...) VAULT_PRINTF(3, 4);

/** The same with ": strerror(errno)" appended; returns CLI_EXIT_ERROR. */
int cli_error_os(const char *hint, const char *fmt, ...) VAULT_PRINTF(2, 3);

/**
 * A usage error of the current command; returns CLI_EXIT_USAGE. The hint
 * is "did you mean 'SUGGESTION'?" when `suggestion` is not NULL (a near
 * name, see cli_suggest_add()), else the command's --help.
 */
int cli_usage_suggest(const char *suggestion, const char *fmt, ...) VAULT_PRINTF(2, 3);

#define cli_usage_error(...) cli_usage_suggest(NULL, __VA_ARGS__)

/**
 * Report vault_error_last(): "casevault: <what>: <message>", then a hint
 * chosen by its code and by what cli_error_on() last named.
 * @return the exit code for that error (see cli_exit_code()).
 */
int cli_fail_vault(const char *fmt, ...) VAULT_PRINTF(1, 2);

/** The exit code for a vault_error_code. */
int cli_exit_code(int vault_code);

/** "casevault: warning: …" on stderr; not an error. */
void cli_warning(const char *fmt, ...) VAULT_PRINTF(1, 2);

/**
 * "note: …" on stderr: what a batch command did before it failed ("3 of 5
 * files were stored before it"). Not silenced by -q: it tells what the
 * failure left behind.
 */
void cli_batch_note(const char *fmt, ...) VAULT_PRINTF(1, 2);

/*
 * How much the CLI says on stderr besides errors and warnings: -1 under
 * -q (no notes, no progress bars), 0 by default, 1 under -v.
 */
#define CLI_QUIET   (-1)
#define CLI_NORMAL  0
#define CLI_VERBOSE 1
void cli_set_verbosity(int level);
int cli_verbosity(void);

/** "casevault: …" on stderr if the verbosity is at least `level`. */
void cli_note(int level, const char *fmt, ...) VAULT_PRINTF(2, 3);

#endif
