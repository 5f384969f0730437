# Shared by scripts/demo.sh and scripts/test.sh: install what is missing, then configure and build.
# Sourced, not run.

LOWBIT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOWBIT_PACKAGES=(build-essential cmake clang libomp-dev libgtest-dev libbenchmark-dev libcli11-dev
                 nlohmann-json3-dev libfmt-dev libsentencepiece-dev libopenblas-dev python3)

install_missing_packages() {
  local missing=()
  for package in "${LOWBIT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing missing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# build_lowbit BUILD_DIR [extra cmake arguments...]
build_lowbit() {
  local build_dir="$1"
  shift
  cmake -S "$LOWBIT_ROOT" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
  cmake --build "$build_dir" -j "$(nproc)"
}
