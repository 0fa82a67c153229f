#!/bin/sh
# po/update-po.sh (or: cmake --build build --target update-po): the
# template po/casevault.pot made again from the sources, and merged into
# each catalog of po/LINGUAS. New messages come in untranslated, changed
# ones fuzzy: translate them (and remove the "fuzzy" flag), then run
# tests/cli/t_locale.sh, which fails while one is left.
set -eu
cd "$(dirname "$0")/.."
sh po/make-pot.sh po/casevault.pot
for lang in $(cat po/LINGUAS); do
	msgmerge --quiet --update --backup=none --add-location=file --sort-by-file "po/$lang.po" po/casevault.pot
	printf '%s: ' "$lang"
	msgfmt --check --statistics -o /dev/null "po/$lang.po"
done
