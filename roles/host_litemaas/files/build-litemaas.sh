#!/usr/bin/env bash
# Builds LiteMaaS (backend + the portal's static files) from its release archive, once per archive.
#   build-litemaas.sh ARCHIVE CACHE_ROOT      -> prints the build directory
# The build lives in CACHE_ROOT/litemaas-<first 16 hex of the archive's sha256>/ and is reused while
# the archive is the same (a stamp file written last marks a complete build; a partial one is
# redone). Concurrent callers wait for each other (flock). Needs Node.js >= 18 with npm (registry or
# a warm npm cache) and tar. Steps (as the project's own Containerfiles do them):
#   npm ci (workspaces backend + frontend, ~2 min) -> backend: tsc (~2 min) -> frontend: vite build (~1 min)
# Used by the host_litemaas role and by the test fixtures (tests/setup/litemaas.sh).
set -euo pipefail
archive=${1:?usage: build-litemaas.sh ARCHIVE CACHE_ROOT}
root=${2:?usage: build-litemaas.sh ARCHIVE CACHE_ROOT}
[ -f "$archive" ] || { echo "build-litemaas: archive $archive not found" >&2; exit 2; }
command -v npm >/dev/null || { echo "build-litemaas: npm not found (Node.js >= 18 with npm is needed)" >&2; exit 2; }
mkdir -p "$root"
sum=$(sha256sum "$archive" | cut -c1-16)
dest="$root/litemaas-$sum"
say() { printf '[build-litemaas] %s\n' "$*" >&2; }
exec 9>"$root/.litemaas-$sum.lock"
flock 9
if [ -f "$dest/.redwood-maas-built" ]; then
  echo "$dest"
  exit 0
fi
work="$dest.partial"
rm -rf "$work" "$dest"
mkdir -p "$work"
start=$SECONDS
say "unpacking $(basename "$archive") into $dest"
tar -xzf "$archive" -C "$work" --strip-components=1
cd "$work"
say "npm ci (backend + frontend dependencies; usually 1-3 min)"
npm ci --no-audit --no-fund --loglevel=error >&2
say "backend: tsc (usually 1-2 min)"
(cd backend && npx --no-install tsc >&2)
say "frontend: vite build (usually ~1 min)"
(cd frontend && npx --no-install vite build --logLevel warn >&2)
if [ ! -f backend/dist/index.js ] || [ ! -f frontend/dist/index.html ]; then
  say "build incomplete"
  exit 1
fi
date -u +%Y-%m-%dT%H:%M:%SZ > .redwood-maas-built
cd /
mv "$work" "$dest"
say "built in $((SECONDS - start)) s"
echo "$dest"
