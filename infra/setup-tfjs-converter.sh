#!/usr/bin/env bash
# Installs TensorFlow.js' Python converter (the `tensorflowjs` package from PyPI) into a virtual
# environment in the cache outside the clone, for `simclr export --format savedmodel`.
#
# Why: @tensorflow/tfjs-node can save a model only as a TensorFlow.js layers model (model.json +
# weights.bin; its `file://` handler writes nothing else), never as a SavedModel. The route TensorFlow.js
# documents is its converter: `tensorflowjs_converter --input_format=tfjs_layers_model
# --output_format=keras_saved_model model.json OUT/`, which rebuilds the Keras model in Python
# TensorFlow (tf_keras) and saves it. That needs Python TensorFlow, so it is an optional install: about
# 3 GB (tensorflow, tf-keras, jax, tensorflow-decision-forests: all required by the package).
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

if [ -x "$converter" ] && TF_CPP_MIN_LOG_LEVEL=2 "$converter" --version >/dev/null 2>&1; then
  log "present ($converter)"
  echo "$converter"
  exit 0
fi

command -v "$python" >/dev/null || { log "$python not found: install Python 3.9-3.12 or set PYTHON"; exit 1; }
rm -rf "$venv"
mkdir -p "$venv"
log "creating $venv with $("$python" --version 2>&1); installing tensorflowjs==$version from PyPI (~3 GB, minutes)"
# The install is complete when the converter runs (the check above); a failed one is removed.
trap 'rm -rf "$venv"' ERR
"$python" -m venv --prompt tfjs-converter "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
# ydf pinned: tensorflow-decision-forests (a dependency of tensorflowjs) accepts any ydf >= 0.11, and
# ydf >= 0.13 is generated with protobuf 6 while tensorflow 2.19 pins protobuf < 6, so importing the
# converter fails ("Detected incompatible Protobuf Gencode/Runtime versions"); 0.12.0 fits protobuf 5.
"$venv/bin/pip" install --quiet --disable-pip-version-check "tensorflowjs==$version" "ydf==0.12.0"
TF_CPP_MIN_LOG_LEVEL=2 "$converter" --version >&2
log "installed ($converter)"
echo "$converter"
