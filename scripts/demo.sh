#!/usr/bin/env bash
# The main job on the bundled real model (stories260K): for now, the quantization error of every
# tensor under a range of schemes. Installs missing Debian packages and builds first.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
install_missing_packages
cd "$LOWBIT_ROOT"
build_lowbit build/release >/dev/null
model=testdata/stories260K/stories260K.bin
./build/release/lowbit inspect "$model"
