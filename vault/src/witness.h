/*
 * witness.h — what backup.c uses of the witness.
 */
#ifndef VAULT_WITNESS_H
#define VAULT_WITNESS_H

#include "internal.h"
#include "settings.h"

/*
 * The witness the settings name (url[0] = '\0' when none), and how many
 * events its `audit` holds after `head`, which it must hold (*found = 0
 * when it does not: it lacks it, or is of another history). The witness's
 * branch is fetched into a temporary repository beside the vault,
 * removed afterwards. Called in a session (the settings are the head's).
 */
int vault_witness__later(uint64_t *later, int *found, char url[VAULT_WITNESS_URL_MAX + 1], vault *v, const git_oid *head);

#endif
