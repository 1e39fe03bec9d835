#!/usr/bin/env bash
# Undoes scripts/e2e/setup.sh: stops its Dovecot instance and Postfix, puts the original Postfix
# configuration back (or none, when there was none), and removes the state directory (test CA,
# OAuth signing key, users, maps) and the Maildirs. Installed packages and the vmail user stay.
# Needs root.
set -euo pipefail
STATE=${E2E_STATE_DIR:-/var/lib/email-sync-e2e}
MAIL_ROOT=${E2E_MAIL_ROOT:-/var/mail-e2e}
[ "$(id -u)" -eq 0 ] || { echo "teardown.sh: run as root" >&2; exit 1; }

if [ -f "$STATE/dovecot.conf" ] && [ -s /run/dovecot-e2e/master.pid ]; then
  dovecot -c "$STATE/dovecot.conf" stop || true
fi
if command -v postfix >/dev/null && postfix status >/dev/null 2>&1; then postfix stop >/dev/null 2>&1 || true; fi
for f in main.cf master.cf; do
  if [ -e "$STATE/$f.orig" ]; then cp -p "$STATE/$f.orig" "/etc/postfix/$f"
  elif [ -e "$STATE/$f.none" ]; then rm -f "/etc/postfix/$f"
  fi
done
rm -rf "$STATE" "$MAIL_ROOT"
echo "== e2e mail servers stopped and removed"
