/*
 * casevault — the audit history: list and verify events.
 *
 * These need no unlocked user and no case key.
 */
#ifndef VAULT_AUDIT_H
#define VAULT_AUDIT_H

#include "vault.h"

typedef struct {
	const char *commit;
	int64_t time;
	const char *actor;
	const char *action;
	const char *case_code;   /**< "" when none */
	const char *node;        /**< "" when none */
	uint32_t version;        /**< 0 when none */
	const char *purpose;     /**< "" when none */
	const char *via;
	const char *subject;
	const char *target;      /**< user a policy event is about, "" when none */
	const char *access;      /**< grant: "ro" or "rw" given to the target; revoke:
	                              what it had; "" otherwise */
} vault_event_info;

typedef struct {
	uint64_t events;                 /**< events checked */
	uint64_t versions;               /**< versions checked against their manifests */
	uint64_t records;                /**< state records checked against the head */
	uint64_t bad_index;              /**< 1-based number of the first bad event, or 0 */
	char head[VAULT_OID_SIZE];       /**< the head that was verified */
	char bad_commit[VAULT_OID_SIZE]; /**< first event that failed, or "" */
} vault_verify_result;

typedef struct {
	unsigned int version;            /**< VAULT_VERIFY_OPTIONS_VERSION */
	const char *anchor;              /**< a commit the chain must contain, or NULL */
	/** Called now and then from the calling thread, `done` of `total` steps. */
	void (*progress)(uint64_t done, uint64_t total, void *payload);
	void *payload;
	unsigned int threads;            /**< 0: one per core */
	unsigned int flags;              /**< VAULT_VERIFY_QUICK */
	/** Called now and then from the calling thread while the stored blocks
	 *  are hashed: `done` bytes of about `total` (every block record). */
	void (*content_progress)(uint64_t done, uint64_t total, void *payload);
} vault_verify_options;

/** Skip hashing the stored blocks: versions are checked against their
 *  manifests, their blocks only for being there. */
#define VAULT_VERIFY_QUICK 0x1

#define VAULT_VERIFY_OPTIONS_VERSION 2
#define VAULT_VERIFY_OPTIONS_INIT { VAULT_VERIFY_OPTIONS_VERSION, NULL, NULL, NULL, 0, 0, NULL }

/**
 * Replay the whole chain and check the state against it; `opts` NULL for
 * no anchor, no progress and one thread per core. Runs its own threads;
 * call it with no other call running on the handle.
 * @return 0 when everything verifies; VAULT_ECORRUPT naming the first
 *         failing event (or record) in vault_error_last() and `res`;
 *         VAULT_EUSAGE for options of an unknown version or a bad anchor.
 */
VAULT_EXTERN(int) vault_audit_verify(vault_verify_result *res, vault *v,
	const vault_verify_options *opts) VAULT_WARN_UNUSED;

typedef struct {
	uint64_t commits;                /**< events added this time */
	uint64_t objects;                /**< git objects written this time */
	int changed;                     /**< anything written at all */
	char head[VAULT_OID_SIZE];       /**< the exported head */
	char diverged[VAULT_OID_SIZE];   /**< on VAULT_ECORRUPT: what the target holds */
} vault_export_result;

/**
 * Write the history to a bare git repository at `dir` (created if missing
 * or empty), on the branch `audit`, with an `allowed_signers` file and the
 * config that makes stock `git verify-commit` use it. Later exports add
 * only what is new; an unchanged history writes nothing.
 * @return 0; VAULT_ECORRUPT when the repository's `audit` is not a
 *         beginning of this history (a rollback or rewrite on either side).
 */
VAULT_EXTERN(int) vault_audit_export(vault_export_result *res, vault *v, const char *dir);

typedef struct {
	int pushed;                      /**< 0: the witness was up to date */
	char head[VAULT_OID_SIZE];       /**< this vault's head */
	char witness[VAULT_OID_SIZE];    /**< what the witness held, or "" */
} vault_push_result;

typedef struct {
	int found;                       /**< the witness holds an `audit` branch */
	char witness[VAULT_OID_SIZE];    /**< the commit it holds, or "" */
	uint64_t behind;                 /**< events of ours the witness lacks */
} vault_witness_result;

/**
 * Check a witness without changing it: its branch `audit` (at `url`, any
 * git remote or a repository directory) must name an event of this chain.
 * @return 0 (also when it has no `audit` yet: `found` is 0); VAULT_ECORRUPT
 *         when it names a commit that is not in the chain; VAULT_ENOTFOUND
 *         (a local path that does not exist); VAULT_EUSAGE (an empty URL);
 *         VAULT_ERROR (a witness that cannot be reached or read).
 */
