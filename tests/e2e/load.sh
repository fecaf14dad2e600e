#!/bin/bash
# Load through lifecycle events under a real systemd (PID 1) in a
# throw-away nspawn container: `systemctl restart` and `systemctl reload`
# (with a changed app) while a load generator runs (three of each), and `systemctl stop`
# with slow requests in flight. Every request must be answered 200: the
# figures printed are the requests sent, answered, refused, reset and
# otherwise failed in each phase.
#
#   unshare --mount --propagation private bash tests/e2e/load.sh BIN APPDIR [REQUESTS]
#
# APPDIR holds spin.toml (version 1 of the app: /api/... by the hello
# component, /slow by the slow one), spin-v2.toml (/api/... a static
# "v2"), and the .wasm files. The load generator is curl --parallel: 24
# connections at once, each request on a connection of its own
# (Connection: close), so every request is a new accept.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BIN=$1
APP=$2
REQUESTS=${3:-3000}
. "$HERE/nspawn-lib.sh"

fail() { echo "FAIL: $*"; X journalctl --no-pager -n 60 -u 'wasi-httpd*' 2>/dev/null; teardown_container; exit 1; }
# Runs in the container without X's 60 s limit (a load phase may take longer).
XL() { timeout 600 nsenter -t "$LEADER" -m -u -i -n -p -- "$@"; }
# Work files live in /srv/e2e, seen from here as $R/srv/e2e.
W=/srv/e2e

prep() {
  install -m 0755 "$BIN" "$R/usr/bin/wasi-httpd"
  cp "$REPO"/systemd/*.socket "$REPO"/systemd/*.service "$R/etc/systemd/system/"
  mkdir -p "$R/etc/wasi-httpd/apps/default" "$R$W"
  cp -r "$APP"/. "$R/etc/wasi-httpd/apps/default/"
  cp "$APP/spin.toml" "$R$W/spin-v1.toml"
  cp "$APP/spin-v2.toml" "$R$W/spin-v2.toml"
  chmod -R a+rX "$R/etc/wasi-httpd"
}

# load NAME: $REQUESTS requests to /api/<n>, 24 at a time, one line
# "<status> <curl exit code>" each in $W/NAME.out, in the background.
load() {
  local name=$1
  for i in $(seq "$REQUESTS"); do
    printf 'url = "http://127.0.0.1/api/%s"\noutput = "/dev/null"\n' "$i"
  done > "$R$W/$name.urls"
  : > "$R$W/$name.out"
  XL sh -c "curl --parallel --parallel-max 24 --parallel-immediate -s -m 30 \
    -H 'Connection: close' -w '%{http_code} %{exitcode}\n' -K $W/$name.urls \
    >> $W/$name.out 2>/dev/null" &
  LOAD=$!
}

# wait_lines NAME N: until N requests of the phase are done.
wait_lines() {
  for _ in $(seq 1 600); do
    [ "$(wc -l < "$R$W/$1.out")" -ge "$2" ] && return 0
    sleep 0.1
  done
  fail "$1: fewer than $2 requests done after 60 s"
}

# tally NAME: prints the phase's figures; fails unless every request got 200.
tally() {
  local out=$R$W/$1.out
  local sent ok refused reset failed
  sent=$(wc -l < "$out")
  ok=$(grep -c '^200 0$' "$out")
  refused=$(grep -c ' 7$' "$out")
  reset=$(grep -cE ' (52|55|56)$' "$out")
  failed=$((sent - ok - refused - reset))
  echo "figures: $1: sent $sent, answered 200 $ok, refused $refused, reset $reset, failed $failed"
  [ "$sent" -eq "$REQUESTS" ] || fail "$1: $sent of $REQUESTS requests ran"
  [ "$ok" -eq "$sent" ] || fail "$1: not every request was answered 200: $(grep -v '^200 0$' "$out" | sort | uniq -c | tr '\n' ';')"
}

PREPARE=prep
boot_container || { echo "FAIL: the container did not boot"; exit 1; }
X systemctl daemon-reload
start_socket wasi-httpd.socket
X curl -sS -m 30 -o /dev/null http://127.0.0.1/api/start || fail "first request"

# 1. Three restarts under load. The socket unit holds the port: clients
# queue in its backlog while the service drains and starts again. (More
# within 10 s would hit systemd's default start limit, StartLimitBurst=5.)
load restart
for i in 1 2 3; do
  wait_lines restart $((i * REQUESTS / 4))
  X systemctl restart wasi-httpd.service || fail "systemctl restart $i"
done
wait "$LOAD"
tally restart
echo "ok: three restarts under load"

# 2. Three reloads under load, each with a changed app.
load reload
for i in 1 2 3; do
  wait_lines reload $((i * REQUESTS / 4))
  version=$(( i % 2 == 1 ? 2 : 1 ))
  cp "$R$W/spin-v$version.toml" "$R/etc/wasi-httpd/apps/default/spin.toml"
  X systemctl reload wasi-httpd.service || fail "systemctl reload $i"
done
wait "$LOAD"
tally reload
body=$(X curl -sS -m 10 http://127.0.0.1/api/which)
[ "$body" = "v2" ] || fail "after the last reload the app is not version 2: $body"
echo "ok: three reloads under load; the new app serves"

# 3. Stop with slow requests in flight: each completes.
cp "$R$W/spin-v1.toml" "$R/etc/wasi-httpd/apps/default/spin.toml"
X systemctl reload wasi-httpd.service || fail "reload to version 1"
before=$(X journalctl -u wasi-httpd.service --no-pager -o cat | grep -c 'slow: sleeping')
for i in $(seq 1 8); do
  XL sh -c "curl -sS -m 60 http://127.0.0.1/slow?ms=3000 > $W/slow.$i 2>&1" &
  SLOW[$i]=$!
done
for _ in $(seq 1 300); do
  now=$(X journalctl -u wasi-httpd.service --no-pager -o cat | grep -c 'slow: sleeping')
  [ $((now - before)) -ge 8 ] && break
  sleep 0.1
done
[ $((now - before)) -ge 8 ] || fail "the slow requests did not all start"
X systemctl stop wasi-httpd.service || fail "systemctl stop"
completed=0
for i in $(seq 1 8); do
  wait "${SLOW[$i]}"
  grep -q '^slept 3000 ms$' "$R$W/slow.$i" && completed=$((completed + 1))
done
echo "figures: stop: in flight 8, completed $completed"
[ "$completed" -eq 8 ] || fail "stop: $completed of 8 slow requests completed: $(cat "$R$W"/slow.*)"
expect_status=$(X systemctl show wasi-httpd.service -p Result -p ExecMainStatus)
case "$expect_status" in *ExecMainStatus=0*) ;; *) fail "stop status: $expect_status";; esac
echo "ok: stop waited for the requests in flight"

teardown_container
echo "PASS"
