/*
 * casevault — the vault: open, unlock, users, cases, documents.
 *
 * Every function that changes state or reads content records one signed
 * event in the history, in the same LMDB transaction as the change.
 *
 * Threads. After vault_unlock(), the functions on documents, folders and
 * file handles (vault_put, vault_get, vault_history, vault_stat,
 * vault_list, vault_mkdir, vault_move, vault_rename, vault_remove,
 * vault_restore, vault_set_times, vault_chmod, vault_file_*) and
 * vault_case_foreach may run on several threads at once on one `vault`
 * handle, as the mount does: their events share transactions and fsyncs
 * (the group commit), and the keys they unseal are shared under a lock.
 * A `vault_file` handle is used by one thread at a time, but for
 * vault_file_read (below). vault_open, vault_unlock, vault_close and the
 * other functions on users, cases, purposes, settings and the audit
 * history are called with no other call running on the handle. Different
 * handles (of one process or of several) are independent: LMDB orders
 * their transactions.
 */
#ifndef VAULT_VAULT_H
#define VAULT_VAULT_H

#include <sys/types.h>
#include "common.h"

typedef struct vault vault;

typedef enum {
	VAULT_ROLE_ADMIN = 1,
	VAULT_ROLE_CASEWORKER = 2,
	VAULT_ROLE_AUDITOR = 3,
} vault_role_t;

typedef enum {
	VAULT_VIA_CLI = 0,
	VAULT_VIA_FUSE = 1,
} vault_via_t;

#define VAULT_NAME_MAX   32   /* user names: [a-z0-9._-], 1..32 */
#define VAULT_CODE_SIZE  11   /* "C-" + 8 characters + NUL */
#define VAULT_OID_SIZE   41   /* 40 hex digits + NUL */
#define VAULT_FILENAME_MAX 255
#define VAULT_PATH_MAX   4096 /* "CODE/a/b" in bytes, after NFC */
#define VAULT_DEPTH_MAX  64   /* names in a path below the case: "a/b" is 2 */

/**
 * `len` bytes of a path or name in Unicode NFC (what the vault stores and
 * looks up: NFD's "cafe\u0301" is "caf\u00e9"), NUL-ended in `out`
 * (`size` bytes); its length in `*outlen`. VAULT_EUSAGE if it is not
 * UTF-8 or does not fit.
 */
VAULT_EXTERN(int) vault_path_nfc(char *out, size_t size, size_t *outlen, const char *path, size_t len);

/** Initialise libsodium and libgit2 once per process. 0 or VAULT_ERROR. */
VAULT_EXTERN(int) vault_global_init(void);

/**
 * Create a vault in `dir` (missing or empty) with `admin` as its first user.
 * The genesis event is signed by the admin's new key. `mapsize` 0 means the
 * default (64 GiB of address space; the file grows as data is added).
 * The returned vault is unlocked as the admin.
 * @return 0; VAULT_EEXISTS if `dir` holds anything; VAULT_EUSAGE for a bad name.
 */
VAULT_EXTERN(int) vault_init(vault **out, const char *dir, const char *admin,
	const char *pass, size_t passlen, uint64_t mapsize) VAULT_WARN_UNUSED;

/**
 * Open an existing vault, locked.
 * @return 0; VAULT_ENOTFOUND (no vault there); VAULT_ECORRUPT (a foreign or
 *         damaged file); VAULT_EVERSION (a newer format); VAULT_EACCES (mode).
 */
VAULT_EXTERN(int) vault_open(vault **out, const char *dir) VAULT_WARN_UNUSED;

/**
 * Unlock `user` with a passphrase. Then completes key work left for this
 * user: delivers case keys to members granted since, starts a new epoch
 * where a revocation retired one (each a signed `rekey` event).
 * A failed attempt is recorded as an unsigned `unlock-failed` event.
 * @return 0; VAULT_EAUTH (wrong passphrase, unknown or disabled user).
 */
VAULT_EXTERN(int) vault_unlock(vault *v, const char *user,
	const char *pass, size_t passlen) VAULT_WARN_UNUSED;

