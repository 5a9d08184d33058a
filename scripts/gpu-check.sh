#!/usr/bin/env bash
# Everything a GPU machine should run, in one command, writing every result under one folder:
#   1. build the native library with the CUDA backend (the machine has nvcc and cmake, maybe no dotnet);
#   2. run the native test suite (CUDA vs CPU for every op, determinism, allocator counters);
#   3. the native layer benchmark (base / LoRA / MoE-LoRA / MoR, F32 and BF16 base);
#   4. the PyTorch peer of the same layer (scripts/peers/torch_layer_bench.py);
#   5. a self-contained published `mor` (dotnet publish -r linux-x64 --self-contained, copied to
#      .gpu/mor/) for `selftest` and `bench`, when present.
#   6. the training step at LLaMA-2-7B shapes: `mor bench train` (LoRA, MoR) next to PyTorch + PEFT LoRA and a
#      PyTorch MoR (scripts/peers/torch_train_bench.py) on the same random checkpoint and token batch.
# Usage: scripts/gpu-check.sh [results-dir]   (default: $OUT when set, else ./gpu-results)
# MOR_GPU_PARTS picks parts (default: all): tests layer kernels selftest quickstart peer train.
# Inputs it looks for: .gpu/googletest (GoogleTest sources, when the machine has none installed),
# .gpu/mor/mor (the published CLI). MOR_CUDA_ARCHS overrides the architectures (default 90).
set -uo pipefail
cd "$(dirname "$0")/.."
results=${1:-${OUT:-$PWD/gpu-results}}
mkdir -p "$results"
summary=$results/summary.txt
: >"$summary"
say() { echo "$*" | tee -a "$summary"; }
parts=" ${MOR_GPU_PARTS:-tests layer kernels selftest quickstart peer train} "
want() { [[ $parts == *" $1 "* ]]; }
step() { say ""; say "== $* =="; }

# The training-step comparison at LLaMA-2-7B shapes (issue #8): `mor` writes one random BF16 checkpoint, both
# stacks train LoRA and MoR (N=8, r=32 on gate/up/down) on the same 1 x 2048-token batch; every record is one
# JSON line in train-7b.jsonl (docs/PERFORMANCE.md renders them).
train_step() {
  step "training step at LLaMA-2-7B shapes: mor bench train vs PyTorch (+ PEFT)"
  local model=${MOR_7B_DIR:-/tmp/mor-llama2-7b} batch=$results/train-batch.jsonl out=$results/train-7b.jsonl
  local common=(--batch 1 --seq-len 2048 --steps "${MOR_TRAIN_STEPS:-4}" --warmup 2)
  python3 -c "import transformers, peft; print('transformers', transformers.__version__, 'peft', peft.__version__)" 2>&1 | tail -1 | tee -a "$summary"
  python3 scripts/peers/torch_train_bench.py --write-data "$batch" --vocab 32000 "${common[@]}" 2>&1 | tee -a "$summary"
  local t0=$(date +%s)
  timeout "${MOR_TRAIN_TIMEOUT:-240}" .gpu/mor/mor bench train --preset llama2-7b --write-model "$model" --bf16-base --tf32 --device cuda \
    --data "$batch" --method lora --method mor "${common[@]}" --json >>"$out" 2>"$results/train-mor.log"
  say "mor bench train: exit $? after $(($(date +%s) - t0)) s"
  tail -5 "$results/train-mor.log" | tee -a "$summary"
  for method in ${MOR_TRAIN_PEER_METHODS-peft-lora mor lora}; do
    t0=$(date +%s)
    timeout "${MOR_PEER_TIMEOUT:-120}" python3 scripts/peers/torch_train_bench.py --model "$model" --data "$batch" --method "$method" \
      "${common[@]}" --json >>"$out" 2>"$results/train-torch-$method.log"
    say "pytorch $method: exit $? after $(($(date +%s) - t0)) s"
    tail -3 "$results/train-torch-$method.log" | tee -a "$summary"
  done
  python3 - "$out" <<'PY' 2>&1 | tee -a "$summary"
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    print(f"{r['stack']:10} {r['method']:10} {r['step']['medianMs']:9.1f} ms  {r['tokensPerSecond']:8.0f} tok/s  {r['stepTflops']:6.1f} TFLOP/s  "
          f"peak {r['peakDeviceBytes'] / 2**30:5.1f} GiB  loss0 {r['losses'][0]:.5f}")
PY
}

step "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv 2>&1 | tee -a "$summary"
nvcc --version | tail -2 | tee -a "$summary"

