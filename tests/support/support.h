/*
 * tests/support — what the unit tests and the benchmarks share: in-memory
 * streams for vault_put and vault_get, opening a vault as a user, a vault
 * with the usual users, storing and reading bytes, the log as a list,
 * deterministic test data.
 */
#ifndef TESTS_SUPPORT_H
#define TESTS_SUPPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vault.h"

/* ---- in-memory streams for vault_put / vault_get ------------------------ */

typedef struct {
	const unsigned char *data;
	size_t len, off;
} mem_src;
/* A vault_read_fn; reads from `data` (mem_src *). */
ssize_t mem_src_read(void *payload, void *buf, size_t len);

typedef struct {
	unsigned char *data;     /* malloc'd; free with mem_sink_free */
	size_t len;
	size_t calls;            /* number of writes received */
} mem_sink;
/* A vault_write_fn; appends to a mem_sink. */
int mem_sink_write(void *payload, const void *buf, size_t len);
void mem_sink_free(mem_sink *s);

/* Deterministic pseudo-random bytes. */
void fill_pattern(unsigned char *p, size_t len, uint32_t seed);

/* A vault_write_fn that keeps nothing and counts the bytes (size_t *). */
int count_sink_write(void *payload, const void *buf, size_t len);

/* ---- benchmarks ------------------------------------------------------------ */

/* Seconds on the monotonic clock. */
double support_now(void);
/* "PROG: WHAT: " and the library's last error on stderr, then exit 1. */
void support_die(const char *prog, const char *what);

/* ---- vaults ---------------------------------------------------------------- */

/*
 * Open the vault at `dir` and, with `user`, unlock it with `pass`. NULL on
 * failure, said on stderr and counted as a test failure.
 */
vault *support_open_as(const char *dir, const char *user, const char *pass);
/* A session of `user` (support_pass) with no state directory; NULL if it
 * does not open (vault_error_last says why; not counted as a failure), its
 * code in *rc if rc is not NULL. */
vault *support_session(const char *dir, const char *user, int *rc);
/*
 * An insider's handle: the history's keys of `user` (unlocked with `pass`),
 * and no session, so that a test can write what no session of the library
 * would (a forged or unsigned event) as someone who holds those keys.
 */
vault *support_insider(const char *dir, const char *user, const char *pass);
/* A handle on the vault at `dir` unlocked as `user` (support_pass), kept
 * open for the process (one at a time): the keys of its history. */
vault *support_keyring(const char *dir, const char *user);
/*
 * The history's keys of `user` (support_pass) in the vault at `from`, into
 * handle `to` (not unlocked): to read a damaged copy of that vault, whose
 * history no session would open. 0, or -1 counted as a failure.
 */
int support_take_keys(vault *to, const char *from, const char *user);
/* The key of history object `hex` in the `git` table of a copy of the
 * vault at `from` (its keys are `user`'s); -1 if it cannot be found. */
int support_object_key(unsigned char out[20], const char *from, const char *user, const char *hex);
/* The passphrase the tests give `user`: "USER-pass" (a static buffer). */
const char *support_pass(const char *user);
/*
 * A new vault at `dir` whose admin is dpo, with the users alice, bob and
 * carol (caseworkers) and aud (auditor), each with support_pass(): the
 * handle, unlocked as dpo, or NULL (a test failure).
 */
vault *support_vault_with_users(const char *dir);
/*
 * Add `name` with `role` as the admin unlocked in `v` (vault_user_add),
 * then enrol them with the code and `pass`, as the person would: in a
 * process of their own (a child), so `v` stays the admin's session.
 */
int support_user_add(vault *v, const char *name, vault_role_t role, const char *pass,
	size_t passlen);
/* vault_audit_verify with `anchor` (or NULL) as its only option. */
int support_verify(vault_verify_result *res, vault *v, const char *anchor);
/* Store `len` bytes at `path` (vault_put); `ver` (or NULL) the version. */
int support_put(vault *v, const char *path, const void *data, size_t len, uint32_t *ver);
/* The options of the tests' listings (vault_list, vault_case_foreach):
 * a `list` event with the purpose "test" (any code, while the vault's
 * list of purposes is empty). */
extern const vault_list_options support_list;
/* The same without an event, for helpers that look a name up. */
extern const vault_list_options support_list_quiet;
/* Read `path` (vault_get) with a purpose and a note (each may be NULL). */
int support_get(vault *v, const char *path, const char *purpose, const char *note,
	mem_sink *out);

/* Room for `need` items of `size` bytes in `items` (`*cap` of them now),
 * doubling: the array (moved, perhaps), or NULL out of memory (`items`
 * unchanged, still to be freed). */
void *support_grow(void *items, size_t *cap, size_t need, size_t size);

/* ---- the log ------------------------------------------------------------- */

/* One event as the log and the reports give it (vault_event_info), copied. */
typedef struct {
	char commit[VAULT_OID_SIZE];
	int64_t time;
	char actor[VAULT_NAME_MAX + 1], target[VAULT_NAME_MAX + 1];
	char action[32], case_code[VAULT_CODE_SIZE], node[17], purpose[40], via[8];
	char access[3], subject[200];
	uint32_t version;
	char *note;              /* the note given with it, malloc'd, or NULL */
} support_event;

/* Events, oldest first (malloc'd; free with support_log_free). */
typedef struct {
	support_event *ev;
	size_t n, cap;
} support_log;

/* Append one event (and its note, or NULL) to `l`. 0, or -1 out of memory. */
int support_log_add(support_log *l, const vault_event_info *e, const char *note);
/* A vault_event_cb for vault_audit_query that appends to a support_log. */
int support_log_cb(const vault_event_info *e, const char *note, void *payload);
/* The log through `opts` (NULL: all), in a fresh `l`. */
int support_log_read(support_log *l, vault *v, const vault_log_options *opts);
/* The index of the `nth` (from 0) event of `action`; -1 when there is none. */
long support_log_find(const support_log *l, const char *action, int nth);
void support_log_free(support_log *l);

#endif