/**
 * Where the unlocked user's checkpoint file is kept outside the vault:
 * `dir`/casevault/VAULT-ID/USER (made mode 0700). NULL: the default,
 * $XDG_STATE_HOME or else ~/.local/state; "": none. A session that finds
 * the vault's history no longer holding the event its user last saw there
 * (an older copy put back) fails with VAULT_ECORRUPT. Call before unlocking.
 */
VAULT_EXTERN(void) vault_set_state_dir(vault *v, const char *dir);

/**
 * Unlock a vault that was put back to an older copy on purpose (restored
 * from a backup): where vault_unlock() fails because the history no longer
 * holds the event this user last saw, this verifies the whole history from
 * the genesis and records a `rollback-accepted` event signed by the user.
 * Otherwise it is vault_unlock().
 */
VAULT_EXTERN(int) vault_unlock_restored(vault *v, const char *user,
	const char *pass, size_t passlen) VAULT_WARN_UNUSED;

/**
 * Open the history for `user` without a session: their key pair unwraps
 * the history's keys, and nothing else happens (no trust gate, no event,
 * no key work): `v` stays locked, and vault_audit_verify() then says
 * whether the history verifies, damaged or not. A wrong passphrase is
 * VAULT_EAUTH (noted as a failed unlock).
 */
VAULT_EXTERN(int) vault_open_history(vault *v, const char *user,
	const char *pass, size_t passlen) VAULT_WARN_UNUSED;

/** Record events as coming through the CLI (default) or the mount. */
VAULT_EXTERN(void) vault_set_via(vault *v, vault_via_t via);

/**
 * Guard the process against a damaged vault file: a fault (SIGSEGV,
 * SIGBUS) on a vault's map, or in LMDB's code, writes
 * "PROGRAM: the vault file is damaged: ..." and a `hint:` line on stderr,
 * hands the first line to `log` (if not NULL; it runs in the signal
 * handler, so it must be async-signal-safe) and ends the process with exit
 * code 3 (no atexit handler runs; LMDB's file is as its last commit left
 * it). Any other fault keeps its effect: the handler found before, or the
 * default action. Call once, early; again to change `program` or `log`.
 * @return 0; VAULT_ERROR if the handler cannot be set.
 */
VAULT_EXTERN(int) vault_guard_damage(const char *program, void (*log)(const char *line));

/** Close, wiping every key the handle holds. NULL-safe. */
VAULT_EXTERN(void) vault_close(vault *v);

/** The vault's directory, as given to vault_open or vault_init. */
VAULT_EXTERN(const char *) vault_dir(const vault *v);
/** The vault id; owned by `v`. */
VAULT_EXTERN(const char *) vault_id(const vault *v);
/** The genesis commit and the current head, as hex. */
VAULT_EXTERN(int) vault_genesis(char out[VAULT_OID_SIZE], vault *v);
VAULT_EXTERN(int) vault_head(char out[VAULT_OID_SIZE], vault *v);
/** Name and role of the unlocked user; NULL / 0 when locked. */
VAULT_EXTERN(const char *) vault_user(const vault *v);
VAULT_EXTERN(vault_role_t) vault_role(const vault *v);

VAULT_EXTERN(const char *) vault_role_name(vault_role_t role);
VAULT_EXTERN(int) vault_role_parse(vault_role_t *out, const char *s);
/** 1 if the passphrase parameters in use are the weak test profile
 * (CASEVAULT_KDF=test, in a build with CASEVAULT_TEST_KDF). */
VAULT_EXTERN(int) vault_kdf_is_test_profile(void);
/** VAULT_EUSAGE if CASEVAULT_KDF asks for a profile this build does not
 * have (any value but "test", or "test" in a release build). */
VAULT_EXTERN(int) vault_kdf_check_profile(void);

/** The unlocked user's Argon2id parameters and the vault's minimum for
 * them (settings kdf-min-memory and kdf-min-passes, else the build's
 * default); `below` is 1 when the user's are lower: `user passwd` makes
 * the key again with the current ones. */
typedef struct {
	uint64_t passes, memory;           /* memory in bytes */
	uint64_t min_passes, min_memory;
	int below;
} vault_kdf_info;
VAULT_EXTERN(int) vault_kdf_status(vault_kdf_info *out, vault *v);

/* ---- users (admins) ------------------------------------------------------ */

