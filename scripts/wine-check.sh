#!/usr/bin/env bash
# The Windows build, run for real: `mor` published self-contained for win-x64 (the native library cross-compiled
# with MinGW) runs under Wine, beside the Linux `mor` on the same model and data:
#   1. mor selftest;
#   2. mor finetune, 4 steps with --save-every 2: exit 0, both checkpoints, the adapter and loss.png written;
#   3. its losses (metrics.jsonl: every step and the evaluation) equal the Linux run's to 1e-6 relative;
#   4. mor eval of the Windows adapter on Windows equals mor eval of it on Linux to 1e-6 relative.
# What Wine cannot do is skipped with its reason (docs/WINDOWS.md): .NET's W^X code mapping is turned off for
# every run (DOTNET_EnableWriteXorExecute=0), and the run with it on is a counted skip.
# Usage: scripts/wine-check.sh [MODEL_DIR [LINUX_MOR]]; defaults: artifacts/ci/tiny-model and artifacts/ci/tools/mor,
# which scripts/pack-check.sh leaves (a tiny random byte-level LLaMA; the installed `mor` tool).
# As root on Debian/Ubuntu, installs Wine (wine64) when missing and says so; elsewhere without Wine, skips.
# One outcome line per check on stderr; exit 1 when one failed (scripts/ci-checks.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
CHECK_SUITE=wine-check
source scripts/ci-checks.sh
log() { echo "$CHECK_SUITE: $*" >&2; }

model=$(realpath -m "${1:-$root/artifacts/ci/tiny-model}")
linux_mor=$(realpath -m "${2:-$root/artifacts/ci/tools/mor}")
ci=$root/artifacts/ci/wine
publish=$root/artifacts/publish-win-x64-sc
names=("selftest" "finetune 4 steps --save-every 2" "losses equal Linux's (1e-6 relative)" "eval equals Linux's (1e-6 relative)")
skip_all() { for n in "${names[@]}"; do check_skip "$n" "$1"; done; check_summary; exit 0; }

# ---- Wine -----------------------------------------------------------------------------------------
# Debian's wine64 puts the loader in /usr/lib/wine (the `wine` package adds /usr/bin/wine).
export PATH=$PATH:/usr/lib/wine
if ! command -v wine64 >/dev/null; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    log "installing wine64 (apt) to run the Windows build"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -q && apt-get install -y -q --no-install-recommends wine64; } >&2
  else
    skip_all "Wine is not installed (Debian/Ubuntu: apt-get install wine64, as root)"
  fi
fi
command -v x86_64-w64-mingw32-g++-posix >/dev/null ||
  skip_all "the MinGW-w64 cross compiler is not installed (Debian/Ubuntu: apt-get install g++-mingw-w64-x86-64)"
[[ -f $model/config.json ]] || { for n in "${names[@]}"; do check_fail "$n" "no model in $model (scripts/pack-check.sh writes one)"; done; check_summary; exit 1; }
[[ -x $linux_mor ]] || { for n in "${names[@]}"; do check_fail "$n" "no Linux mor at $linux_mor (scripts/pack-check.sh installs one)"; done; check_summary; exit 1; }

log "publishing mor for win-x64, self-contained (Wine has no .NET runtime) -> $publish"
dotnet publish managed/MoR.Cli -c Release -r win-x64 --self-contained true -o "$publish" >&2

rm -rf "$ci"
mkdir -p "$ci"
export WINEPREFIX=$ci/prefix WINEDEBUG=-all
# Wine 8 crashes in the runtime when .NET frees dynamic code with W^X on (docs/WINDOWS.md).
export DOTNET_EnableWriteXorExecute=0
started=$SECONDS
wine64 wineboot --init >"$ci/wineboot.log" 2>&1 || true
log "Wine's first start (a new prefix): $((SECONDS - started)) s"

win() { printf 'Z:%s' "${1//\//\\}"; }  # Wine maps the Linux root to drive Z:
mor_win() { wine64 "$publish/mor.exe" "$@"; }

# ---- 1. selftest -----------------------------------------------------------------------------------
started=$SECONDS
if mor_win selftest >"$ci/selftest.txt" 2>&1 && grep -q "^selftest passed" "$ci/selftest.txt"; then
  check_pass "${names[0]}" "$(grep -m1 '^build' "$ci/selftest.txt" | tr -s ' '); $((SECONDS - started)) s"
else
  tail -n 15 "$ci/selftest.txt" >&2
  check_fail "${names[0]}" "see $ci/selftest.txt"
fi

# ---- 2. finetune with checkpoints, Windows and Linux -----------------------------------------------
data=$ci/train.jsonl
eval_data=$ci/eval.jsonl
for i in $(seq 0 39); do echo "{\"prompt\":\"copy: w$((i % 7))\\n\",\"completion\":\"w$((i % 7))\"}"; done >"$data"
for i in $(seq 0 9); do echo "{\"text\":\"copy: w$((i % 7)) w$((i % 7))\"}"; done >"$eval_data"
train=(finetune --method lora --rank 4 --steps 4 --micro-batch 2 --seq-len 32 --lr 1e-2 --save-every 2 --eval-batches 1)
out_win=$ci/finetune-windows
out_linux=$ci/finetune-linux

