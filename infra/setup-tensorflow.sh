#!/usr/bin/env bash
# Builds @tensorflow/tfjs-node's (or tfjs-node-gpu's) native binding against the TensorFlow C library
# shipped inside TensorFlow's Python wheel.
#
# Why: tfjs-node's own installer downloads libtensorflow from a storage bucket that upstream has
# discontinued (tensorflow/tfjs#8742). TensorFlow now ships libtensorflow_cc.so.2,
# libtensorflow_framework.so.2 and the C headers only inside its wheels, which is also where
# TensorFlow's Java bindings take them from. We fetch the wheel from PyPI, unpack the library once into
# a cache outside the clone, link it into the package's deps/ and compile the binding with node-gyp
# against the system Node headers.
#
# Usage: infra/setup-tensorflow.sh [cpu|gpu]     (idempotent; a second run returns in under a second)
# Env:   SIMCLR_CACHE (default ~/.cache/simclr), TF_WHEEL_VERSION (default 2.21.0)
set -euo pipefail

variant="${1:-cpu}"
here="$(cd "$(dirname "$0")/.." && pwd)"
cache="${SIMCLR_CACHE:-$HOME/.cache/simclr}"
tf_version="${TF_WHEEL_VERSION:-2.21.0}"
case "$variant" in
  cpu) wheel_pkg=tensorflow-cpu; wheel_glob="tensorflow_cpu-${tf_version}-*.whl"; npm_pkg=tfjs-node ;;
  gpu) wheel_pkg=tensorflow; wheel_glob="tensorflow-${tf_version}-*.whl"; npm_pkg=tfjs-node-gpu ;;
  *) echo "setup-tensorflow: unknown variant '$variant' (expected cpu or gpu)" >&2; exit 2 ;;
esac

pkg_dir="$here/node_modules/@tensorflow/$npm_pkg"
[ -d "$pkg_dir" ] || { echo "setup-tensorflow: $pkg_dir is missing; run npm ci first" >&2; exit 1; }
napi="$(node -p 'process.versions.napi')"
# node-pre-gyp looks for the highest N-API version the package lists that this Node supports.
napi_build="$(node -e "
  const b = require('$pkg_dir/package.json').binary.napi_versions.filter(v => v <= $napi);
  process.stdout.write(String(Math.max(...b)));")"
binding="$pkg_dir/lib/napi-v$napi_build/tfjs_binding.node"
unpacked="$cache/libtensorflow/$variant-$tf_version"

log() { echo "setup-tensorflow[$variant]: $*"; }

if [ -f "$binding" ] && [ -e "$pkg_dir/deps/lib/libtensorflow.so" ] && node -e "
    const tf = require('$pkg_dir'); if (tf.getBackend() !== 'tensorflow') process.exit(1);" >/dev/null 2>&1; then
  log "binding present and loads on backend 'tensorflow' ($binding)"
  exit 0
fi

# 1. The wheel, from PyPI, cached.
mkdir -p "$cache/wheels"
wheel="$(ls "$cache"/wheels/$wheel_glob 2>/dev/null | head -n 1 || true)"
if [ -z "$wheel" ]; then
  log "downloading $wheel_pkg==$tf_version from PyPI (about 270 MB for the CPU wheel)"
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$cache/wheels" "$wheel_pkg==$tf_version"
  wheel="$(ls "$cache"/wheels/$wheel_glob | head -n 1)"
fi

# 2. The C library and headers, unpacked once into the cache.
if [ ! -f "$unpacked/.complete" ]; then
  log "unpacking the C library and headers from $(basename "$wheel")"
  rm -rf "$unpacked.tmp" && mkdir -p "$unpacked.tmp"
  (cd "$unpacked.tmp" && python3 - "$wheel" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in z.namelist():
        if name in ("tensorflow/libtensorflow_cc.so.2", "tensorflow/libtensorflow_framework.so.2") \
           or name.startswith("tensorflow/include/tensorflow/c/") \
           or name.startswith("tensorflow/include/tensorflow/core/platform/") \
           or name.startswith("tensorflow/include/tsl/") \
           or name.startswith("tensorflow/include/xla/tsl/c/") \
           or name.startswith("tensorflow/include/xla/tsl/platform/"):
            z.extract(name, ".")
PY
  )
  mkdir -p "$unpacked.tmp/lib"
  mv "$unpacked.tmp/tensorflow/libtensorflow_cc.so.2" "$unpacked.tmp/tensorflow/libtensorflow_framework.so.2" "$unpacked.tmp/lib/"
  mv "$unpacked.tmp/tensorflow/include" "$unpacked.tmp/include"
  rm -rf "$unpacked.tmp/tensorflow"
  ( cd "$unpacked.tmp/lib"
    ln -sf libtensorflow_cc.so.2 libtensorflow.so
    ln -sf libtensorflow_cc.so.2 libtensorflow.so.2
    ln -sf libtensorflow_framework.so.2 libtensorflow_framework.so
    # The name tfjs-node's installer checks before it would download.
    ln -sf libtensorflow_cc.so.2 libtensorflow.so.2.9.1 )
  touch "$unpacked.tmp/.complete"
  rm -rf "$unpacked" && mv "$unpacked.tmp" "$unpacked"
fi

# 3. deps/ of the package points at the cache (nothing large is copied into the clone).
rm -rf "$pkg_dir/deps" && mkdir -p "$pkg_dir/deps"
ln -s "$unpacked/lib" "$pkg_dir/deps/lib"
ln -s "$unpacked/include" "$pkg_dir/deps/include"

# 4. The binding, compiled against the headers of the node that runs this (/usr for a Debian or NodeSource
#    package, /usr/local in the official Node images: infra/docker/Dockerfile).
node_dir="$(node -p 'require("path").resolve(process.execPath, "../..")')"
[ -f "$node_dir/include/node/node_api.h" ] || {
  echo "setup-tensorflow: no Node headers under $node_dir/include/node (Debian: apt-get install libnode-dev)" >&2; exit 1; }
log "compiling the native binding (N-API v$napi_build, Node headers from $node_dir)"
node_gyp="$here/node_modules/.bin/node-gyp"
(cd "$pkg_dir" && "$node_gyp" rebuild --silent --nodedir="$node_dir" \
  --module_name=tfjs_binding --module_path="$pkg_dir/lib/napi-v$napi_build" --napi_build_version="$napi_build" >/dev/null)
[ -f "$binding" ] || { echo "setup-tensorflow: the build did not produce $binding" >&2; exit 1; }
rm -rf "$pkg_dir/build"

if [ "$variant" = cpu ]; then
  backend="$(node -e "const tf = require('$pkg_dir'); process.stdout.write(tf.getBackend())" 2>/dev/null)"
  [ "$backend" = tensorflow ] || { echo "setup-tensorflow: the binding loads on backend '$backend', expected 'tensorflow'" >&2; exit 1; }
  log "done: backend 'tensorflow' from $(basename "$wheel")"
else
  log "done: built $binding (the CUDA libraries come with the 'tensorflow' wheel's nvidia-* dependencies; see README)"
fi