/** Characters of an enrolment code, and its buffer. */
#define VAULT_ENROL_CODE_LEN 26
#define VAULT_ENROL_CODE_SIZE (VAULT_ENROL_CODE_LEN + 1)

/**
 * Add a pending user (admins): no key pair yet. `code` gets the one-time
 * enrolment code to hand to the person; the vault keeps only its hash.
 */
VAULT_EXTERN(int) vault_user_add(vault *v, const char *name, vault_role_t role,
	char code[VAULT_ENROL_CODE_SIZE]);
/**
 * Enrol pending user `name` with their code: a key pair made here, sealed
 * under `pass`, and a signed `enrol` event. Any previous session of `v`
 * ends; on success `v` is unlocked as `name`. A wrong, used or expired
 * code is VAULT_EAUTH, and nothing is written.
 */
VAULT_EXTERN(int) vault_user_enrol(vault *v, const char *name, const char *code, size_t codelen,
	const char *pass, size_t passlen);
VAULT_EXTERN(int) vault_user_disable(vault *v, const char *name);
/**
 * A disabled user back, pending (admins): they enrol again with the new
 * one-time `code` and make a new key; their old key opens nothing new,
 * and they are a member of no case until granted. A `user-enable` event.
 * VAULT_EREFUSED if the user is not disabled.
 */
VAULT_EXTERN(int) vault_user_enable(vault *v, const char *name, char code[VAULT_ENROL_CODE_SIZE]);
/**
 * A new generation of the history key (admins): sealed to every active
 * user, the previous one chained under it, recorded as a signed
 * `history-rekey` event. What is recorded from then on is written under
 * it: a former user with a copy of the vault file and an older key reads
 * none of it. `*generation` gets the new generation's number.
 */
VAULT_EXTERN(int) vault_history_rotate_key(vault *v, uint32_t *generation);
/**
 * Change the unlocked user's own passphrase: a new key pair, and a new key
 * epoch of every case they belong to, so that their old record and old
 * passphrase open nothing written afterwards.
 */
VAULT_EXTERN(int) vault_user_passwd(vault *v, const char *pass, size_t passlen);

typedef struct {
	const char *name;
	vault_role_t role;
	int disabled;
	int pending;           /**< added, not enrolled: no key yet */
	const char *publine;   /**< "ssh-ed25519 AAAA…", "" when pending */
} vault_user_info;

VAULT_EXTERN(int) vault_user_foreach(vault *v,
	int (*cb)(const vault_user_info *info, void *payload), void *payload);

/* ---- cases --------------------------------------------------------------- */

typedef struct {
	const char *user;
	int read_only;
	int has_key;   /**< 0 until a member's session delivers the case key */
	int disabled;  /**< the user is disabled: no session will ever take the key */
} vault_member;

typedef struct {
	const char *code;
	const char *label;     /**< decrypted; NULL unless the caller is a member with the key */
	uint32_t epoch;
	int retired;           /**< a revocation retired the epoch; the next session rekeys */
	size_t nmembers;
	const vault_member *members;
} vault_case_info;

/**
 * How a listing is recorded. Case labels and folder entries are personal
 * data: a listing that shows them is a `list` event naming the case (and
 * the folder, if not the case's root), with a purpose as a read has.
 */
typedef struct {
	unsigned int version;  /**< VAULT_LIST_OPTIONS_VERSION */
	const char *purpose;   /**< a purpose code, or NULL */
	const char *note;      /**< free text sealed to the audit key, or NULL */
	unsigned int flags;    /**< VAULT_LIST_NO_EVENT */
} vault_list_options;

#define VAULT_LIST_OPTIONS_VERSION 1
#define VAULT_LIST_OPTIONS_INIT { VAULT_LIST_OPTIONS_VERSION, NULL, NULL, 0 }
/* Record nothing: the caller has recorded a `list` event of this case in
 * this session already (the mount: one per case folder per session). */
#define VAULT_LIST_NO_EVENT 0x01

/** Create a case; the caller becomes its first (rw) member. */
VAULT_EXTERN(int) vault_case_create(char code[VAULT_CODE_SIZE], vault *v, const char *label);
VAULT_EXTERN(int) vault_case_grant(vault *v, const char *code, const char *user, int read_only);
VAULT_EXTERN(int) vault_case_revoke(vault *v, const char *code, const char *user);
/** A new label (rw members; "" removes it), sealed under the case key as
 *  at creation: a `case-label` event. */