step "build (MOR_CUDA=ON)"
gtest_arg=()
[[ -d .gpu/googletest ]] && gtest_arg=(-DMOR_GTEST_SOURCE_DIR="$PWD/.gpu/googletest")
t0=$(date +%s)
if cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DMOR_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="${MOR_CUDA_ARCHS:-90}" \
    "${gtest_arg[@]}" >"$results/configure.log" 2>&1 &&
  cmake --build build-gpu --parallel "$(nproc)" --target mor mor_native_tests mor_layer_bench mor_cuda_kernel_bench \
    >"$results/build.log" 2>&1; then
  say "built in $(($(date +%s) - t0)) s"
else
  say "BUILD FAILED (see build.log / configure.log)"
  tail -40 "$results/build.log" "$results/configure.log" 2>/dev/null | tee -a "$summary"
  exit 1
fi
lib=$(ls build-gpu/native/libmor*.so | head -1)

if want tests; then
step "native tests (CUDA vs CPU, determinism, allocator)"
build-gpu/native/tests/mor_native_tests >"$results/native-tests.log" 2>&1
say "exit $? : $(grep -E '^\[  (PASSED|FAILED|SKIPPED) ' "$results/native-tests.log" | tr '\n' ' ')"
grep -E '^\[  FAILED  \]|Failure|SKIPPED' "$results/native-tests.log" | head -40 | tee -a "$summary"
# Attention at T=2048, D=128, 32 heads through the public ABI (disabled by default: it only times).
build-gpu/native/tests/mor_native_tests --gtest_also_run_disabled_tests --gtest_filter='*DISABLED_*' 2>&1 |
  grep -vE '^\[ *(RUN|OK) ' | tail -12 | tee -a "$summary"
fi

if want layer; then
step "layer benchmark (native)"
for base in bf16 f32; do
  build-gpu/native/mor_layer_bench --backend cuda --T 4096 --base "$base" --iters 10 2>&1 | tee -a "$summary"
  [[ $base == bf16 ]] && build-gpu/native/mor_layer_bench --backend cuda --T 4096 --base bf16 --tf32 --iters 10 2>&1 | tee -a "$summary"
  build-gpu/native/mor_layer_bench --backend cuda --T 4096 --base "$base" --iters 10 --json >>"$results/layer-bench.jsonl" 2>&1
done
fi
if want kernels; then
step "fused kernels vs memory bandwidth"
build-gpu/native/mor_cuda_kernel_bench 2>&1 | tee -a "$summary"
fi

if [[ -x .gpu/mor/mor ]]; then
  export MOR_NATIVE_PATH=$PWD/$lib
  if want selftest; then
  step "mor selftest (published CLI, CUDA)"
  .gpu/mor/mor selftest --device cuda 2>&1 | tee -a "$summary"
  fi
  if want layer && .gpu/mor/mor bench --help >/dev/null 2>&1; then
    step "mor bench (CUDA)"
    timeout 120 .gpu/mor/mor bench layer --device cuda --json >"$results/mor-bench-layer.json" 2>&1
    tail -20 "$results/mor-bench-layer.json" | tee -a "$summary"
  fi
  if want train; then
    train_step
  fi
  if want quickstart; then
  step "mor finetune quickstart on CUDA (end to end: pretrain, MoR fine-tune, per-task accuracy)"
  t0=$(date +%s)
  MOR_CACHE_DIR=$PWD/.gpu-cache timeout "${MOR_QUICKSTART_TIMEOUT:-150}" .gpu/mor/mor finetune --device cuda \
    --output /tmp/mor-quickstart >"$results/quickstart.log" 2>&1
  say "exit $? after $(($(date +%s) - t0)) s"
  cp /tmp/mor-quickstart/loss.png "$results/quickstart-loss.png" 2>/dev/null
  grep -vE '^\s*$' "$results/quickstart.log" | grep -vE 'step +[0-9]+/' | tail -40 | tee -a "$summary"
  fi
else
  say ""
  say "(no .gpu/mor/mor: publish it with dotnet publish managed/MoR.Cli -r linux-x64 --self-contained -p:PublishSingleFile=true -o .gpu/mor)"
fi
if want peer; then
step "PyTorch peer (same layer, same shapes)"
for base in ${MOR_PEER_BASES:-bf16 f32}; do
  timeout 90 python3 scripts/peers/torch_layer_bench.py --device cuda --T 4096 --base "$base" --iters 20 2>&1 | tee -a "$summary"
done
fi

say ""
say "results in $results"
