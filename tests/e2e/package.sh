#!/bin/bash
# Install test of the Debian package under a real systemd (PID 1) in a
# throw-away nspawn container: install, sockets enabled and active, the
# welcome app served through the socket, its journal, an upgrade that keeps
# the socket, the units' sandbox score, remove, purge, nothing left.
#
#   unshare --mount --propagation private bash tests/e2e/package.sh DEB
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
DEB=$(readlink -f "$1")
. "$HERE/nspawn-lib.sh"

fail() { echo "FAIL: $*"; X journalctl --no-pager -n 60 -u 'wasi-httpd*' 2>/dev/null; teardown_container; exit 1; }
expect() { case "$2" in *$3*) echo "ok: $1";; *) fail "$1: expected *$3*, got: $2";; esac; }
refuse() { case "$2" in *$3*) fail "$1: did not expect *$3* in: $2";; *) echo "ok: $1";; esac; }

prep() { cp "$DEB" "$R/root/wasi-httpd.deb"; }
PREPARE=prep
boot_container || { echo "FAIL: the container did not boot"; exit 1; }

X dpkg -i /root/wasi-httpd.deb >/dev/null || fail "dpkg -i"
expect "socket enabled" "$(X systemctl is-enabled wasi-httpd.socket)" "enabled"
expect "socket active" "$(X systemctl is-active wasi-httpd.socket)" "active"
expect "https socket installed, not enabled" "$(X systemctl is-enabled wasi-httpd-https.socket)" "disabled"
expect "admin socket installed, not enabled" "$(X systemctl is-enabled wasi-httpd-admin.socket)" "disabled"
expect "service waits for its socket" "$(X systemctl is-active wasi-httpd.service)" "inactive"
expect "welcome app served through the socket" "$(X curl -sS -m 30 http://127.0.0.1/hello)" "wasi-httpd"
expect "service ready" "$(X systemctl show wasi-httpd.service -p StatusText)" "serving app 'welcome'"
X journalctl --sync 2>/dev/null
expect "request in the journal" "$(X journalctl -u wasi-httpd.service -o json --no-pager)" '"PATH":"/hello"'
expect "man page installed" "$(X ls /usr/share/man/man8/)" "wasi-httpd.8.gz"
expect "bash completion installed" "$(X ls /usr/share/bash-completion/completions/)" "wasi-httpd"
expect "conffiles" "$(X dpkg-query -W -f='${Conffiles}' wasi-httpd)" "/etc/wasi-httpd/apps/default/spin.toml"

echo "security (service): $(X systemd-analyze security wasi-httpd.service --no-pager | tail -1)"
X mkdir -p /etc/wasi-httpd/apps/shop
X cp /etc/wasi-httpd/apps/default/spin.toml /etc/wasi-httpd/apps/default/welcome.wasm /etc/wasi-httpd/apps/shop/
X systemctl start wasi-httpd@shop.socket || fail "start wasi-httpd@shop.socket"
expect "an app under its own template instance" \
  "$(X curl -sS -m 30 --unix-socket /run/wasi-httpd-shop.sock http://shop/)" "wasi-httpd"
echo "security (instance): $(X systemd-analyze security wasi-httpd@shop.service --no-pager | tail -1)"
X systemctl stop wasi-httpd@shop.socket wasi-httpd@shop.service

SOCKET_SINCE=$(X systemctl show wasi-httpd.socket -p ActiveEnterTimestampMonotonic)
SERVICE_PID=$(X systemctl show wasi-httpd.service -p MainPID)
X dpkg -i /root/wasi-httpd.deb >/dev/null || fail "upgrade (dpkg -i again)"
expect "upgrade keeps the socket" "$(X systemctl show wasi-httpd.socket -p ActiveEnterTimestampMonotonic)" "$SOCKET_SINCE"
refuse "upgrade restarts the service" "$(X systemctl show wasi-httpd.service -p MainPID)" "$SERVICE_PID"
expect "served after the upgrade" "$(X curl -sS -m 30 http://127.0.0.1/again)" "wasi-httpd"

X dpkg -r wasi-httpd >/dev/null || fail "dpkg -r"
expect "remove stops the socket" "$(X systemctl is-active wasi-httpd.socket)" "inactive"
expect "remove keeps the configuration" "$(X ls /etc/wasi-httpd/apps/default)" "spin.toml"
X dpkg -P wasi-httpd >/dev/null || fail "dpkg -P"
LEFT=$(X sh -c 'ls -d /etc/wasi-httpd /var/lib/wasi-httpd /var/lib/private/wasi-httpd* /var/cache/wasi-httpd /var/cache/private/wasi-httpd* /usr/bin/wasi-httpd /usr/lib/systemd/system/wasi-httpd* /etc/systemd/system/*/wasi-httpd* /var/lib/systemd/deb-systemd-helper-enabled/*wasi-httpd* 2>/dev/null')
[ -z "$LEFT" ] || fail "purge left: $LEFT"
echo "ok: purge leaves nothing"
expect "package gone" "$(X dpkg-query -W -f='${Status}' wasi-httpd 2>&1)" "no packages found"
teardown_container
echo "PASS"