VAULT_EXTERN(int) vault_case_label(vault *v, const char *code, const char *label);
/**
 * Cases the caller may see: members see theirs, admins and auditors all.
 * Each case whose label the caller sees (a member holding its key) is one
 * `list` event, committed before `cb` sees any case; cases that appear
 * meanwhile come without their label. Admins and auditors see no label,
 * and record nothing.
 * @return 0; VAULT_EUSAGE (options of an unknown version, a purpose
 *         required and not given, or not in the vault's list).
 */
VAULT_EXTERN(int) vault_case_foreach(vault *v, const vault_list_options *opts,
	int (*cb)(const vault_case_info *info, void *payload), void *payload);

/* ---- purposes of access (admins) ---------------------------------------- */

VAULT_EXTERN(int) vault_purpose_add(vault *v, const char *code);
/** Take `code` off the list (a `purpose-remove` event); VAULT_ENOTFOUND if
 *  it is not on it. Past events keep the purpose they gave. */
VAULT_EXTERN(int) vault_purpose_remove(vault *v, const char *code);
VAULT_EXTERN(int) vault_purpose_require(vault *v, int on);
/** Would a read with this purpose (NULL: none) be taken? 0 or VAULT_EUSAGE. */
VAULT_EXTERN(int) vault_purpose_check(vault *v, const char *purpose);
VAULT_EXTERN(int) vault_purpose_foreach(vault *v, int *required,
	int (*cb)(const char *code, void *payload), void *payload);

/* ---- vault settings (admins) --------------------------------------------
 *
 * Named values in the signed `policy/settings` of the history: the
 * thresholds of the anomaly report (docs/audit.md). Each change is one
 * signed `setting` event whose Target is the key.
 */

/** One setting, as vault_setting_foreach() gives it. */
typedef struct {
	const char *key;       /**< e.g. "bulk-read-count" */
	const char *value;     /**< in its normal form ("3600", "mon,tue") */
	int is_default;        /**< 1: not set; `value` is the default */
	const char *help;      /**< one line: what it means */
} vault_setting_info;

/**
 * Set `key` to `value` (NULL: back to the default), checked and stored in
 * its normal form. Needs an unlocked admin.
 * @return 0; VAULT_EUSAGE (an unknown key, a bad value: the message says
 *         what is expected); VAULT_EACCES (not an admin); VAULT_EAUTH.
 */
VAULT_EXTERN(int) vault_setting_set(vault *v, const char *key, const char *value);

/**
 * Every known setting, in a fixed order, set or not. No user is needed.
 * The strings are valid only during the call.
 */
VAULT_EXTERN(int) vault_setting_foreach(vault *v,
	int (*cb)(const vault_setting_info *s, void *payload), void *payload);

/* ---- the organisation's recovery: M of N custodians ----------------------- */

/** The most custodians a vault may name. */
#define VAULT_RECOVERY_MAX 32

/**
 * Name the custodians (`n` enrolled, active users of any role) and the
 * threshold of them whose approvals recover a case (2 to `n`). Each case's
 * key is then split into one share per custodian by the next session of a
 * member holding it. Needs an unlocked admin; a signed `recovery-setup`.
 * @return 0; VAULT_EUSAGE (a bad threshold, a custodian named twice,
 *         pending or disabled); VAULT_ENOTFOUND (no such user);
 *         VAULT_EACCES (not an admin).
 */
VAULT_EXTERN(int) vault_recovery_setup(vault *v, const char *const *custodians, size_t n,
	unsigned int threshold);

/** The custodian set, as vault_recovery_status() gives it. */
typedef struct {
	unsigned int threshold;      /**< 0: no recovery was set up */
	size_t ncustodians;
	char custodians[VAULT_RECOVERY_MAX][VAULT_NAME_MAX + 1];
	int active[VAULT_RECOVERY_MAX];  /**< 0: disabled since (set up again) */
} vault_recovery_info;

