#!/usr/bin/env bash
# Re-checks the tokenizer and chat-template golden files against the references they were made with
# (@huggingface/tokenizers and @huggingface/jinja, on the real tokenizer files of the pinned npm packages): one check
# per golden file, counted by .ci/run. Where npm or the registry is unavailable every check is skipped with the reason.
# One outcome line per check on stderr; exit 1 when one failed (scripts/ci-checks.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
CHECK_SUITE=golden-check
source scripts/ci-checks.sh
here=scripts/tokenizer-golden
# What generate.mjs --check compares: the tokenizer goldens, the templates taken from packages, the renderings.
goldens=(tests/MoR.Tests/Tokenization/Golden/*.json)
for key in $(sed -n 's/.*"key": "\([^"]*\)", "package".*/\1/p' "$here/chat-templates.json"); do
  goldens+=("tests/MoR.Tests/Templates/Golden/$key.jinja")
done
goldens+=(tests/MoR.Tests/Templates/Golden/renderings.json)

skip_all() {
  for f in "${goldens[@]}"; do check_skip "$f" "$1"; done
  check_summary
  exit 0
}

command -v node >/dev/null && command -v npm >/dev/null || skip_all "node and npm are not installed"
timeout 60 npm view @huggingface/jinja@0.5.13 version --fetch-retries 0 --fetch-timeout 20000 >/dev/null 2>&1 \
  || skip_all "the npm registry is unreachable"
if ! (cd "$here" && npm ci --no-audit --no-fund >/dev/null 2>&1); then
  skip_all "npm ci in $here failed (registry unreachable?)"
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
(cd "$here" && node generate.mjs --check) >"$out" 2>&1 || status=$?
while read -r verdict file; do
  case $verdict in
    ok) check_pass "$file" "equals the reference" ;;
    DIFFERS) check_fail "$file" "differs from the reference; run 'node $here/generate.mjs' and review the diff" ;;
  esac
done <"$out"
if [[ $status -ne 0 ]] && ! grep -q '^DIFFERS ' "$out"; then
  cat "$out" >&2
  check_fail "generate.mjs --check" "exit code $status (output above)"
fi
check_summary
