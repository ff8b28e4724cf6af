# Redis on 127.0.0.1:6390 (test/support/services.ts SERVICES.redis), no persistence, data under
# $SERVICES_DIR/redis. Sourced by scripts/services.sh.
REDIS_PORT=6390

# redis_ping PORT: whether a Redis server answers PONG on 127.0.0.1:PORT.
redis_ping() {
  [ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]
}

# redis_launch DIR PORT ARGS...: starts one daemonized redis-server with its pid file in DIR.
redis_launch() {
  local dir="$1" port="$2"; shift 2
  mkdir -p "$dir"
  redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --dir "$dir" \
    --daemonize yes --pidfile "$dir/redis-$port.pid" --logfile "$dir/redis-$port.log" "$@" || {
    echo "[services] Redis on port $port did not start; see $dir/redis-$port.log" >&2
    return 1
  }
}

redis_start() {
  local dir="$SERVICES_DIR/redis"
  if redis_status >/dev/null 2>&1; then return 0; fi
  apt_ensure redis-server redis-server || { echo "[services] Redis: redis-server is not installed" >&2; return 1; }
  stop_pidfile "$dir/redis-$REDIS_PORT.pid"
  redis_launch "$dir" "$REDIS_PORT" || return 1
  wait_until "Redis on 127.0.0.1:$REDIS_PORT" 20 redis_ping "$REDIS_PORT" || return 1
  echo "[services] Redis up on 127.0.0.1:$REDIS_PORT" >&2
}

redis_stop() {
  stop_pidfile "$SERVICES_DIR/redis/redis-$REDIS_PORT.pid"
}

redis_status() {
  if is_running "$SERVICES_DIR/redis/redis-$REDIS_PORT.pid" && redis_ping "$REDIS_PORT"; then
    echo "redis: running on 127.0.0.1:$REDIS_PORT"
  else
    echo "redis: not running"
    return 1
  fi
}
