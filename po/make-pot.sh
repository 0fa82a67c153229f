#!/bin/sh
# po/make-pot.sh OUT: the message template of the sources in po/POTFILES.
#
# cli_error() translates two of its arguments, the hint (2) and the format
# (3), and so does config_error() (3 and 4, cli/config.c); xgettext takes
# one argument position per keyword and run, so the formats and the hints
# are extracted in two runs and merged.
set -eu
cd "$(dirname "$0")/.."
out=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
files=$(grep -v '^#' po/POTFILES)
common="--language=C --from-code=UTF-8 --add-location=file --sort-by-file
	--package-name=casevault
	--keyword=_ --keyword=N_ --keyword=gettext"
# shellcheck disable=SC2086
xgettext $common -o "$tmp/formats.pot" \
	--keyword=cli_error:3 --flag=cli_error:3:c-format \
	--keyword=cli_error_os:2 --flag=cli_error_os:2:c-format \
	--keyword=cli_usage_error:1 --flag=cli_usage_error:1:c-format \
	--keyword=cli_usage_suggest:2 --flag=cli_usage_suggest:2:c-format \
	--keyword=cli_fail_vault:1 --flag=cli_fail_vault:1:c-format \
	--keyword=cli_warning:1 --flag=cli_warning:1:c-format \
	--keyword=cli_confirm:3 --flag=cli_confirm:3:c-format \
	--keyword=cli_batch_note:1 --flag=cli_batch_note:1:c-format \
	--keyword=cli_note:2 --flag=cli_note:2:c-format \
	--keyword=config_error:4 --flag=config_error:4:c-format \
	$files
# shellcheck disable=SC2086
xgettext $common -o "$tmp/hints.pot" \
	--keyword=cli_error:2 --flag=cli_error:2:no-c-format \
	--keyword=cli_error_os:1 --flag=cli_error_os:1:no-c-format \
	--keyword=config_error:3 --flag=config_error:3:no-c-format \
	$files
# The library's messages: every file of it, so that none is forgotten. It
# formats each twice, in English and from its translation
# (vault/src/util/errors.c); vault_error_git's argument is a plain string,
# and so is what failed, as vault_store__error and its two callers in
# store.c and event.c (record_result, git_fail) are told it. The replay's
# findings (verify_event.c, verify_recovery.c) are set through FAIL().
lib=$(ls vault/src/*.c vault/src/util/*.c)
# shellcheck disable=SC2086
xgettext $common -o "$tmp/library.pot" \
	--keyword=vault_error_set:2 --flag=vault_error_set:2:c-format \
	--keyword=vault_error_wrap:2 --flag=vault_error_wrap:2:c-format \
	--keyword=vault_error_git:1 --flag=vault_error_git:1:no-c-format \
	--keyword=vault_error_prefix:2 --flag=vault_error_prefix:2:no-c-format \
	--keyword=vault_store__error:2 --flag=vault_store__error:2:no-c-format \
	--keyword=record_result:2 --flag=record_result:2:no-c-format \
	--keyword=git_fail:2 --flag=git_fail:2:no-c-format \
	--keyword=FAIL:1 --flag=FAIL:1:c-format \
	$lib
msgcat --use-first --add-location=file --sort-by-file -o "$out" "$tmp/formats.pot" "$tmp/hints.pot" \
	"$tmp/library.pot"
