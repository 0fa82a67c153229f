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
	char bad_commit[VAULT_OID_SIZE]; /**< first event that failed, or "" */
} vault_verify_result;

/**
 * Replay the whole chain and check the state against it.
 * @return 0 when everything verifies; VAULT_ECORRUPT naming the first
 *         failing event (or record) in vault_error_last() and `res`.
 */
VAULT_EXTERN(int) vault_audit_verify(vault_verify_result *res, vault *v,
	const char *anchor) VAULT_WARN_UNUSED;

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
VAULT_EXTERN(int) vault_audit_push(vault_push_result *res, vault *v, const char *cache,
	const char *url);

#endif
