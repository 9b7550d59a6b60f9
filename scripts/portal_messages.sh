#!/usr/bin/env bash
# Re-extract the portal's messages and merge them into the zh/en catalogues (Babel).
# Then translate the new entries of lightcomp/api/portal/locale/zh/LC_MESSAGES/messages.po;
# the catalogues are compiled in memory when the portal starts (lightcomp.api.portal.i18n).
set -euo pipefail
cd "$(dirname "$0")/../lightcomp/api/portal"
pybabel extract -F babel.cfg -k _ -k N_ -k ngettext:1,2 --no-location --sort-output \
  --project lightcomp-portal -o locale/messages.pot .
for lang in zh en; do
  if [ -f "locale/$lang/LC_MESSAGES/messages.po" ]; then
    pybabel update -i locale/messages.pot -d locale -l "$lang" --no-fuzzy-matching --ignore-obsolete
  else
    pybabel init -i locale/messages.pot -d locale -l "$lang"
  fi
done
