#!/bin/bash
# End-to-end test of the systemd units under a real systemd (PID 1) in a
# throw-away nspawn container: socket activation, readiness, reload, the
# journal's structured fields, a templated per-app instance, and stop.
#
#   unshare --mount --propagation private bash tests/e2e/units.sh BIN APPDIR
#
# BIN is the wasi-httpd binary, APPDIR a Spin app (spin.toml + .wasm files
# with relative sources) whose /api/... route answers "hello..." and whose
# /log/... route is served by a component that writes to stdout. Exits non-zero with the reason on the first failure.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BIN=$1
APP=$2
. "$HERE/nspawn-lib.sh"

fail() { echo "FAIL: $*"; X journalctl --no-pager -n 80 -u 'wasi-httpd*' 2>/dev/null; teardown_container; exit 1; }
expect() { # expect "what" "got" "pattern"
  case "$2" in *$3*) echo "ok: $1";; *) fail "$1: expected *$3*, got: $2";; esac
}

prep() {
  install -m 0755 "$BIN" "$R/usr/bin/wasi-httpd"
  cp "$REPO"/systemd/*.socket "$REPO"/systemd/*.service "$R/etc/systemd/system/"
  for app in default shop; do
    mkdir -p "$R/etc/wasi-httpd/apps/$app"
    cp -r "$APP"/. "$R/etc/wasi-httpd/apps/$app/"
  done
  chmod -R a+rX "$R/etc/wasi-httpd"
}
PREPARE=prep
boot_container || { echo "FAIL: the container did not boot"; exit 1; }

X systemctl daemon-reload
start_socket wasi-httpd.socket
expect "service is started lazily" "$(X systemctl is-active wasi-httpd.service)" "inactive"
expect "first request starts the service and is answered" \
  "$(X curl -sS -m 30 http://127.0.0.1/api/hello)" "hello"
expect "service is active and ready" \
  "$(X systemctl show wasi-httpd.service -p ActiveState -p SubState -p StatusText)" "StatusText=serving app"
expect "watchdog is armed" "$(X systemctl show wasi-httpd.service -p WatchdogUSec)" "WatchdogUSec=30s"
expect "memory is capped" "$(X systemctl show wasi-httpd.service -p MemoryHigh -p MemoryMax)" \
  "MemoryHigh=3221225472
MemoryMax=4294967296"

X systemctl reload wasi-httpd.service || fail "systemctl reload"
expect "reload keeps serving" "$(X curl -sS -m 10 http://127.0.0.1/api/again)" "hello"
expect "reloaded status" "$(X systemctl show wasi-httpd.service -p StatusText -p ActiveState)" "ActiveState=active"

X curl -sS -m 10 -o /dev/null http://127.0.0.1/log/x
sleep 1
X journalctl --sync 2>/dev/null
ACCESS=$(X journalctl -u wasi-httpd.service ROUTE=/api/... -o json --no-pager)
expect "access record is found by ROUTE=" "$ACCESS" '"PATH":"/api/hello"'
expect "access record has STATUS" "$ACCESS" '"STATUS":"200"'
expect "access record has COMPONENT" "$ACCESS" '"COMPONENT":"'
expect "access record has REQUEST_ID" "$ACCESS" '"REQUEST_ID":"'
expect "access record has DURATION" "$ACCESS" '"DURATION":"'
expect "identifier" "$ACCESS" '"SYSLOG_IDENTIFIER":"wasi-httpd"'
GUEST=$(X journalctl -u wasi-httpd.service STREAM=stdout -o json --no-pager)
expect "guest stdout reaches the journal with its component" "$GUEST" '"COMPONENT":"'
expect "reload is in the journal" "$(X journalctl -u wasi-httpd.service --no-pager -o cat)" "reloaded"

# The admin socket: systemd refuses to start a socket unit whose service
# runs, and the service gets it at its next start; metrics and health
# checks there, never on the app's socket (and app routes never there).
X systemctl stop wasi-httpd.service
start_socket wasi-httpd-admin.socket
X curl -sS -m 30 -o /dev/null http://127.0.0.1/api/counted
expect "admin socket serves readiness" "$(X curl -sS -m 10 http://127.0.0.1:9188/readyz)" "ready"
expect "admin socket serves metrics" "$(X curl -sS -m 10 http://127.0.0.1:9188/metrics)" \
  'wasi_httpd_requests_total{route="/api/...",component='
expect "the app's socket does not serve metrics" \
  "$(X curl -sS -m 10 -o /dev/null -w '%{http_code}' http://127.0.0.1/metrics)" "404"
X systemctl stop wasi-httpd-admin.socket
X systemctl restart wasi-httpd.service || fail "restart without the admin socket"

X systemctl start wasi-httpd@shop.socket || fail "start wasi-httpd@shop.socket"
expect "templated instance answers on its unix socket" \
  "$(X curl -sS -m 30 --unix-socket /run/wasi-httpd-shop.sock http://shop/api/x)" "hello"
expect "templated instance is its own unit" \
  "$(X systemctl show wasi-httpd@shop.service -p ActiveState -p StatusText)" "ActiveState=active"

# Scale to zero: with --exit-idle-after the service exits when idle and the
# socket unit starts it again on the next connection, which is answered.
mkdir -p "$R/etc/systemd/system/wasi-httpd.service.d"
printf '[Service]\nEnvironment=WASI_HTTPD_EXIT_IDLE_AFTER=1s\n' > "$R/etc/systemd/system/wasi-httpd.service.d/idle.conf"
X systemctl daemon-reload
X systemctl restart wasi-httpd.service || fail "restart with --exit-idle-after"
expect "idle service answers" "$(X curl -sS -m 30 http://127.0.0.1/api/idle)" "hello"
for _ in $(seq 1 100); do
  [ "$(X systemctl is-active wasi-httpd.service)" = inactive ] && break
  sleep 0.2
done
expect "idle service exited" "$(X systemctl show wasi-httpd.service -p ActiveState -p ExecMainStatus)" "ExecMainStatus=0"
expect "idle service is inactive" "$(X systemctl is-active wasi-httpd.service)" "inactive"
expect "the socket stays" "$(X systemctl is-active wasi-httpd.socket)" "active"
expect "the next connection starts it again" "$(X curl -sS -m 30 http://127.0.0.1/api/again)" "hello"
rm "$R/etc/systemd/system/wasi-httpd.service.d/idle.conf"
X systemctl daemon-reload

X systemctl stop wasi-httpd.service wasi-httpd@shop.service
expect "stop ends with success" "$(X systemctl show wasi-httpd.service -p Result -p ExecMainStatus)" "ExecMainStatus=0"
expect "stop said STOPPING and drained" "$(X journalctl -u wasi-httpd.service --no-pager -o cat)" "all connections closed"

echo "security: $(X systemd-analyze security wasi-httpd.service --no-pager 2>/dev/null | tail -1)"
teardown_container
echo "PASS"
