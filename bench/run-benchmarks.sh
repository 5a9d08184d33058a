#!/usr/bin/env bash
# Builds bench/MoR.Bench (Release) and runs it with TorchSharp-cpu, the peer, made loadable here.
#
#   bench/run-benchmarks.sh quick [--iters 5] [--base f32|bf16] [--json FILE] ...   Stopwatch table, ours vs TorchSharp
#   bench/run-benchmarks.sh --filter '*GemmBenchmarks*'                            BenchmarkDotNet (any of its options)
#   bench/run-benchmarks.sh peer train|eval|generate|load|check|make-model ...     TorchSharp LLaMA peer, one JSON object
#
# TorchSharp-cpu 0.107's libLibTorchSharp.so is built with GCC 13 and needs GLIBCXX_3.4.32, which older
# libstdc++ (Debian 12: GCC 12) lacks. Where it is missing, shared/tools/torchsharp-glibcxx-compat.py
# (shared/ sits beside the repository; MOR_SHARED overrides) marks that one need weak in the copies in the
# build output and builds libiosinit.so, a one-function shim that is LD_PRELOADed. Nothing outside the
# build output changes. Environment: MOR_CUDA=AUTO|ON|OFF passes on to the native build (default AUTO).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
project="$here/MoR.Bench/MoR.Bench.csproj"
bin="$here/MoR.Bench/bin/Release/net10.0"

dotnet build "$project" -c Release -p:MorCuda="${MOR_CUDA:-AUTO}" --nologo -v quiet -clp:NoSummary >&2

needs_compat() {
  [ "$(uname -s)" = Linux ] || return 1
  local libstdcxx
  libstdcxx=$(ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64/ { print $NF; exit }')
  [ -n "$libstdcxx" ] || return 0  # cannot tell: patching is harmless
  ! grep -q 'GLIBCXX_3\.4\.32' "$libstdcxx"
}

if needs_compat; then
  tool=""
  for candidate in "${MOR_SHARED:+$MOR_SHARED/tools/torchsharp-glibcxx-compat.py}" \
                   "$repo/../shared/tools/torchsharp-glibcxx-compat.py"; do
    if [ -n "$candidate" ] && [ -f "$candidate" ]; then tool=$candidate; break; fi
  done
  if [ -z "$tool" ]; then
    echo "run-benchmarks.sh: this libstdc++ lacks GLIBCXX_3.4.32 and torchsharp-glibcxx-compat.py was not found" >&2
    echo "  (looked in \$MOR_SHARED/tools and $repo/../shared/tools); TorchSharp will not load." >&2
  else
    python3 "$tool" "$bin" >&2
    export LD_PRELOAD="$bin/libiosinit.so${LD_PRELOAD:+:$LD_PRELOAD}"
    echo "run-benchmarks.sh: LD_PRELOAD=$LD_PRELOAD" >&2
  fi
fi

cd "$repo"  # BenchmarkDotNet writes BenchmarkDotNet.Artifacts/ here (git-ignored)
exec dotnet "$bin/MoR.Bench.dll" "$@"
