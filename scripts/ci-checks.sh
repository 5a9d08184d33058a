# Sourced by the CI checks that are scripts rather than xunit tests (scripts/pack-check.sh,
# scripts/wine-check.sh): each check prints one outcome line, and the suite appends one summary line in
# `dotnet test`'s format to artifacts/ci/checks.log, which .ci/run counts with the test results.
# Before sourcing, set CHECK_SUITE (the suite's name, also the prefix of its lines).

CHECK_LOG=${CHECK_LOG:-$PWD/artifacts/ci/checks.log}
check_passed=0
check_failed=0
check_skipped=0
check_started=$SECONDS

check_pass() { check_passed=$((check_passed + 1)); echo "$CHECK_SUITE: PASSED $1${2:+ ($2)}" >&2; }
check_fail() { check_failed=$((check_failed + 1)); echo "$CHECK_SUITE: FAILED $1: $2" >&2; }
check_skip() { check_skipped=$((check_skipped + 1)); echo "$CHECK_SUITE: SKIPPED $1: $2" >&2; }

# Appends the summary line and returns 1 when a check failed.
check_summary() {
  local total=$((check_passed + check_failed + check_skipped)) verdict="Passed!"
  [[ $check_failed -eq 0 ]] || verdict="Failed!"
  mkdir -p "$(dirname "$CHECK_LOG")"
  printf '%s  - Failed: %d, Passed: %d, Skipped: %d, Total: %d, Duration: %d s - %s\n' \
    "$verdict" "$check_failed" "$check_passed" "$check_skipped" "$total" $((SECONDS - check_started)) "$CHECK_SUITE" |
    tee -a "$CHECK_LOG" >&2
  [[ $check_failed -eq 0 ]]
}
