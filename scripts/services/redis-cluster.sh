# A Redis Cluster on 127.0.0.1:7390-7395 (test/support/services.ts SERVICES.redisCluster): three
# masters and three replicas, data and nodes-*.conf under $SERVICES_DIR/redis-cluster.
# Sourced by scripts/services.sh; uses the helpers of redis.sh.
# shellcheck source=/dev/null
source "$(dirname "${BASH_SOURCE[0]}")/redis.sh"
CLUSTER_PORTS=(7390 7391 7392 7393 7394 7395)

# cluster_ready: every node says cluster_state:ok and sees 3 masters with a replica each.
cluster_ready() {
  local p
  for p in "${CLUSTER_PORTS[@]}"; do
    redis-cli -p "$p" cluster info 2>/dev/null | grep -q 'cluster_state:ok' || return 1
    [ "$(redis-cli -p "$p" cluster nodes 2>/dev/null | grep -c 'connected')" -ge 6 ] || return 1
  done
}

redis-cluster_start() {
  local dir="$SERVICES_DIR/redis-cluster" p nodes=()
  if redis-cluster_status >/dev/null 2>&1; then return 0; fi
  apt_ensure redis-server redis-server || { echo "[services] Redis Cluster: redis-server is not installed" >&2; return 1; }
  # Start from scratch: a cluster that is half up cannot be repaired reliably by a script.
  redis-cluster_stop
  rm -rf "$dir"
  for p in "${CLUSTER_PORTS[@]}"; do
    mkdir -p "$dir/$p"
    redis_launch "$dir/$p" "$p" --cluster-enabled yes --cluster-config-file "$dir/$p/nodes-$p.conf" --cluster-node-timeout 2000 || return 1
    nodes+=("127.0.0.1:$p")
  done
  for p in "${CLUSTER_PORTS[@]}"; do
    wait_until "Redis Cluster node 127.0.0.1:$p" 20 redis_ping "$p" || return 1
  done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$dir/create.log" 2>&1 || {
    echo "[services] Redis Cluster: 'redis-cli --cluster create' failed; see $dir/create.log" >&2
    return 1
  }
  wait_until "Redis Cluster on 127.0.0.1:${CLUSTER_PORTS[0]}-${CLUSTER_PORTS[5]}" 60 cluster_ready || return 1
  echo "[services] Redis Cluster up on 127.0.0.1:${CLUSTER_PORTS[0]}-${CLUSTER_PORTS[5]}" >&2
}

redis-cluster_stop() {
  local dir="$SERVICES_DIR/redis-cluster" p
  for p in "${CLUSTER_PORTS[@]}"; do stop_pidfile "$dir/$p/redis-$p.pid"; done
}

redis-cluster_status() {
  local dir="$SERVICES_DIR/redis-cluster" p
  for p in "${CLUSTER_PORTS[@]}"; do
    is_running "$dir/$p/redis-$p.pid" || { echo "redis-cluster: not running"; return 1; }
  done
  if cluster_ready; then
    echo "redis-cluster: running on 127.0.0.1:${CLUSTER_PORTS[0]}-${CLUSTER_PORTS[5]}"
  else
    echo "redis-cluster: running but not ready"
    return 1
  fi
}
