#!/usr/bin/env bash
# Installs TensorFlow.js' Python converter (the `tensorflowjs` package from PyPI) into a virtual
# environment in the cache outside the clone, for `simclr export --format savedmodel`.
#
# Why: @tensorflow/tfjs-node can save a model only as a TensorFlow.js layers model (model.json +
# weights.bin; its `file://` handler writes nothing else), never as a SavedModel. The route TensorFlow.js
# documents is its converter: `tensorflowjs_converter --input_format=tfjs_layers_model
# --output_format=keras_saved_model model.json OUT/`, which rebuilds the Keras model in Python
# TensorFlow (tf_keras) and saves it. That needs Python TensorFlow, so it is an optional install: about
# 2 GB (tensorflow, tf-keras, jax, tensorflow-decision-forests: all required by the package).
#
# Usage: infra/setup-tfjs-converter.sh      (idempotent; prints the converter's path on its last line)
# Env:   SIMCLR_CACHE (default ~/.cache/simclr), TFJS_CONVERTER_VERSION (default 4.22.0, the
#        version of @tensorflow/tfjs in package.json), PYTHON (default python3, 3.9 to 3.12)
set -euo pipefail

cache="${SIMCLR_CACHE:-$HOME/.cache/simclr}"
version="${TFJS_CONVERTER_VERSION:-4.22.0}"
python="${PYTHON:-python3}"
venv="$cache/tfjs-converter/$version"
converter="$venv/bin/tensorflowjs_converter"

log() { echo "setup-tfjs-converter: $*" >&2; }

if [ -x "$converter" ] && "$converter" --version >/dev/null 2>&1; then
  log "present ($converter)"
  echo "$converter"
  exit 0
fi

command -v "$python" >/dev/null || { log "$python not found: install Python 3.9-3.12 or set PYTHON"; exit 1; }
mkdir -p "$cache/tfjs-converter"
rm -rf "$venv.tmp"
log "creating $venv with $("$python" --version 2>&1); installing tensorflowjs==$version from PyPI (~2 GB, minutes)"
"$python" -m venv "$venv.tmp"
"$venv.tmp/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
"$venv.tmp/bin/pip" install --quiet --disable-pip-version-check "tensorflowjs==$version"
# A venv's scripts name its absolute path: build it under .tmp, then fix the shebangs as it moves.
rm -rf "$venv"
mv "$venv.tmp" "$venv"
grep -rlI --null "$venv.tmp" "$venv/bin" | xargs -0 -r sed -i "s|$venv.tmp|$venv|g"
"$converter" --version >&2
log "installed ($converter)"
echo "$converter"
