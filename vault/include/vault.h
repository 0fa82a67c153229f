/*
 * casevault — the public API. cli/ and fusefs/ include only this.
 */
#ifndef VAULT_H
#define VAULT_H

#include "vault/common.h"
#include "vault/errors.h"
#include "vault/vault.h"
#include "vault/audit.h"
#include "vault/backup.h"
#include "vault/compact.h"

#endif
