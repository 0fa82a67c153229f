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
} vault_event_info;

typedef struct {
	const char *case_code;   /**< NULL: any */
	const char *user;        /**< NULL: any actor */
	int64_t since, until;    /**< 0: unbounded */
} vault_log_filter;

/** Events oldest first. */
VAULT_EXTERN(int) vault_audit_log(vault *v, const vault_log_filter *filter,
	int (*cb)(const vault_event_info *ev, void *payload), void *payload);

typedef struct {
	uint64_t events;                 /**< events checked */
	uint64_t versions;               /**< versions checked against their manifests */
	uint64_t records;                /**< state records checked against the head */
	uint64_t bad_index;              /**< 1-based number of the first bad event, or 0 */
	char head[VAULT_OID_SIZE];       /**< the head that was verified */
	char bad_commit[VAULT_OID_SIZE]; /**< first event that failed, or "" */
} vault_verify_result;

typedef struct {
	const char *anchor;              /**< a commit the chain must contain, or NULL */
	/** Called now and then from the calling thread, `done` of `total` steps. */
	void (*progress)(uint64_t done, uint64_t total, void *payload);
	void *payload;
	unsigned int threads;            /**< 0: one per core */
} vault_verify_options;

/**
 * Replay the whole chain and check the state against it.
 * @return 0 when everything verifies; VAULT_ECORRUPT naming the first
 *         failing event (or record) in vault_error_last() and `res`.
 */
VAULT_EXTERN(int) vault_audit_verify(vault_verify_result *res, vault *v,
	const char *anchor) VAULT_WARN_UNUSED;

/** vault_audit_verify() with a progress callback and a thread count. */
VAULT_EXTERN(int) vault_audit_verify_with(vault_verify_result *res, vault *v,
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

/**
 * Push the history to a witness: any git remote (a path, file://, ssh://),
 * on its branch `audit`, through the local export `cache` (see
 * vault_audit_export). The witness must hold a beginning of this history.
 * @return 0; VAULT_ECORRUPT when it does not (a rollback or a rewrite on
 *         either side), naming what it holds.
 */
typedef struct {
	int found;                       /**< the witness holds an `audit` branch */
	char witness[VAULT_OID_SIZE];    /**< the commit it holds, or "" */
	uint64_t behind;                 /**< events of ours the witness lacks */
} vault_witness_result;

/**
 * Check a witness without changing it: its branch `audit` (at `url`, any
 * git remote or a repository directory) must name an event of this chain.
 * @return 0 (also when it has no `audit` yet: `found` is 0); VAULT_ECORRUPT
 *         when it names a commit that is not in the chain.
 */
VAULT_EXTERN(int) vault_audit_witness(vault_witness_result *res, vault *v, const char *url);

VAULT_EXTERN(int) vault_audit_push(vault_push_result *res, vault *v, const char *cache,
	const char *url);

#endif