/** One case: are its key's shares there for the custodians of now? */
typedef struct {
	const char *code;
	int covered;
	const char *why;             /**< when not covered: why, one line */
} vault_recovery_case;

/**
 * The custodian set into `info`, then `cb` for every case (none when no
 * recovery was set up). Admins and auditors (VAULT_EACCES otherwise).
 */
VAULT_EXTERN(int) vault_recovery_status(vault *v, vault_recovery_info *info,
	int (*cb)(const vault_recovery_case *c, void *payload), void *payload);

/** A recovery request's id: "R-" and 8 characters, NUL. */
#define VAULT_RECOVERY_ID_SIZE 11

/**
 * Ask the custodians to recover case `code` for caseworker `user` (active,
 * enrolled, not a member), for `reason` (sealed to the audit key: admins
 * and auditors read it). The case's key of now must be split (covered).
 * Needs an unlocked admin; a signed `recovery-request`; `id` gets its id.
 * @return 0; VAULT_EUSAGE (no reason; `user` no active caseworker, or a
 *         member already); VAULT_EREFUSED (the case is not covered, or a
 *         request for `user` is open); VAULT_ENOTFOUND; VAULT_EACCES.
 */
VAULT_EXTERN(int) vault_recovery_request(vault *v, const char *code, const char *user,
	const char *reason, char id[VAULT_RECOVERY_ID_SIZE]);

/**
 * Approve request `id` as the unlocked custodian: their share of the case's
 * key is unsealed and sealed again to the caseworker, in a signed
 * `recovery-approve`. Once the caseworker holds the threshold of approved
 * shares, their next session combines them, checks the key against the
 * case's key-check value, and makes them a member (`recovery-grant`).
 * @return 0; VAULT_ENOTFOUND (no such request); VAULT_EACCES (no share of
 *         theirs); VAULT_EREFUSED (granted already, approved already, or
 *         the case was split again since).
 */
VAULT_EXTERN(int) vault_recovery_approve(vault *v, const char *id);

/**
 * Cancel open request `id` (admins): a signed `recovery-cancel`; the
 * shares approved for it are wiped, later approvals are refused and the
 * caseworker's session combines nothing.
 * @return 0; VAULT_ENOTFOUND (no such request); VAULT_EACCES (not an
 *         admin); VAULT_EREFUSED (granted or cancelled already).
 */
VAULT_EXTERN(int) vault_recovery_cancel(vault *v, const char *id);

/** One recovery request, as vault_recovery_list() gives it. */
typedef struct {
	const char *id, *code, *user;
	int granted;
	int cancelled;               /**< by an admin (`recovery cancel`) */
	int stale;                   /**< the case was split again since */
	unsigned int threshold;      /**< approvals the grant needs */
	size_t napproved;
	const char *approved[VAULT_RECOVERY_MAX];
} vault_recovery_entry;

/**
 * The open recovery requests (`all`: granted ones too), for admins,
 * auditors and custodians (VAULT_EACCES otherwise).
 */
VAULT_EXTERN(int) vault_recovery_list(vault *v, int all,
	int (*cb)(const vault_recovery_entry *q, void *payload), void *payload);

/* ---- documents: paths are "CODE/dir/name" -------------------------------- */

/** Fill `buf`; return bytes read, 0 at the end, or -1 (errno set) on failure. */
typedef ssize_t (*vault_read_fn)(void *payload, void *buf, size_t len);
/** Consume `len` bytes; return 0, or -1 (errno set) on failure. */
typedef int (*vault_write_fn)(void *payload, const void *buf, size_t len);

/**
 * Store a new version of a file from a stream, 64 KiB at a time. Blocks
 * equal to the previous version's are shared, not stored again.
 * @return 0; VAULT_EACCES (not a rw member); VAULT_ENOTFOUND (no such
 *         folder); VAULT_EUSAGE (bad name); VAULT_ENOSPC.
 */
VAULT_EXTERN(int) vault_put(uint32_t *version_out, vault *v, const char *path,
	vault_read_fn fn, void *payload);

typedef struct {
	unsigned int version;  /**< VAULT_GET_OPTIONS_VERSION */
	uint32_t doc_version;  /**< 0: the current version */
	const char *purpose;   /**< a purpose code, or NULL */
	const char *note;      /**< free text sealed to the audit key, or NULL */
} vault_get_options;

