#!/usr/bin/env bash
# End-to-end mail servers on loopback, for `npm run test:e2e` (DESIGN.md "Mail servers for tests").
#   Dovecot  POP3 127.0.0.1:1110 (STLS) and 127.0.0.1:1995 (implicit TLS); SASL for Postfix
#   Postfix  submission 127.0.0.1:1587 (STARTTLS required, AUTH via Dovecot) and smtps 127.0.0.1:1465
#            (implicit TLS); mail for @e2e.test goes into the Maildirs Dovecot serves
# Users alice, bob, carol, dave, frank, grace (@e2e.test) with the passwords below, and erin@e2e.test, who has no
# password and logs in with OAuth 2.0 only (SASL XOAUTH2 or OAUTHBEARER): Dovecot's oauth2 passdb
# validates the bearer token locally as a JWT (HS256) signed with a key this script generates
# ($STATE/oauth2/), issued by $OAUTH_ISSUER to the client $OAUTH_CLIENT_ID (the token's `azp`), with
# erin's address as `email`. No introspection service is involved. A test CA signs the servers'
# certificate (CN localhost, SAN localhost + 127.0.0.1). Mail to other domains is refused
# ("Relay access denied"), and a login may only send as its own address (reject_sender_login_mismatch).
# svc@e2e.test is a service account and a Dovecot master user (auth_master_user_separator "*"): it may
# log in as frank or grace, by SASL PLAIN authzid (RFC 4616) or as "frank*svc", and may send as
# their addresses (docs/delegation.md; test-e2e/delegation.test.ts).
#
# Needs root: installs dovecot-core, dovecot-pop3d and postfix with apt-get when missing, runs its
# own Dovecot instance (config under $STATE, base_dir /run/dovecot-e2e) and takes over the system
# Postfix (/etc/postfix/main.cf and master.cf; the originals are kept for teardown.sh). Idempotent:
# run it again to reapply the configuration and restart what is not running.
# Writes $STATE/e2e.env (KEY=value lines) that test-e2e reads, and prints it.
set -euo pipefail

STATE=${E2E_STATE_DIR:-/var/lib/email-sync-e2e}
MAIL_ROOT=${E2E_MAIL_ROOT:-/var/mail-e2e}
DOMAIN=e2e.test
USERS=(alice:alice-e2e-pw bob:bob-e2e-pw carol:carol-e2e-pw dave:dave-e2e-pw frank:frank-e2e-pw grace:grace-e2e-pw)
# The service account: an ordinary user (own maildrop, SMTP login) and a master user for DELEGATED.
MASTER=svc:svc-master-e2e-pw MASTER_SEPARATOR='*' DELEGATED=(frank grace)
OAUTH_USERS=(erin) # no password: XOAUTH2/OAUTHBEARER with a JWT only
OAUTH_ISSUER=https://login.e2e.test/ OAUTH_CLIENT_ID=email-sync-e2e OAUTH_SCOPE=mail.e2e
POP3=1110 POP3S=1995 SUBMISSION=1587 SMTPS=1465

[ "$(id -u)" -eq 0 ] || { echo "setup.sh: run as root (installs packages, starts Postfix and Dovecot)" >&2; exit 1; }
mkdir -p "$STATE"
exec 9>"$STATE/.lock"
flock 9 # test files may start it concurrently

