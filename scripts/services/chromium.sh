# Debian's Chromium (/usr/bin/chromium) for the browser tests of the demo page (test/demo/page.test.ts,
# driven by playwright-core). Not a server: "start" installs it when missing (as root), "stop" does
# nothing. Sourced by scripts/services.sh.

chromium_status() {
  if command -v chromium >/dev/null 2>&1; then
    echo "chromium: installed ($(command -v chromium))"
  else
    echo "chromium: not installed"
    return 1
  fi
}

chromium_start() {
  if chromium_status >/dev/null 2>&1; then return 0; fi
  apt_ensure chromium chromium || { echo "[services] Chromium: the chromium package is not installed" >&2; return 1; }
  echo "[services] Chromium installed ($(command -v chromium))" >&2
}

chromium_stop() { :; }
