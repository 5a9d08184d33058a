#!/usr/bin/env bash
# Installs what building and testing the native library needs on a fresh Debian/Ubuntu machine: CMake,
# a C++ compiler and GoogleTest (required), OpenBLAS (fast CPU GEMM; a built-in GEMM is used without it)
# and Open MPI (the multi-rank communicator and its tests; without it those tests skip). Idempotent:
# installs only what is missing and says what it installs. Not root, or not apt: prints the packages to
# install and fails if a required one is missing. A failed install of an optional package is a warning.
#
#   ensure-native-deps.sh          check, install what is missing (root + apt), report
#   ensure-native-deps.sh --probe  install nothing, print one line naming what was found ("found: gtest
#                                  openblas mpi"); exit 0 when all is present, 1 when only optional parts
#                                  are missing, 2 when a required one is
#
# Called by interop/MoR.Interop/NativeBuild.targets: --probe on every build (cheap), then the full run when
# something is missing (as root, or before the first configure). The probe's line goes into the configure
# stamp, so a build folder configured without MPI is reconfigured once MPI is there (MOR_MPI=AUTO finds it).
set -euo pipefail

log() { echo "ensure-native-deps: $*"; }

have_cmd() { command -v "$1" >/dev/null 2>&1; }

have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# Files first: the probe runs on every build, and each dpkg-query costs tens of milliseconds.
have_gtest() {
  [[ -f /usr/include/gtest/gtest.h ]] || [[ -f /usr/local/include/gtest/gtest.h ]] ||
    [[ -f /usr/src/googletest/CMakeLists.txt ]] || have_pkg libgtest-dev
}

have_openblas() {
  compgen -G "/usr/lib/*/libopenblas.so" >/dev/null || compgen -G "/usr/lib/*/openblas*/libopenblas.so" >/dev/null ||
    have_pkg libopenblas-dev
}

# CMake's FindMPI needs the compiler wrapper (libopenmpi-dev), the tests need the launcher (openmpi-bin).
have_mpi() { have_cmd mpicc && have_cmd mpirun; }

required=()
optional=()
found=()
have_cmd cmake || required+=(cmake)
have_cmd c++ || have_cmd g++ || have_cmd clang++ || required+=(g++)
if have_gtest; then found+=(gtest); else required+=(libgtest-dev); fi
if have_openblas; then found+=(openblas); else optional+=(libopenblas-dev); fi
if have_mpi; then found+=(mpi); else optional+=(libopenmpi-dev openmpi-bin); fi

if [[ ${1:-} == --probe ]]; then
  echo "found: ${found[*]}"
  if [[ ${#required[@]} -gt 0 ]]; then exit 2; fi
  if [[ ${#optional[@]} -gt 0 ]]; then exit 1; fi
  exit 0
fi

missing=("${required[@]}" "${optional[@]}")
if [[ ${#missing[@]} -eq 0 ]]; then
  log "cmake, C++ compiler, GoogleTest, OpenBLAS and Open MPI are present"
  exit 0
fi

# apt-get install; a fresh container often has no package lists yet: update once, then retry.
apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" ||
    { DEBIAN_FRONTEND=noninteractive apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"; }
}

if [[ $(id -u) -eq 0 ]] && have_cmd apt-get; then
  if [[ ${#required[@]} -gt 0 ]]; then
    log "installing: ${required[*]}"
    apt_install "${required[@]}"
    log "installed: ${required[*]}"
  fi
  if [[ ${#optional[@]} -gt 0 ]]; then
    log "installing: ${optional[*]}"
    if apt_install "${optional[@]}"; then
      log "installed: ${optional[*]}"
    else
      log "warning: could not install ${optional[*]}; building without them (see the apt-get output above)"
    fi
  fi
  exit 0
fi

if [[ ${#required[@]} -gt 0 ]]; then
  log "error: missing ${required[*]}${optional[*]:+ (and optionally ${optional[*]})}."
  log "error: install them, e.g. sudo apt-get install ${missing[*]} (Debian/Ubuntu), then build again."
  exit 1
fi

[[ " ${found[*]} " == *" openblas "* ]] || log "warning: libopenblas-dev is not installed; the CPU backend uses its built-in GEMM (slower)."
[[ " ${found[*]} " == *" mpi "* ]] || log "warning: Open MPI is not installed; the library is built without the MPI communicator and the multi-rank tests skip."
log "warning: install them with: sudo apt-get install ${optional[*]}"
exit 0
