# Boots the host's own OS under systemd-nspawn from a throw-away overlay
# (lower = /, upper = tmpfs) inside a private mount namespace, so that a
# real systemd (PID 1) runs the units. Source it from a script started with
# `unshare --mount --propagation private`. Nothing on the host changes.
#
#   PREPARE=fn   a function run after the overlay is mounted, before boot;
#                $R is the container's root: copy binaries, units, apps there.
#   boot_container [nspawn options...]
#   X cmd...     runs cmd inside the container (nsenter), 60 s at most
#   teardown_container

OVL=${OVL:-$(mktemp -d -t ovl.XXXXXX)}
NSPAWN_LOG=${NSPAWN_LOG:-$(mktemp -t nspawn.XXXXXX)}

boot_container() {
  mount -t tmpfs -o mode=755 tmpfs /run || return 1
  mount -t tmpfs -o size=4G tmpfs "$OVL" || return 1
  mkdir -p "$OVL/upper" "$OVL/work" "$OVL/merged"
  mount -t overlay overlay -o "lowerdir=/,upperdir=$OVL/upper,workdir=$OVL/work" "$OVL/merged" || return 1
  R=$OVL/merged
  # Docker-style images forbid starting services from maintainer scripts.
  rm -f "$R/usr/sbin/policy-rc.d"
  if [ -n "${PREPARE:-}" ]; then "$PREPARE" || return 1; fi
  timeout --kill-after=10 "${CONTAINER_TIMEOUT:-300}" systemd-nspawn -D "$R" --private-network \
    --register=no --keep-unit -M e2e --console=read-only "$@" -b -- \
    systemd.mask=postgresql.service systemd.unit=multi-user.target >"$NSPAWN_LOG" 2>&1 &
  NPID=$!
  LEADER=
  for _ in $(seq 1 60); do
    # The container's PID 1: a process named systemd whose NSpid ends in 1,
    # descending from the nspawn process.
    for p in $(pgrep -x systemd); do
      grep -qP '^NSpid:\t\d+\t1$' "/proc/$p/status" 2>/dev/null || continue
      q=$p
      while [ "$q" -gt 1 ]; do
        q=$(awk '/^PPid:/{print $2}' "/proc/$q/status")
        if [ "$q" = "$NPID" ]; then LEADER=$p; break; fi
      done
    done
    [ -n "$LEADER" ] && break
    sleep 1
  done
  if [ -z "$LEADER" ]; then echo "container did not boot; log:"; cat "$NSPAWN_LOG"; return 1; fi
  X systemctl is-system-running --wait >/dev/null || true
}

X() { timeout 60 nsenter -t "$LEADER" -m -u -i -n -p -- "$@"; }

# start_socket UNIT: starts a socket unit, retrying while the container's
# systemd still settles (seen once: the first start failed right after
# boot); fails with systemd's own message.
start_socket() {
  local out
  for _ in 1 2 3 4 5; do
    out=$(X systemctl start "$1" 2>&1) && return 0
    sleep 1
  done
  fail "start $1: $out"
}

teardown_container() {
  [ -n "${NPID:-}" ] || return 0
  kill -TERM "$NPID" 2>/dev/null
  for _ in $(seq 1 30); do kill -0 "$NPID" 2>/dev/null || break; sleep 1; done
  kill -KILL "$NPID" 2>/dev/null
  wait "$NPID" 2>/dev/null
  umount "$R" "$OVL" /run 2>/dev/null
  rmdir "$OVL" 2>/dev/null
  return 0
}
