#!/usr/bin/env bash
# Sets up a fresh machine for this project, idempotently (a second run takes seconds):
#   1. Debian packages: Fashion-MNIST (dataset-fashion-mnist), the native build tools and chromium (the
#      web UI browser test drives it headless through playwright-core), when root
#   2. npm ci (install scripts skipped: tfjs-node's would download from a discontinued bucket)
#   3. the Temporal CLI and MinIO, built from Go modules into ~/.cache/simclr/bin   (infra/install-services.sh)
#   4. tfjs-node's native binding, built against the tensorflow-cpu wheel's C library (infra/setup-tensorflow.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
[ -d /usr/share/datasets/fashion-mnist ] || missing+=(dataset-fashion-mnist)
command -v g++ >/dev/null || missing+=(g++)
command -v make >/dev/null || missing+=(make)
command -v python3 >/dev/null || missing+=(python3)
python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
# npm's browser downloads do not work here: Debian's chromium is the browser of test/browser/.
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages (${missing[*]}); install them with: sudo apt-get install ${missing[*]}" >&2
    [[ " ${missing[*]} " == *" dataset-fashion-mnist "* ]] && [ ${#missing[@]} -eq 1 ] || exit 1
  fi
fi

# npm ci only when package-lock.json changed since the last install (it wipes node_modules).
lock_hash="$(sha256sum package-lock.json | cut -c1-16)"
if [ "$(cat node_modules/.simclr-lock 2>/dev/null)" != "$lock_hash" ]; then
  echo "setup: npm ci"
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.simclr-lock
fi

bash infra/install-services.sh
bash infra/setup-tensorflow.sh cpu
echo "setup: done"
