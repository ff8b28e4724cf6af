# Memcached on 127.0.0.1:11299 (test/support/services.ts SERVICES.memcached), 64 MB, pid file under
# $SERVICES_DIR/memcached. Sourced by scripts/services.sh.
MEMCACHED_PORT=11299

# memcached_ping PORT: whether a memcached answers "version" on 127.0.0.1:PORT.
# Runs in a subshell so a refused connection cannot end the calling script.
memcached_ping() (
  exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
  printf 'version\r\n' >&3
  IFS= read -r -t 2 line <&3 || exit 1
  [ "${line#VERSION}" != "$line" ]
)

memcached_start() {
  local dir="$SERVICES_DIR/memcached" user=()
  if memcached_status >/dev/null 2>&1; then return 0; fi
  apt_ensure memcached memcached || { echo "[services] Memcached: memcached is not installed" >&2; return 1; }
  mkdir -p "$dir"
  stop_pidfile "$dir/memcached.pid"
  # memcached refuses to run as root unless told which user to run as.
  [ "$(id -u)" = 0 ] && user=(-u root)
  memcached "${user[@]}" -l 127.0.0.1 -p "$MEMCACHED_PORT" -m 64 -d -P "$dir/memcached.pid" || {
    echo "[services] Memcached on port $MEMCACHED_PORT did not start" >&2
    return 1
  }
  wait_until "Memcached on 127.0.0.1:$MEMCACHED_PORT" 20 memcached_ping "$MEMCACHED_PORT" || return 1
  echo "[services] Memcached up on 127.0.0.1:$MEMCACHED_PORT" >&2
}

memcached_stop() {
  stop_pidfile "$SERVICES_DIR/memcached/memcached.pid"
}

memcached_status() {
  if is_running "$SERVICES_DIR/memcached/memcached.pid" && memcached_ping "$MEMCACHED_PORT" 2>/dev/null; then
    echo "memcached: running on 127.0.0.1:$MEMCACHED_PORT"
  else
    echo "memcached: not running"
    return 1
  fi
}
