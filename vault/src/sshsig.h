/*
 * casevault — OpenSSH "SSHSIG" signatures with Ed25519 keys.
 *
 * The audit log is exported as a git history whose commits carry SSH
 * signatures, so that stock `git verify-commit` (gpg.format=ssh) and
 * `ssh-keygen -Y verify` can check them without casevault. Only what that
 * needs is implemented: Ed25519 keys, namespace "git", hash sha512 when
 * signing (sha512 or sha256 accepted when verifying).
 *
 * The formats are OpenSSH's PROTOCOL.sshsig and the public key line of
 * sshd(8) "AUTHORIZED_KEYS FILE FORMAT"; the byte layouts are written out
 * in sshsig.c.
 */
#ifndef VAULT_SSHSIG_H
#define VAULT_SSHSIG_H

#include <stddef.h>

#include "vault/common.h"

/** Enough for an armored Ed25519 signature and its NUL (it takes 294). */
#define VAULT_SSHSIG_ARMOR_MAX 400

/** Enough for an "ssh-ed25519 BASE64" line and its NUL (it takes 81). */
#define VAULT_SSHSIG_PUBLINE_MAX 128

/**
 * Sign a git commit buffer.
 *
 * Writes the armored signature, from "-----BEGIN SSH SIGNATURE-----" to
 * "-----END SSH SIGNATURE-----", base64 lines of 70 characters, *without*
 * the final newline, NUL-terminated. That is the form libgit2's
 * git_commit_create_with_signature() wants for the `gpgsig` header. The
 * output is byte-identical to `ssh-keygen -Y sign -n git` for the same key
 * (Ed25519 is deterministic).
 *
 * @param[out] out  destination for the armored text
 * @param outsz     size of `out`, at least VAULT_SSHSIG_ARMOR_MAX
 * @param msg       the commit object without its `gpgsig` header
 * @param msglen    length of `msg`
 * @param sk        libsodium Ed25519 secret key (seed || public key);
 *                  read in place, never copied
 * @return 0 on success; VAULT_ERROR if `out` is too small or signing fails.
 */
int vault_sshsig__sign(char *out, size_t outsz,
	const unsigned char *msg, size_t msglen, const unsigned char sk[64]);

/**
 * Verify an armored signature over a git commit buffer.
 *
 * Accepts the text with or without its final newline, with CRLF line ends,
 * and with each line after the first indented (as in a `gpgsig` header, or
 * as git_commit_extract_signature() returns it). Checks the armor, the
 * magic, version 1, key type ssh-ed25519, that the embedded public key is
 * `pk`, namespace "git", an empty reserved field, hash sha512 or sha256,
 * no trailing data, and finally the Ed25519 signature.
 *
 * @param armor      the armored signature (need not be NUL-terminated)
 * @param armor_len  length of `armor`
 * @param msg        the commit object without its `gpgsig` header
 * @param msglen     length of `msg`
 * @param pk         the expected Ed25519 public key
 * @return 0 if the signature is valid;
 *         VAULT_ECORRUPT on any failure, with a message that says which
 *         check failed ("... key does not match ..." for another key).
 */
int vault_sshsig__verify(const char *armor, size_t armor_len,
	const unsigned char *msg, size_t msglen,
	const unsigned char pk[32]) VAULT_WARN_UNUSED;

/**
 * Format an Ed25519 public key as an OpenSSH public key line.
 *
 * Writes "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI..." with no comment and no
 * newline, NUL-terminated; usable after the principal and options of an
 * allowed_signers line.
 *
 * @param[out] out  destination
 * @param outsz     size of `out`, at least VAULT_SSHSIG_PUBLINE_MAX
 * @param pk        the public key
 * @return 0 on success; VAULT_ERROR if `out` is too small.
 */
int vault_sshsig__publine(char *out, size_t outsz, const unsigned char pk[32]);

/**
 * Parse an "ssh-ed25519 BASE64 [comment]" line back to a public key.
 *
 * Leading blanks and a trailing newline are allowed; the key type before
 * the base64 must match the one inside it.
 *
 * @param[out] pk  the 32-byte public key; left untouched on failure
 * @param line     the line (need not be NUL-terminated)
 * @param len      length of `line`
 * @return 0 on success; VAULT_ECORRUPT if the line is not an Ed25519 key.
 */
int vault_sshsig__parse_publine(unsigned char pk[32], const char *line, size_t len);

#endif
