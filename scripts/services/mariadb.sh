# MariaDB for the tests: 127.0.0.1:3399, user root without password, data in $SERVICES_DIR/mariadb.

MARIADB_PORT=3399

_mariadb_bin() {
  local name="$1"
  if command -v "$name" >/dev/null 2>&1; then command -v "$name"; elif [ -x "/usr/sbin/$name" ]; then echo "/usr/sbin/$name"; else return 1; fi
}

mariadb_status() {
  local d="$SERVICES_DIR/mariadb"
  is_running "$d/mariadb.pid" || return 1
  "$(_mariadb_bin mariadb-admin)" --no-defaults -h 127.0.0.1 -P "$MARIADB_PORT" -u root --connect-timeout=2 ping >/dev/null 2>&1
}

mariadb_start() {
  local d="$SERVICES_DIR/mariadb" server user
  if mariadb_status; then echo "[services] MariaDB already running on 127.0.0.1:$MARIADB_PORT"; return 0; fi
  apt_ensure /usr/sbin/mariadbd mariadb-server || { echo "[services] MariaDB is not installed (mariadbd missing)" >&2; return 1; }
  server="$(_mariadb_bin mariadbd)"
  user="$(id -un)"
  mkdir -p "$d"
  if [ ! -d "$d/data/mysql" ]; then
    mariadb-install-db --no-defaults --datadir="$d/data" --user="$user" --auth-root-authentication-method=normal >"$d/install.log" 2>&1 \
      || { echo "[services] MariaDB install-db failed; see $d/install.log" >&2; return 1; }
  fi
  nohup "$server" --no-defaults --datadir="$d/data" --user="$user" --port="$MARIADB_PORT" --bind-address=127.0.0.1 \
    --socket="$d/sock" --pid-file="$d/mariadb.pid" --log-error="$d/error.log" --skip-log-bin \
    --max-connections=500 --innodb-buffer-pool-size=128M >/dev/null 2>&1 &
  wait_until MariaDB 60 "$(_mariadb_bin mariadb-admin)" --no-defaults -h 127.0.0.1 -P "$MARIADB_PORT" -u root --connect-timeout=2 ping \
    || { echo "[services] MariaDB did not answer on 127.0.0.1:$MARIADB_PORT; see $d/error.log" >&2; return 1; }
  wait_until MariaDB 10 test -f "$d/mariadb.pid"
  echo "[services] MariaDB up on 127.0.0.1:$MARIADB_PORT"
}

mariadb_stop() {
  stop_pidfile "$SERVICES_DIR/mariadb/mariadb.pid"
  echo "[services] MariaDB stopped"
}
