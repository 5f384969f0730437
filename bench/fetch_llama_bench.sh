#!/usr/bin/env bash
# Builds llama.cpp's `llama-bench` for a same-machine comparison with `lowbit bench`, from what npm
# publishes for node-llama-cpp: its Linux x64 package holds llama.cpp's CPU libraries prebuilt in one
# variant per x86 level (ggml picks the best one this CPU runs at load time: `sapphirerapids` with AMX,
# `zen4`, `icelake`, ...), and its main package holds the matching llama.cpp source as a git bundle, from
# which only `tools/llama-bench` is compiled, against those libraries. Nothing of it enters lowbit: it is
# the yardstick, kept outside the checkout (llama.cpp and node-llama-cpp are MIT-licensed).
#
#   bench/fetch_llama_bench.sh [DIR]    (default /tmp/lowbit-llama-bench; prints DIR/llama-bench)
#
# Installs npm and git from Debian if missing. The versions are pinned so that figures stay comparable;
# node-llama-cpp 3.22.1 carries llama.cpp commit 0ad4a86 (September 2026).
set -euo pipefail
dir="$(realpath -m "${1:-/tmp/lowbit-llama-bench}")"
version=3.22.1

missing=()
for tool in npm git g++; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  packages=("${missing[@]/g++/build-essential}")
  echo "Installing missing Debian packages: ${packages[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null
fi

if [ ! -x "$dir/llama-bench" ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "@node-llama-cpp/linux-x64@$version" "node-llama-cpp@$version" >/dev/null)
  mkdir -p "$work/libs" "$work/node-llama-cpp"
  tar -xzf "$work"/node-llama-cpp-linux-x64-*.tgz -C "$work/libs" --strip-components=3 package/bins/linux-x64
  tar -xzf "$work"/node-llama-cpp-"$version".tgz -C "$work/node-llama-cpp" --strip-components=1 \
    package/llama/gitRelease.bundle
  git clone --quiet "$work/node-llama-cpp/llama/gitRelease.bundle" "$work/llama.cpp" 2>/dev/null
  src="$work/llama.cpp"
  # The libraries carry their version in their file names (libllama.v0.5.0.so); link them by name.
  libllama="$(cd "$work/libs" && ls libllama.v*.so)"
  libggml="$(cd "$work/libs" && ls libggml.v*.so)"
  g++ -O2 -DNDEBUG -std=c++17 -I"$src/include" -I"$src/common" -I"$src/ggml/include" -I"$src/vendor" \
    "$src/tools/llama-bench/llama-bench.cpp" "$src/tools/llama-bench/main.cpp" -o "$work/libs/llama-bench" \
    -L"$work/libs" -lllama-common -l:"$libllama" -l:"$libggml" -lggml-base -lpthread -Wl,-rpath,'$ORIGIN'
  # ggml loads its CPU variants from the program's own folder.
  rm -rf "$dir"
  mkdir -p "$(dirname "$dir")"
  mv "$work/libs" "$dir"
fi
echo "$dir/llama-bench"
