#!/usr/bin/env bash
# make bench-serve: installs wrk and nginx from Debian's packages if missing, then runs the benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    # The package starts a system nginx on port 80; the benchmark runs its own on loopback.
    (command -v systemctl >/dev/null && systemctl stop nginx) 2>/dev/null || pkill -x nginx || true
  else
    echo "bench-serve needs: ${need[*]} (install them as root)" >&2
    exit 1
  fi
fi
exec .venv/bin/python bench/serve.py "$@"