#define VAULT_GET_OPTIONS_VERSION 1
#define VAULT_GET_OPTIONS_INIT { VAULT_GET_OPTIONS_VERSION, 0, NULL, NULL }

/**
 * Record a read event, commit it, then stream the version's plaintext to
 * `fn` block by block.
 * @return 0; VAULT_EACCES; VAULT_ENOTFOUND; VAULT_ECORRUPT (a block failed
 *         authentication: nothing after it is written).
 */
VAULT_EXTERN(int) vault_get(vault *v, const char *path, const vault_get_options *opts,
	vault_write_fn fn, void *payload) VAULT_WARN_UNUSED;

/* ---- file handles: random access, for the mount ------------------------- */

/** A file time: seconds since 1970 (UTC) and nanoseconds, 0 to 999999999. */
typedef struct {
	int64_t sec;
	uint32_t nsec;
} vault_time;


typedef struct vault_file vault_file;

#define VAULT_FILE_READ    0x01  /**< serve content: a read event at open */
#define VAULT_FILE_WRITE   0x02  /**< allow writes and truncation (rw members) */
#define VAULT_FILE_CREATE  0x04  /**< create the file if it does not exist */
#define VAULT_FILE_EXCL    0x08  /**< with CREATE: fail if it exists */
#define VAULT_FILE_TRUNC   0x10  /**< start from empty content */
#define VAULT_FILE_MODE    0x20  /**< with CREATE: `mode` holds the bits, even 0 */

typedef struct {
	unsigned int version;  /**< VAULT_FILE_OPTIONS_VERSION */
	unsigned int flags;    /**< VAULT_FILE_* */
	uint32_t doc_version;  /**< read views only: 0 the current version */
	const char *purpose;   /**< for the read event, as vault_get */
	const char *note;
	int create_now;        /**< with CREATE: record the new, empty file as a
	                            `create` event at open (the mount), rather
	                            than with its first version (put) */
	uint32_t mode;         /**< with CREATE: permission bits; 0 means 0600
	                            unless VAULT_FILE_MODE */
} vault_file_options;

#define VAULT_FILE_OPTIONS_VERSION 1
#define VAULT_FILE_OPTIONS_INIT { VAULT_FILE_OPTIONS_VERSION, 0, 0, NULL, NULL, 0, 0 }

/**
 * Open a file. A handle with VAULT_FILE_READ records a read event (with the
 * purpose) and commits it before returning. A handle with VAULT_FILE_WRITE
 * keeps changes in memory and in staged blocks until vault_file_commit().
 * @return 0; VAULT_EACCES; VAULT_ENOTFOUND; VAULT_EEXISTS (CREATE|EXCL);
 *         VAULT_EUSAGE (a folder, a bad name, WRITE with a version).
 */
VAULT_EXTERN(int) vault_file_open(vault_file **out, vault *v, const char *path,
	const vault_file_options *opts) VAULT_WARN_UNUSED;

/**
 * Read up to `len` bytes at `off`; *nread is 0 at the end. VAULT_ECORRUPT.
 * Only a handle with a recorded read event reads: opened with
 * VAULT_FILE_READ, or given it by vault_file_allow_read(). Reads may run
 * on several threads at once while no other call runs on the handle.
 */
VAULT_EXTERN(int) vault_file_read(size_t *nread, vault_file *f, void *buf, size_t len,
	uint64_t off) VAULT_WARN_UNUSED;
/** Write at any offset; a gap reads as zeros. */
VAULT_EXTERN(int) vault_file_write(vault_file *f, const void *buf, size_t len, uint64_t off);
/** Shrink or grow (with zeros). */
VAULT_EXTERN(int) vault_file_truncate(vault_file *f, uint64_t size);
/**
 * Record the changes as one new version and its signed `write` event.
 * Nothing to do (and *version_out the current one) if nothing changed.
 */
VAULT_EXTERN(int) vault_file_commit(uint32_t *version_out, vault_file *f);
/**
 * Set the time or mode the next commit records (with a new version if the
 * content changed too, else as a `touch` event).
 */