VAULT_EXTERN(int) vault_audit_witness(vault_witness_result *res, vault *v, const char *url);

/**
 * Push the history to a witness: any git remote (a path, file://, ssh://),
 * on its branch `audit`: the objects are read from the vault's encrypted
 * history as the pack is made; `cache` is a bare repository of references
 * only (made if absent), which holds the pushed head's id and never an
 * object. The witness must hold a beginning of this history.
 * @return 0; VAULT_ECORRUPT when it does not (a rollback or a rewrite on
 *         either side), naming what it holds.
 */
VAULT_EXTERN(int) vault_audit_push(vault_push_result *res, vault *v, const char *cache,
	const char *url);

/**
 * The push the vault makes by itself: to the witness of the setting
 * `witness`, when `force` (an unmount) or when `witness-every` events were
 * appended since the last attempt, with the references of DIR/audit.git
 * (vault_audit_push). Nothing when no witness is set. Needs an unlocked user. A failed
 * push is recorded as a signed `witness-failed` event and returned (the
 * caller warns: no event of the vault is lost), and tried again after
 * `witness-every` more events.
 * @return 0 (res->pushed says whether it pushed); the push's error.
 */
VAULT_EXTERN(int) vault_witness_auto(vault_push_result *res, vault *v, int force);

/* ---- views for auditors and DPOs (report.c) ------------------------------
 *
 * The log with more filters, one event in full, and reports about cases and
 * people. Notes of purpose (Purpose-Note) and the reports need an unlocked
 * admin or auditor: they open the audit key, which only those roles hold.
 */

/** A filter for vault_audit_query(). */
typedef struct {
	unsigned int version;            /**< VAULT_LOG_OPTIONS_VERSION */
	const char *case_code;           /**< NULL: any */
	const char *user;                /**< actor; NULL: any */
	int64_t since, until;            /**< 0: unbounded */
	const char *const *actions;      /**< NULL-terminated list; NULL: any */
	const char *node;                /**< node id (hex); NULL: any */
	int notes;                       /**< open each event's Purpose-Note */
} vault_log_options;

#define VAULT_LOG_OPTIONS_VERSION 1
#define VAULT_LOG_OPTIONS_INIT { VAULT_LOG_OPTIONS_VERSION, NULL, NULL, 0, 0, NULL, NULL, 0 }

/**
 * Callback of vault_audit_query(): one event, and its note.
 *
 * @param note  the event's note of purpose, decrypted, when `notes` was
 *              asked and the event has one; NULL otherwise. Valid only
 *              during the call: it is wiped when the call returns.
 * @return 0 to go on; anything else stops the walk and is returned.
 */
typedef int (*vault_event_cb)(const vault_event_info *ev, const char *note, void *payload);

/**
 * The log: events oldest first, filtered by `opts` (NULL: all) by case,
 * actor, time, actions and node, with the notes of purpose if asked.
 *
 * WARNING: a note is free text a reader typed about a victim's file. Show
 * it to the person who asked; never write it to a log.
 *
 * @return 0; VAULT_EUSAGE for a case or user (actor) that no event of the
 *         history names (a typo must not look like "no events");
 *         VAULT_EACCES when `notes` is asked and no admin or auditor is
 *         unlocked (vault_unlock()); VAULT_ECORRUPT when the chain or a
 *         note cannot be read; or what the callback returned.
 */
VAULT_EXTERN(int) vault_audit_query(vault *v, const vault_log_options *opts,
	vault_event_cb cb, void *payload);

/** How an event is signed. */
typedef enum {
	VAULT_SIG_GOOD = 0,     /**< by the actor's key in the policy before it */
	VAULT_SIG_UNSIGNED = 1, /**< no signature (only a failed unlock may be so) */
	VAULT_SIG_BAD = 2,      /**< a signature that does not verify, or no such actor */
} vault_sig_t;

/** One path of the history tree an event changed, versus its parent. */
typedef struct {
	const char *path;       /**< e.g. "policy/cases/C-7KQ2M9XD", "nodes/AB/CD/ID" */
	char change;            /**< 'A' added, 'M' changed, 'D' removed */
} vault_tree_change;

/** One event in full (vault_audit_show()). */
typedef struct {
	const vault_event_info *info;
	uint64_t index;                  /**< 1-based position in the chain */
	const char *parent;              /**< parent commit, "" for the genesis */
	const char *tree;                /**< the event's tree */
	vault_sig_t signature;
	const char *signer;              /**< whose key signed it; "" when unsigned */
	int has_note;                    /**< the event carries a sealed note */
	const char *note;                /**< decrypted (with `notes`), else NULL */
	size_t nchanges;
	const vault_tree_change *changes;/**< sorted by path */
} vault_event_detail;