# alive PIDFILE: the process the file names runs. Not `kill -0`: a daemon killed on a machine whose
# init does not reap leaves a zombie that kill -0 still finds, and a reload of it does nothing.
alive() {
  local pid
  pid=$(tr -dc 0-9 <"$1" 2>/dev/null) && [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  [ "$(sed 's/.*) //' "/proc/$pid/stat" | cut -d' ' -f1)" != Z ]
}

# --- packages ---------------------------------------------------------------------------------
missing=()
for p in dovecot-core dovecot-pop3d postfix openssl; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- the mail user, Maildirs, TLS ---------------------------------------------------------------
getent group vmail >/dev/null || groupadd --system vmail
getent passwd vmail >/dev/null || useradd --system --gid vmail --no-create-home --home-dir "$MAIL_ROOT" --shell /usr/sbin/nologin vmail
VUID=$(id -u vmail) VGID=$(getent group vmail | cut -d: -f3)
mkdir -p "$MAIL_ROOT"
for u in "${USERS[@]}" "${OAUTH_USERS[@]}" "$MASTER"; do mkdir -p "$MAIL_ROOT/${u%%:*}/Maildir"/{cur,new,tmp}; done
chown -R vmail:vmail "$MAIL_ROOT" && chmod 0770 "$MAIL_ROOT"

TLS="$STATE/tls"
if [ ! -s "$TLS/server.crt" ]; then
  echo "== generating the e2e test CA and server certificate"
  mkdir -p "$TLS"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 -subj "/CN=email-sync e2e CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$TLS/ca.key" -out "$TLS/ca.crt" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" -keyout "$TLS/server.key" -out "$TLS/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > "$TLS/server.ext"
  openssl x509 -req -in "$TLS/server.csr" -CA "$TLS/ca.crt" -CAkey "$TLS/ca.key" -CAcreateserial -days 3650 \
    -extfile "$TLS/server.ext" -out "$TLS/server.crt" 2>/dev/null
  rm -f "$TLS/server.csr" "$TLS/server.ext" "$TLS/ca.srl"
  chmod 600 "$TLS"/*.key
fi

# The key that signs the OAuth users' tokens (HS256): made once, kept with the CA. Dovecot reads it
# from a dict (fs driver: one file per key) at <azp>/<alg>/<kid>, in base64; a token whose azp,
# alg or kid names no file is refused. The tests sign tokens with the same key ($OAUTH/hs256.key).
OAUTH="$STATE/oauth2"
if [ ! -s "$OAUTH/hs256.key" ]; then
  echo "== generating the e2e OAuth token signing key"
  mkdir -p "$OAUTH"
  openssl rand -base64 32 | tr -d '\n' > "$OAUTH/hs256.key.new" && mv "$OAUTH/hs256.key.new" "$OAUTH/hs256.key"
fi
mkdir -p "$OAUTH/keys/$OAUTH_CLIENT_ID/HS256"
cp "$OAUTH/hs256.key" "$OAUTH/keys/$OAUTH_CLIENT_ID/HS256/default"
chown -R root:dovecot "$OAUTH" && chmod -R u=rwX,g=rX,o= "$OAUTH"

# --- Dovecot: POP3 for the users, SASL for Postfix ----------------------------------------------
: > "$STATE/users"
for u in "${USERS[@]}" "$MASTER"; do echo "${u%%:*}:{PLAIN}${u#*:}::::::" >> "$STATE/users"; done
echo "${MASTER%%:*}:{PLAIN}${MASTER#*:}::::::" > "$STATE/master-users"
chown root:dovecot "$STATE/users" "$STATE/master-users" && chmod 0640 "$STATE/users" "$STATE/master-users"
cat > "$STATE/dovecot.conf" <<CONF
# Generated by scripts/e2e/setup.sh; a Dovecot instance of its own beside any system one.
base_dir = /run/dovecot-e2e
instance_name = dovecot-e2e
protocols = pop3
listen = 127.0.0.1
log_path = /var/log/dovecot-e2e.log
ssl = yes
ssl_cert = <$TLS/server.crt
ssl_key = <$TLS/server.key
ssl_min_protocol = TLSv1.2
# POP3 on 1110 takes credentials only after STLS (RFC 2595).
disable_plaintext_auth = yes
auth_mechanisms = plain login xoauth2 oauthbearer
first_valid_uid = $VUID
mail_location = maildir:~/Maildir
pop3_uidl_format = %08Xu%08Xv
# "frank*svc" with svc's password logs in as frank (master users); so does SASL PLAIN with
# authzid frank and authcid svc.
auth_master_user_separator = $MASTER_SEPARATOR
# Passwords for PLAIN and LOGIN, bearer tokens for XOAUTH2 and OAUTHBEARER: neither passdb sees
# the other's mechanisms, so a token is never checked as a password nor a password as a token.
# Master users first: only consulted for a master login (separator form or an authzid), and then
# result_success = continue looks the target user up in the passdbs below, so a master login
# opens only users that exist.
passdb {
  driver = passwd-file
  master = yes
  result_success = continue
  args = scheme=PLAIN username_format=%n $STATE/master-users
}
passdb {
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%n $STATE/users
}
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $STATE/dovecot-oauth2.conf.ext
}
userdb {
  driver = static
  args = uid=$VUID gid=$VGID home=$MAIL_ROOT/%n
}
service pop3-login {
  inet_listener pop3 {
    port = $POP3
  }
  inet_listener pop3s {
    port = $POP3S
    ssl = yes
  }
}
# No growing delay per client IP after failed logins (Dovecot's brute-force penalty, up to 15 s,
# for every login from 127.0.0.1, good ones too): the tests fail logins on purpose, with wrong
# passwords and refused tokens, while other test files log in. A failure still takes 2 s.
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service auth {
  unix_listener /var/spool/postfix/private/auth-e2e {
    mode = 0660
    user = postfix
    group = postfix
  }
}
CONF
cat > "$STATE/dovecot-oauth2.conf.ext" <<CONF
# Generated by scripts/e2e/setup.sh: tokens are JWTs validated here, without a token service.
introspection_mode = local
local_validation_key_dict = fs:posix:prefix=$OAUTH/keys/
issuers = $OAUTH_ISSUER
scope = $OAUTH_SCOPE
# The token's email claim must be the login name (the XOAUTH2 user, the OAUTHBEARER authzid).
username_attribute = email
CONF
chown root:dovecot "$STATE/dovecot-oauth2.conf.ext" && chmod 0640 "$STATE/dovecot-oauth2.conf.ext"
doveconf -c "$STATE/dovecot.conf" -n >/dev/null
# The daemons must not inherit the lock (fd 9), or the next run waits for them forever, nor our
# stdout/stderr: Dovecot keeps stderr open for its log process, and a caller reading our output
# through a pipe (a CI runner, `npm run test:e2e | tail`) would then wait for it forever too.
if alive /run/dovecot-e2e/master.pid; then
  dovecot -c "$STATE/dovecot.conf" reload 9>&- </dev/null >>/var/log/dovecot-e2e.log 2>&1
else
  rm -f /run/dovecot-e2e/master.pid # stale: Dovecot itself would trust kill -0 and refuse to start
  dovecot -c "$STATE/dovecot.conf" 9>&- </dev/null >>/var/log/dovecot-e2e.log 2>&1
fi

# --- Postfix: submission and smtps, delivery into the Maildirs ----------------------------------
# What was there before the first run, for teardown.sh: a copy, or a marker saying "none".
for f in main.cf master.cf; do
  if [ ! -e "$STATE/$f.orig" ] && [ ! -e "$STATE/$f.none" ]; then
    if [ -e "/etc/postfix/$f" ]; then cp -p "/etc/postfix/$f" "$STATE/$f.orig"; else : > "$STATE/$f.none"; fi
  fi
done
: > "$STATE/vmailbox"; : > "$STATE/sender_logins"
for u in "${USERS[@]}" "${OAUTH_USERS[@]}" "$MASTER"; do
  n=${u%%:*}
  echo "$n@$DOMAIN $n/Maildir/" >> "$STATE/vmailbox"
  senders="$n, $n@$DOMAIN" # the SASL login (user or address) may send as the address
  # The service account sends as the mailboxes it serves ("send as" permission).
  for d in "${DELEGATED[@]}"; do [ "$d" = "$n" ] && senders="$senders, ${MASTER%%:*}, ${MASTER%%:*}@$DOMAIN"; done
  echo "$n@$DOMAIN $senders" >> "$STATE/sender_logins"
done
cat > /etc/postfix/main.cf <<CONF
# Generated by scripts/e2e/setup.sh (the original is in $STATE/main.cf.orig when there was one).
compatibility_level = 3.6
myhostname = mx.$DOMAIN
mydomain = $DOMAIN
myorigin = \$mydomain
mydestination = localhost
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains =
alias_maps =
alias_database =
maillog_file = /var/log/postfix-e2e.log
smtpd_peername_lookup = no
virtual_mailbox_domains = $DOMAIN
virtual_mailbox_base = $MAIL_ROOT
virtual_mailbox_maps = texthash:$STATE/vmailbox
virtual_minimum_uid = $VUID
virtual_uid_maps = static:$VUID
virtual_gid_maps = static:$VGID
smtpd_tls_cert_file = $TLS/server.crt
smtpd_tls_key_file = $TLS/server.key
smtpd_tls_security_level = may
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth-e2e
smtpd_sender_login_maps = texthash:$STATE/sender_logins
# Local delivery only: mail for any other domain is refused, authenticated or not (RFC 5321 §3.6.2).
smtpd_relay_restrictions = reject_unauth_destination, permit_sasl_authenticated, reject
CONF
cp /usr/share/postfix/master.cf.dist /etc/postfix/master.cf
postconf -F '*/*/chroot = n' # no chroot: nothing to copy into /var/spool/postfix
postconf -MX smtp/inet       # no port 25: only the two ports below
common="-o smtpd_sasl_auth_enable=yes -o smtpd_delay_reject=no -o smtpd_sender_restrictions=reject_sender_login_mismatch"
postconf -M "127.0.0.1:$SUBMISSION/inet=127.0.0.1:$SUBMISSION inet n - n - - smtpd -o syslog_name=postfix/submission -o smtpd_tls_security_level=encrypt -o smtpd_tls_auth_only=yes $common"
postconf -M "127.0.0.1:$SMTPS/inet=127.0.0.1:$SMTPS inet n - n - - smtpd -o syslog_name=postfix/smtps -o smtpd_tls_wrappermode=yes $common"
postfix check
if alive "$(postconf -h queue_directory)/pid/master.pid"; then postfix reload </dev/null >/dev/null 2>&1 9>&-; else postfix start </dev/null >/dev/null 2>&1 9>&-; fi

# --- ready? -------------------------------------------------------------------------------------
for port in $POP3 $POP3S $SUBMISSION $SMTPS; do
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "setup.sh: nothing listens on 127.0.0.1:$port; see /var/log/dovecot-e2e.log and /var/log/postfix-e2e.log" >&2; exit 1; }
done

cat > "$STATE/e2e.env" <<ENV
E2E_HOST=127.0.0.1
E2E_DOMAIN=$DOMAIN
E2E_POP3_PORT=$POP3
E2E_POP3S_PORT=$POP3S
E2E_SUBMISSION_PORT=$SUBMISSION
E2E_SMTPS_PORT=$SMTPS
E2E_CA=$TLS/ca.crt
E2E_MAIL_ROOT=$MAIL_ROOT
E2E_USERS=${USERS[*]}
E2E_MASTER_USER=$MASTER
E2E_MASTER_SEPARATOR=$MASTER_SEPARATOR
E2E_DELEGATED_USERS=${DELEGATED[*]}
E2E_OAUTH_USERS=${OAUTH_USERS[*]}
E2E_OAUTH_ISSUER=$OAUTH_ISSUER
E2E_OAUTH_CLIENT_ID=$OAUTH_CLIENT_ID
E2E_OAUTH_SCOPE=$OAUTH_SCOPE
E2E_OAUTH_HS256_KEY=$OAUTH/hs256.key
ENV
echo "== e2e mail servers ready ($STATE/e2e.env):"
cat "$STATE/e2e.env"