VAULT_EXTERN(int) vault_file_set_times(vault_file *f, const vault_time *atime,
	const vault_time *mtime);
VAULT_EXTERN(int) vault_file_set_mode(vault_file *f, uint32_t mode);
/**
 * Record a read event for this handle's file (with a purpose, as
 * vault_get) and let the handle read: for a handle opened to write that
 * another reader now shares (the mount).
 */
VAULT_EXTERN(int) vault_file_allow_read(vault_file *f, const char *purpose,
	const char *note) VAULT_WARN_UNUSED;
/**
 * Record a new file as it is, empty, with a `create` event (version 0):
 * for a file created and closed before anything is written. Nothing to do
 * for a file already in the vault.
 */
VAULT_EXTERN(int) vault_file_create(vault_file *f);
/** Free the handle; uncommitted changes are dropped. NULL-safe. */
VAULT_EXTERN(void) vault_file_close(vault_file *f);

VAULT_EXTERN(uint64_t) vault_file_size(const vault_file *f);
/** Time and mode as the next commit will record them. */
VAULT_EXTERN(void) vault_file_times(const vault_file *f, vault_time *mtime, vault_time *ctime,
	vault_time *atime);
VAULT_EXTERN(uint32_t) vault_file_mode(const vault_file *f);
/** The version the content is at: the opened or last committed one. */
VAULT_EXTERN(uint32_t) vault_file_version(const vault_file *f);
/** 1 if there are changes not yet committed. */
VAULT_EXTERN(int) vault_file_dirty(const vault_file *f);
/** 1 if the handle may read (a read event was recorded for it). */
VAULT_EXTERN(int) vault_file_can_read(const vault_file *f);
/** 1 while a file created by this handle is not yet in the vault (before
 *  its first commit, unless it was opened with create_now). */
VAULT_EXTERN(int) vault_file_is_new(const vault_file *f);
/** The node id (hex); "" while the file is new. */
VAULT_EXTERN(const char *) vault_file_node(const vault_file *f);

/* ---- folders and names -------------------------------------------------- */

/** A file or folder: what vault_stat() answers, and each entry of vault_list(). */
typedef struct {
	const char *name;      /**< vault_list: the entry's name; vault_stat: NULL */
	int is_dir;
	uint64_t size;
	vault_time mtime;      /**< content (or, for a folder, entries) changed */
	vault_time ctime;      /**< the record changed: content, mode, name, times */
	vault_time atime;      /**< set at creation and by vault_set_times(), never by reads */
	uint32_t folders;      /**< a folder's subfolders */
	uint32_t version;
	int writable;          /**< the caller is a rw member */
	uint32_t mode;         /**< permission bits as stored (chmod) */
	char node[17];         /**< node id, hex */
} vault_stat_info;

/** What a path is (no event: no content is served). */
VAULT_EXTERN(int) vault_stat(vault_stat_info *out, vault *v, const char *path);
/** Set a file's or folder's access and modification times, each NULL to
 *  leave it (a `touch` event; none if unchanged). */
VAULT_EXTERN(int) vault_set_times(vault *v, const char *path, const vault_time *atime,
	const vault_time *mtime);
/** Set its permission bits, 0 to 07777 (a `touch` event; none if unchanged). */
VAULT_EXTERN(int) vault_chmod(vault *v, const char *path, uint32_t mode);

#define VAULT_RENAME_NOREPLACE 0x01

/**
 * Rename within a case. Over an existing file (the way editors save), the
 * target keeps its history and gets the source's content as a new version
 * (a `write` event), then the source is removed (a `delete` event). Over an
 * empty folder, a folder replaces it. With VAULT_RENAME_NOREPLACE, or from
 * vault_move, an existing target is VAULT_EEXISTS.
 * @return 0; VAULT_EEXISTS; VAULT_ENOTEMPTY; VAULT_EUSAGE (a folder over a
 *         file, a file over a folder, another case); VAULT_EACCES.
 */
VAULT_EXTERN(int) vault_rename(vault *v, const char *from, const char *to, unsigned int flags);

/** What vault_mount_event records. */
#define VAULT_MOUNTED        1   /* `mount`, with the purpose of its reads */
#define VAULT_UNMOUNTED      0   /* `unmount` */
#define VAULT_UNMOUNTED_IDLE 2   /* `idle-unmount`: it unmounted itself after
                                    its idle time (mount --idle) */