/**
 * Show one event: `id` is its full commit id, a unique prefix of at
 * least 7 hex digits, or "#N", the N-th event of the chain (1 is the
 * genesis; verify names a failing event so). `cb` is called once; what it
 * gets is valid only during the call.
 *
 * @return 0; VAULT_EUSAGE (not 7 to 40 hex digits nor #N); VAULT_ENOTFOUND (no
 *         event of the chain has that id, or more than one has that prefix:
 *         the message says which); VAULT_EACCES (notes without an unlocked
 *         admin or auditor); VAULT_ECORRUPT.
 */
VAULT_EXTERN(int) vault_audit_show(vault *v, const char *id, int notes,
	int (*cb)(const vault_event_detail *d, void *payload), void *payload);

/** Which report (vault_audit_report()). */
typedef enum {
	VAULT_REPORT_CASE = 1,      /**< reads and writes of a case's documents */
	VAULT_REPORT_USER = 2,      /**< what a user did, and what was done about them */
	VAULT_REPORT_REVOKED = 3,   /**< a (removed) member: reads, and what they could read */
	VAULT_REPORT_ANOMALIES = 4, /**< the anomaly rules of the vault settings */
	VAULT_REPORT_RECOVERIES = 5, /**< custodian setups, recovery requests, approvals,
	                                  grants (of `case_code` if given), reasons with `notes` */
} vault_report_t;

typedef struct {
	unsigned int version;            /**< VAULT_REPORT_OPTIONS_VERSION */
	vault_report_t report;
	const char *case_code;           /**< CASE, REVOKED */
	const char *user;                /**< USER, REVOKED */
	int notes;                       /**< open the notes of the events listed */
	int64_t since, until;            /**< events considered; 0: unbounded */
} vault_report_options;

#define VAULT_REPORT_OPTIONS_VERSION 1
#define VAULT_REPORT_OPTIONS_INIT { VAULT_REPORT_OPTIONS_VERSION, 0, NULL, NULL, 0, 0, 0 }

/** What a report line is. */
typedef enum {
	VAULT_LINE_EVENT = 1,       /**< an event: `event`, `note`, `relation` */
	VAULT_LINE_MEMBERSHIP = 2,  /**< REVOKED: one span of membership */
	VAULT_LINE_EXPOSED = 3,     /**< REVOKED: a version the member could read */
	VAULT_LINE_FLAG = 4,        /**< ANOMALIES: one rule that fired */
} vault_line_t;

typedef struct {
	vault_line_t kind;
	/** EVENT: the event; EXPOSED: the event that wrote the version. */
	const vault_event_info *event;
	const char *note;                /**< EVENT, with `notes`: the note, or NULL */
	/** EVENT: "read", "write" (CASE); "by", "about" (USER); "read" (REVOKED). */
	const char *relation;
	const char *user;                /**< MEMBERSHIP, FLAG */
	const char *case_code;           /**< MEMBERSHIP, EXPOSED, FLAG ("" if none) */
	const char *access;              /**< MEMBERSHIP: "rw" or "ro" */
	/** MEMBERSHIP: granted .. revoked (0: still a member); FLAG: first and
	 *  last event counted. */
	int64_t from, to;
	uint32_t epoch;                  /**< MEMBERSHIP: highest epoch held; EXPOSED: the version's */
	const char *rule;                /**< FLAG: "bulk-reads", "off-hours",
	                                      "after-membership-change", "failed-unlocks" */
	uint64_t count;                  /**< FLAG: events counted */
	uint64_t limit;                  /**< FLAG: the threshold ("more than") */
	int64_t window;                  /**< FLAG: the rule's window in seconds */
	const char *detail;              /**< FLAG: e.g. "grant of som", "mon-fri 07:00-19:00" */
} vault_report_line;

/**
 * Run a report over the whole history, lines in time order (REVOKED: the
 * memberships, then the reads, then the versions exposed).
 *
 * @return 0; VAULT_EACCES unless an admin or auditor is unlocked;
 *         VAULT_EUSAGE for a case or user the history never had;
 *         VAULT_ENOTFOUND for a user who was never a member of the case
 *         (REVOKED);
 *         VAULT_ECORRUPT; or what the callback returned.
 */
VAULT_EXTERN(int) vault_audit_report(vault *v, const vault_report_options *opts,
	int (*cb)(const vault_report_line *line, void *payload), void *payload);

#endif
