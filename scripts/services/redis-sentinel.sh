# A Redis Sentinel set on 127.0.0.1 (test/support/services.ts SERVICES.redisSentinel): master 6391,
# replica 6392, sentinels 26390-26392 watching master "mymaster" (quorum 2). Data and the
# sentinels' rewritable config files live under $SERVICES_DIR/redis-sentinel.
# Sourced by scripts/services.sh; uses the helpers of redis.sh.
# shellcheck source=/dev/null
source "$(dirname "${BASH_SOURCE[0]}")/redis.sh"
SENTINEL_MASTER_PORT=6391
SENTINEL_REPLICA_PORT=6392
SENTINEL_PORTS=(26390 26391 26392)

# sentinel_ready: every sentinel names the master on 6391 and reaches quorum with the others.
sentinel_ready() {
  local p
  redis_ping "$SENTINEL_MASTER_PORT" || return 1
  redis-cli -p "$SENTINEL_REPLICA_PORT" info replication 2>/dev/null | grep -q 'master_link_status:up' || return 1
  for p in "${SENTINEL_PORTS[@]}"; do
    redis-cli -p "$p" sentinel get-master-addr-by-name mymaster 2>/dev/null | grep -qx "$SENTINEL_MASTER_PORT" || return 1
    redis-cli -p "$p" sentinel ckquorum mymaster 2>/dev/null | grep -q '^OK 3 ' || return 1
  done
}

redis-sentinel_start() {
  local dir="$SERVICES_DIR/redis-sentinel" p
  if redis-sentinel_status >/dev/null 2>&1; then return 0; fi
  apt_ensure redis-server redis-server || { echo "[services] Redis Sentinel: redis-server is not installed" >&2; return 1; }
  # Start from scratch: sentinels rewrite their config files, and a half-running set may hold a
  # promoted replica from an earlier run.
  redis-sentinel_stop
  rm -rf "$dir"
  mkdir -p "$dir"
  redis_launch "$dir" "$SENTINEL_MASTER_PORT" || return 1
  redis_launch "$dir" "$SENTINEL_REPLICA_PORT" --replicaof 127.0.0.1 "$SENTINEL_MASTER_PORT" || return 1
  wait_until "Redis Sentinel master on 127.0.0.1:$SENTINEL_MASTER_PORT" 20 redis_ping "$SENTINEL_MASTER_PORT" || return 1
  for p in "${SENTINEL_PORTS[@]}"; do
    cat >"$dir/sentinel-$p.conf" <<CONF
port $p
bind 127.0.0.1
daemonize yes
pidfile $dir/sentinel-$p.pid
logfile $dir/sentinel-$p.log
dir $dir
sentinel monitor mymaster 127.0.0.1 $SENTINEL_MASTER_PORT 2
sentinel down-after-milliseconds mymaster 1000
sentinel failover-timeout mymaster 3000
CONF
    redis-server "$dir/sentinel-$p.conf" --sentinel || { echo "[services] Redis Sentinel on port $p did not start; see $dir/sentinel-$p.log" >&2; return 1; }
  done
  wait_until "Redis Sentinel set (master $SENTINEL_MASTER_PORT, replica $SENTINEL_REPLICA_PORT, sentinels ${SENTINEL_PORTS[*]})" 60 sentinel_ready || return 1
  echo "[services] Redis Sentinel up: master 127.0.0.1:$SENTINEL_MASTER_PORT, sentinels ${SENTINEL_PORTS[*]}" >&2
}

redis-sentinel_stop() {
  local dir="$SERVICES_DIR/redis-sentinel" p
  for p in "${SENTINEL_PORTS[@]}"; do stop_pidfile "$dir/sentinel-$p.pid"; done
  stop_pidfile "$dir/redis-$SENTINEL_REPLICA_PORT.pid"
  stop_pidfile "$dir/redis-$SENTINEL_MASTER_PORT.pid"
}

redis-sentinel_status() {
  local dir="$SERVICES_DIR/redis-sentinel" p
  for p in "$SENTINEL_MASTER_PORT" "$SENTINEL_REPLICA_PORT"; do
    is_running "$dir/redis-$p.pid" || { echo "redis-sentinel: not running"; return 1; }
  done
  for p in "${SENTINEL_PORTS[@]}"; do
    is_running "$dir/sentinel-$p.pid" || { echo "redis-sentinel: not running"; return 1; }
  done
  if sentinel_ready; then
    echo "redis-sentinel: running (master 127.0.0.1:$SENTINEL_MASTER_PORT, sentinels ${SENTINEL_PORTS[*]})"
  else
    echo "redis-sentinel: running but not ready"
    return 1
  fi
}
