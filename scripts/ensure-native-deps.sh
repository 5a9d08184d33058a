#!/usr/bin/env bash
# Installs what building the native library needs on a fresh Debian/Ubuntu machine: CMake, a C++
# compiler, GoogleTest (the native test suite) and OpenBLAS (fast CPU GEMM; optional, a built-in
# GEMM is used without it). Idempotent: installs only what is missing and says what it installs.
# Not root, or not apt: prints the packages to install and fails if a required one is missing.
# Called by interop/MoR.Interop/NativeBuild.targets before the first CMake configure.
set -euo pipefail

log() { echo "ensure-native-deps: $*"; }

have_cmd() { command -v "$1" >/dev/null 2>&1; }

have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

have_gtest() {
  have_pkg libgtest-dev || [[ -f /usr/src/googletest/CMakeLists.txt ]] ||
    [[ -f /usr/include/gtest/gtest.h ]] || [[ -f /usr/local/include/gtest/gtest.h ]]
}

have_openblas() {
  have_pkg libopenblas-dev || compgen -G "/usr/lib/*/libopenblas.so" >/dev/null ||
    compgen -G "/usr/lib/*/openblas*/libopenblas.so" >/dev/null
}

required=()
optional=()
have_cmd cmake || required+=(cmake)
have_cmd c++ || have_cmd g++ || have_cmd clang++ || required+=(g++)
have_gtest || required+=(libgtest-dev)
have_openblas || optional+=(libopenblas-dev)

missing=("${required[@]}" "${optional[@]}")
if [[ ${#missing[@]} -eq 0 ]]; then
  log "cmake, C++ compiler, GoogleTest and OpenBLAS are present"
  exit 0
fi

if [[ $(id -u) -eq 0 ]] && have_cmd apt-get; then
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # A fresh container often has no package lists yet; update once, then install.
  if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
  fi
  log "installed: ${missing[*]}"
  exit 0
fi

if [[ ${#required[@]} -gt 0 ]]; then
  log "error: missing ${required[*]}${optional[*]:+ (and optionally ${optional[*]})}."
  log "error: install them, e.g. sudo apt-get install ${missing[*]} (Debian/Ubuntu), then build again."
  exit 1
fi

log "warning: ${optional[*]} is not installed; the CPU backend uses its built-in GEMM (slower)."
log "warning: install it with: sudo apt-get install ${optional[*]}"
exit 0
