/*
 * recovery.h — what the two files of the organisation's recovery share:
 * recovery.c (the custodian set, shares, the split, the status) and
 * recover.c (requests, approvals, the grant, a session's recovery work).
 */
#ifndef VAULT_RECOVERY_H
#define VAULT_RECOVERY_H

#include "policy.h"

#define SHARE_PLAIN (VCRYPTO_KEYBYTES + 32)
/* A share record: format ‖ its x (1) ‖ the custodian's public key it is
 * sealed to (32) ‖ crypto_box_seal(share ‖ binding). */
#define SHARE_REC (1 + 1 + 32 + SHARE_PLAIN + VCRYPTO_SEALBYTES)

typedef struct {
	unsigned int threshold;
	size_t n;
	char names[RECOVERY_MAX][VAULT_NAME_MAX + 1];
	unsigned char pk[RECOVERY_MAX][32];
	int active[RECOVERY_MAX];
	unsigned char set[RECOVERY_SET_SIZE];
} recovery_policy;

/* The vault's custodian set, their keys and status; rp->n is 0 when no
 * recovery was set up. */
int vault_recovery__policy_load(recovery_policy *rp, MDB_txn *txn, vault *v);
/* What a share is bound to: the vault, the case, the epoch, its x, the
 * custodian set, the custodian. */
void vault_recovery__binding(unsigned char out[32], const vault *v, const case_rec *c, uint32_t epoch,
	unsigned int x, const unsigned char set[RECOVERY_SET_SIZE], const char *user);
/* libgfshare's source of randomness (it has none of its own): set before
 * any context is made or freed. */
void vault_recovery__gfshare_init(void);
/* Is `c` a case this session splits (a member holding its key of now, not
 * retired, every custodian active, not covered)? */
int vault_recovery__splits(MDB_txn *txn, vault *v, case_rec *c, const recovery_policy *rp);
/* The event function of a `recovery-split` of case `payload`. */
int vault_recovery__split(vault_event *ev, vault *v, MDB_txn *txn, void *payload);

#endif
