# Shared helpers for scripts/services/*.sh (sourced by scripts/services.sh).

# apt_ensure BINARY PACKAGE...: installs the Debian packages when BINARY is missing (root only).
apt_ensure() {
  local bin="$1"; shift
  if command -v "$bin" >/dev/null 2>&1 || [ -x "$bin" ]; then return 0; fi
  if [ "$(id -u)" != 0 ]; then
    echo "[services] $bin is missing and this is not root: install $* yourself" >&2
    return 1
  fi
  # Another apt-get (an unattended upgrade, a second test run) may hold the dpkg lock: wait for it
  # instead of failing, so one busy moment does not leave every server after this one missing.
  local wait=(-o DPkg::Lock::Timeout=600)
  if [ ! -f "$SERVICES_DIR/.apt-updated" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get "${wait[@]}" update -qq >/dev/null && touch "$SERVICES_DIR/.apt-updated"
  fi
  echo "[services] installing $*" >&2
  # The packages try to start their own services and fail ("policy-rc.d denied"): harmless.
  DEBIAN_FRONTEND=noninteractive apt-get "${wait[@]}" install -y -qq "$@" >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get "${wait[@]}" install -y -qq "$@" >/dev/null
  command -v "$bin" >/dev/null 2>&1 || [ -x "$bin" ]
}

# wait_until NAME SECONDS COMMAND...: runs COMMAND until it succeeds or the deadline passes.
wait_until() {
  local name="$1" secs="$2"; shift 2
  local deadline=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "[services] $name did not come up within ${secs}s" >&2
      return 1
    fi
    sleep 0.2
  done
}

# stop_pidfile FILE: stops the process whose pid FILE holds, and waits for it to go.
stop_pidfile() {
  local file="$1" pid
  [ -f "$file" ] || return 0
  pid="$(cat "$file" 2>/dev/null || true)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

# is_running FILE: whether the pid in FILE is alive.
is_running() {
  local file="$1"
  [ -f "$file" ] && kill -0 "$(cat "$file" 2>/dev/null)" 2>/dev/null
}
