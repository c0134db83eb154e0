#!/usr/bin/env bash
# Builds the Temporal CLI (dev server + web UI) and the MinIO server from Go modules into a cache
# outside the clone ($SIMCLR_CACHE/bin, default ~/.cache/simclr/bin). Idempotent: a binary built from
# the pinned module is kept, keyed by a stamp file next to it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/versions.sh"
cache="${SIMCLR_CACHE:-$HOME/.cache/simclr}"
bin="$cache/bin"
mkdir -p "$bin"

build() { # name module
  local name="$1" module="$2" stamp="$bin/.$1.module"
  if [ -x "$bin/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$module" ]; then
    echo "install-services: $name present ($module)"
    return
  fi
  if ! command -v go >/dev/null 2>&1; then
    echo "install-services: Go is not installed; cannot build $name. Temporal falls back to the SDK's own download; MinIO-backed tests need Go." >&2
    return 1
  fi
  echo "install-services: building $name from $module (a few minutes the first time)"
  GOBIN="$bin" GOFLAGS="${GOFLAGS:-} -trimpath" go install "$module"
  echo "$module" > "$stamp"
}

build temporal "$TEMPORAL_CLI_MODULE"
build minio "$MINIO_MODULE"
