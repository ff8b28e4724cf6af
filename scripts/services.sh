#!/usr/bin/env bash
# Starts, stops and reports the real servers the tests use, on 127.0.0.1 and non-default ports,
# with data under .services/. Each server has a file in scripts/services/ defining
# <name>_start, <name>_stop and <name>_status. Usage: services.sh start|stop|status [name...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export SERVICES_DIR="${TESSERA_SERVICES_DIR:-$root/.services}"
# Where the server definitions are (tests point it at stand-ins).
defs="${TESSERA_SERVICE_DEFS:-$root/scripts/services}"
mkdir -p "$SERVICES_DIR"
cmd="${1:-status}"; shift || true
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in "$defs"/*.sh; do [ -e "$f" ] || continue; n="$(basename "$f" .sh)"; [ "${n#_}" = "$n" ] && names+=("$n"); done
fi
case "$cmd" in
  start|stop|status) ;;
  *) echo "usage: services.sh start|stop|status [name...]" >&2; exit 2 ;;
esac
# Each server in a shell of its own (with errexit): one that fails to install or start never keeps
# the others from starting, and the run still fails, naming it.
failed=()
for n in "${names[@]}"; do
  if ! bash -euo pipefail -c 'source "$1"; source "$2"; "$3"' _ \
    "$root/scripts/services/_lib.sh" "$defs/$n.sh" "${n}_${cmd}"; then
    failed+=("$n")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  [ "$cmd" = status ] || echo "[services] $cmd failed for: ${failed[*]}" >&2
  exit 1
fi