started=$SECONDS
code=0
mor_win "${train[@]}" --model "$(win "$model")" --data "$(win "$data")" --output "$(win "$out_win")" >"$ci/finetune-windows.txt" 2>&1 || code=$?
seconds=$((SECONDS - started))
problems=()
[[ $code -eq 0 ]] || problems+=("exit code $code")
! grep -q "Fatal error" "$ci/finetune-windows.txt" || problems+=("the runtime crashed ($(grep -m1 -A2 'Fatal error' "$ci/finetune-windows.txt" | tr '\n' ' '))")
for f in adapter/adapter_model.safetensors adapter/adapter_config.json checkpoints/checkpoint-00000002/trainer_state.json \
         checkpoints/checkpoint-00000004/trainer_state.json metrics.jsonl loss.png; do
  [[ -f $out_win/$f ]] || problems+=("no $f")
done
grep -q "^loss plot: " "$ci/finetune-windows.txt" || problems+=("no 'loss plot:' line")
if [[ ${#problems[@]} -eq 0 ]]; then
  check_pass "${names[1]}" "adapter, checkpoints 2 and 4, metrics.jsonl, loss.png; $seconds s"
else
  tail -n 15 "$ci/finetune-windows.txt" >&2
  check_fail "${names[1]}" "$(IFS=';'; echo "${problems[*]}")"
fi

"$linux_mor" "${train[@]}" --model "$model" --data "$data" --output "$out_linux" >"$ci/finetune-linux.txt" 2>&1 ||
  log "the Linux run failed too (see $ci/finetune-linux.txt)"

# ---- 3. the same losses ----------------------------------------------------------------------------
# "type" and "loss" of every metrics line, in order: step losses and the evaluation's.
losses() { [[ -f $1 ]] && sed -n 's/.*"type":"\([a-z]*\)".*"loss":\([-0-9.eE+]*\).*/\1 \2/p' "$1" || true; }
compare() {  # two files of "kind value" lines; prints the largest relative difference, fails above 1e-6
  paste -d' ' "$1" "$2" | awk '
    NF != 4 || $1 != $3 { bad = 1; next }
    { d = $2 - $4; if (d < 0) d = -d; r = d / ($4 < 0 ? -$4 : $4); if (r > max) max = r; n++ }
    END { printf "%d values, largest relative difference %.2g", n, max; exit (bad || n == 0 || max > 1e-6) }'
}
losses "$out_win/metrics.jsonl" >"$ci/losses-windows.txt"
losses "$out_linux/metrics.jsonl" >"$ci/losses-linux.txt"
if [[ $(wc -l <"$ci/losses-windows.txt") -eq 5 ]] && [[ $(wc -l <"$ci/losses-linux.txt") -eq 5 ]] &&
   result=$(compare "$ci/losses-windows.txt" "$ci/losses-linux.txt"); then
  check_pass "${names[2]}" "$result"
else
  check_fail "${names[2]}" "${result:-expected 4 step losses and 1 evaluation loss from each run} (Windows: $ci/losses-windows.txt, Linux: $ci/losses-linux.txt)"
fi

# ---- 4. eval of the Windows adapter, on Windows and on Linux ---------------------------------------
nll() { sed -n 's/.*"mean_nll": *\([-0-9.eE+]*\).*/eval \1/p' "$1" || true; }
mor_win eval --model "$(win "$model")" --adapter "$(win "$out_win/adapter")" --data "$(win "$eval_data")" --json >"$ci/eval-windows.txt" 2>&1 || true
"$linux_mor" eval --model "$model" --adapter "$out_win/adapter" --data "$eval_data" --json >"$ci/eval-linux.txt" 2>&1 || true
nll "$ci/eval-windows.txt" >"$ci/nll-windows.txt"
nll "$ci/eval-linux.txt" >"$ci/nll-linux.txt"
if [[ -s $ci/nll-windows.txt ]] && result=$(compare "$ci/nll-windows.txt" "$ci/nll-linux.txt"); then
  check_pass "${names[3]}" "mean NLL $(cut -d' ' -f2 "$ci/nll-windows.txt"); $result"
else
  tail -n 5 "$ci/eval-windows.txt" >&2
  check_fail "${names[3]}" "${result:-no result} (see $ci/eval-windows.txt, $ci/eval-linux.txt)"
fi

check_skip "finetune with .NET's default W^X code mapping" \
  "Wine 8 cannot run it: the runtime crashes freeing dynamic code (Internal CLR error 0x80131506 in DynamicResolver+DestroyScout.Finalize; docs/WINDOWS.md)"
check_summary