/** Record that this user mounted or unmounted the vault (VAULT_MOUNTED...). */
VAULT_EXTERN(int) vault_mount_event(vault *v, int mounted, const char *purpose);

VAULT_EXTERN(int) vault_mkdir(vault *v, const char *path);
VAULT_EXTERN(int) vault_move(vault *v, const char *from, const char *to);
VAULT_EXTERN(int) vault_remove(vault *v, const char *path);
VAULT_EXTERN(int) vault_restore(uint32_t *version_out, vault *v, const char *path,
	uint32_t version);

/**
 * List a folder ("CODE" or "CODE/dir"), sorted by name: a `list` event
 * (the case, the folder's node unless it is the case's root, the purpose),
 * committed before `cb` sees any entry, unless VAULT_LIST_NO_EVENT.
 * @return 0; VAULT_EUSAGE (a file, a purpose required and not given);
 *         VAULT_ENOTFOUND; VAULT_EACCES (not a member, or without the key).
 */
VAULT_EXTERN(int) vault_list(vault *v, const char *path, const vault_list_options *opts,
	int (*cb)(const vault_stat_info *e, void *payload), void *payload);

/* ---- time travel: the state at a past moment ----------------------------- */

typedef struct {
	unsigned int version;  /**< VAULT_AT_OPTIONS_VERSION */
	int64_t at;            /**< the moment, in seconds since 1970 (UTC) */
	const char *purpose;   /**< for the read event, as vault_get */
	const char *note;      /**< sealed to the audit key, as vault_get */
} vault_at_options;

#define VAULT_AT_OPTIONS_VERSION 1
#define VAULT_AT_OPTIONS_INIT { VAULT_AT_OPTIONS_VERSION, 0, NULL, NULL }

/**
 * List a folder ("CODE" or "CODE/dir") as it was at `opts->at`: the state
 * the last event at or before that moment recorded, names read with the
 * case keys the caller holds now. Files created after the moment are not
 * there; files removed, renamed or moved since are, under their names and
 * in their folders of then. Entries come sorted by name, as vault_list;
 * `writable` is always 0 (the past is not written to).
 *
 * It is a read event (action `read`, the folder's node, the purpose),
 * committed before `cb` sees any entry.
 *
 * @note The caller must be a member of the case now and hold its key;
 *       membership at the moment itself is not required (members read a
 *       case's older content, as `get --version` does).
 * @return 0;
 *         VAULT_EUSAGE (a moment in the future, a file, a purpose required
 *         and not given);
 *         VAULT_ENOTFOUND (before the vault's first event, a case or path
 *         that did not exist then);
 *         VAULT_EACCES (not a member now, or without the key yet);
 *         VAULT_ECORRUPT (the history or a name fails its checks).
 */
VAULT_EXTERN(int) vault_list_at(vault *v, const char *path, const vault_at_options *opts,
	int (*cb)(const vault_stat_info *e, void *payload), void *payload) VAULT_WARN_UNUSED;

/**
 * Stream a file's content as it was at `opts->at`: the version the last
 * event at or before that moment names, even if the file was removed,
 * renamed or overwritten since. A read event (the file's node and that
 * version, the purpose) is committed before any byte goes to `fn`; the
 * version's block list must match the content commitment of the signed
 * manifest, and every block authenticate, or VAULT_ECORRUPT (nothing of
 * that block or after it is written).
 *
 * @param[out] version_out  the version served (0: the file was empty and
 *                          had none); may be NULL
 * @return 0; the codes of vault_list_at(); VAULT_EUSAGE also for a folder.
 */
VAULT_EXTERN(int) vault_get_at(uint32_t *version_out, vault *v, const char *path,
	const vault_at_options *opts, vault_write_fn fn, void *payload) VAULT_WARN_UNUSED;

typedef struct {
	uint32_t version;
	int64_t time;
	const char *actor;
	uint64_t size;
	const char *commit;
} vault_version_info;

VAULT_EXTERN(int) vault_history(vault *v, const char *path,
	int (*cb)(const vault_version_info *info, void *payload), void *payload);

#endif
