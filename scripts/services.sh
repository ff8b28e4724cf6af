#!/usr/bin/env bash
# Starts, stops and reports the real servers the tests use, on 127.0.0.1 and non-default ports,
# with data under .services/. Each server has a file in scripts/services/ defining
# <name>_start, <name>_stop and <name>_status. Usage: services.sh start|stop|status [name...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export SERVICES_DIR="${TESSERA_SERVICES_DIR:-$root/.services}"
mkdir -p "$SERVICES_DIR"
cmd="${1:-status}"; shift || true
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in "$root"/scripts/services/*.sh; do [ -e "$f" ] || continue; n="$(basename "$f" .sh)"; [ "${n#_}" = "$n" ] && names+=("$n"); done
fi
# shellcheck source=/dev/null
[ -f "$root/scripts/services/_lib.sh" ] && source "$root/scripts/services/_lib.sh"
for n in "${names[@]}"; do
  # shellcheck source=/dev/null
  source "$root/scripts/services/$n.sh"
done
case "$cmd" in
  start|stop|status) for n in "${names[@]}"; do "${n}_${cmd}"; done ;;
  *) echo "usage: services.sh start|stop|status [name...]" >&2; exit 2 ;;
esac
