# PostgreSQL 15 for the tests: 127.0.0.1:5499, user postgres, trust auth, data in $SERVICES_DIR/postgres.
# PostgreSQL refuses to run as root, so as root every command runs as the `postgres` user.

POSTGRES_PORT=5499
POSTGRES_BIN=/usr/lib/postgresql/15/bin

# _pg_run COMMAND: runs COMMAND (one shell string) as the postgres user when root, else as ourselves.
_pg_run() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$1"; else sh -c "$1"; fi
}

postgres_status() {
  local d="$SERVICES_DIR/postgres" pid
  [ -f "$d/data/postmaster.pid" ] || return 1
  pid="$(head -n 1 "$d/data/postmaster.pid" 2>/dev/null || true)"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  "$POSTGRES_BIN/pg_isready" -q -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres -d postgres
}

postgres_start() {
  local d="$SERVICES_DIR/postgres"
  if postgres_status; then echo "[services] PostgreSQL already running on 127.0.0.1:$POSTGRES_PORT"; return 0; fi
  apt_ensure "$POSTGRES_BIN/initdb" postgresql-15 || { echo "[services] PostgreSQL 15 is not installed ($POSTGRES_BIN/initdb missing)" >&2; return 1; }
  mkdir -p "$d"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$d"
  if [ ! -f "$d/data/PG_VERSION" ]; then
    _pg_run "'$POSTGRES_BIN/initdb' -D '$d/data' -A trust -U postgres -E UTF8 --locale=C.UTF-8" >"$d/initdb.log" 2>&1 \
      || { echo "[services] PostgreSQL initdb failed; see $d/initdb.log" >&2; return 1; }
  fi
  # A stale pid file from a killed server would make pg_ctl refuse to start.
  if [ -f "$d/data/postmaster.pid" ] && ! kill -0 "$(head -n 1 "$d/data/postmaster.pid")" 2>/dev/null; then rm -f "$d/data/postmaster.pid"; fi
  _pg_run "'$POSTGRES_BIN/pg_ctl' -D '$d/data' -l '$d/log' -o \"-k '$d' -p $POSTGRES_PORT -c listen_addresses=127.0.0.1 -c max_connections=300\" start" >/dev/null \
    || { echo "[services] PostgreSQL did not start; see $d/log" >&2; return 1; }
  wait_until PostgreSQL 60 "$POSTGRES_BIN/pg_isready" -q -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres -d postgres \
    || { echo "[services] PostgreSQL did not answer on 127.0.0.1:$POSTGRES_PORT; see $d/log" >&2; return 1; }
  echo "[services] PostgreSQL up on 127.0.0.1:$POSTGRES_PORT"
}

postgres_stop() {
  local d="$SERVICES_DIR/postgres"
  [ -f "$d/data/postmaster.pid" ] || return 0
  _pg_run "'$POSTGRES_BIN/pg_ctl' -D '$d/data' -m fast -w stop" >/dev/null 2>&1 || true
  echo "[services] PostgreSQL stopped"
}
