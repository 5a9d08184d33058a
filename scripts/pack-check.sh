#!/usr/bin/env bash
# The NuGet packages as a .NET user meets them. Packs (`dotnet pack`: MoRNative, the library with its native
# libraries, and MoRNative.Cli, the `mor` tool) into artifacts/packages, then, outside the repository:
#   1. a fresh `dotnet new console` project installs MoRNative from that local feed and runs packaging/consumer/Program.cs
#      (a tiny random model, LoRA training through the public API; the loss must go down);
#   2. the package layout: what NuGet extracted has both assemblies, the native library of each runtime, README, licence;
#   3. `dotnet tool install --tool-path` installs MoRNative.Cli and runs `mor --help` and `mor selftest`.
# Leaves the tiny model and the installed tool in artifacts/ci (scripts/wine-check.sh compares Windows with them).
# One outcome line per check on stderr; exit 1 when one failed (scripts/ci-checks.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
CHECK_SUITE=pack-check
source scripts/ci-checks.sh
log() { echo "$CHECK_SUITE: $*" >&2; }

version=$(tr -d '[:space:]' < VERSION)
feed=$root/artifacts/packages
ci=$root/artifacts/ci
work=$(mktemp -d /tmp/mor-pack-check.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$ci"

# ---- pack -----------------------------------------------------------------------------------------
log "dotnet pack -c Release (MoRNative $version, MoRNative.Cli $version) -> $feed"
rm -f "$feed"/MoRNative.*"$version".nupkg
if ! dotnet pack "$root/MoRNative.sln" -c Release -o "$feed" >"$ci/pack.log" 2>&1; then
  tail -n 30 "$ci/pack.log" >&2
  check_fail "dotnet pack" "see $ci/pack.log"
  check_summary
  exit 1
fi

# A fresh package folder, so that what is checked is what was just packed, never an older copy of the same
# version in the machine's NuGet cache. Other packages come from that cache (offline) or the configured feeds;
# our ids come only from the local feed.
global=$(dotnet nuget locals global-packages --list | sed 's/^global-packages: //')
export NUGET_PACKAGES=$work/packages
cat >"$work/nuget.config" <<CONFIG
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="local" value="$feed" />
    <add key="machine-cache" value="$global" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
  </packageSources>
  <packageSourceMapping>
    <packageSource key="local"><package pattern="MoRNative" /><package pattern="MoRNative.*" /></packageSource>
    <packageSource key="machine-cache"><package pattern="*" /></packageSource>
    <packageSource key="nuget.org"><package pattern="*" /></packageSource>
  </packageSourceMapping>
</configuration>
CONFIG

# ---- 1. a console project that uses the library ----------------------------------------------------
app=$work/app
consumer_ok=false
if dotnet new console -o "$app" --framework net10.0 --no-restore >"$ci/consumer.log" 2>&1 &&
   cp "$work/nuget.config" "$app/nuget.config" &&
   cp packaging/consumer/Program.cs "$app/Program.cs" &&
   dotnet add "$app" package MoRNative --version "$version" >>"$ci/consumer.log" 2>&1; then
  rm -rf "$ci/tiny-model" "$ci/tiny-model-adapter"
  if dotnet run --project "$app" -c Release -- "$ci/tiny-model" 2>&1 | tee -a "$ci/consumer.log" >&2 && [[ ${PIPESTATUS[0]} -eq 0 ]]; then
    consumer_ok=true
  fi
fi
if $consumer_ok; then
  check_pass "library: a fresh console project installs MoRNative $version and trains LoRA" "$(grep -o 'loss on the training rows.*' "$ci/consumer.log")"
else
  tail -n 20 "$ci/consumer.log" >&2
  check_fail "library: a fresh console project installs MoRNative $version and trains LoRA" "see $ci/consumer.log"
fi

# ---- 2. the package as NuGet extracted it (by the restore above) -------------------------------
pkg=$NUGET_PACKAGES/mornative/$version
missing=()
for f in lib/net10.0/MoR.dll lib/net10.0/MoR.Interop.dll lib/net10.0/MoR.xml runtimes/linux-x64/native/libmornative.so \
         runtimes/win-x64/native/mornative.dll README.md LICENSE-NOTICE.txt; do
  [[ -f $pkg/$f ]] || missing+=("$f")
done
if [[ ! -d $pkg ]]; then
  check_fail "layout: MoRNative $version" "NuGet did not extract it to $pkg"
elif [[ ${#missing[@]} -gt 0 ]]; then
  check_fail "layout: MoRNative $version" "missing ${missing[*]}"
elif ! grep -q '<readme>README.md</readme>' "$pkg/mornative.nuspec" || ! grep -q '<license type="file">' "$pkg/mornative.nuspec"; then
  check_fail "layout: MoRNative $version" "the nuspec lacks the readme or licence entry"
elif grep -qi '<dependency id="MoR.Interop"' "$pkg/mornative.nuspec"; then
  check_fail "layout: MoRNative $version" "it depends on a MoR.Interop package instead of containing the assembly"
else
  check_pass "layout: MoRNative $version" "lib/net10.0: MoR + MoR.Interop; runtimes/{linux-x64,win-x64}/native; README; licence notice"
fi

# ---- 3. the tool -----------------------------------------------------------------------------------
tools=$ci/tools
rm -rf "$tools"
if dotnet tool install MoRNative.Cli --version "$version" --tool-path "$tools" --configfile "$work/nuget.config" >"$ci/tool.log" 2>&1 &&
   "$tools/mor" --help >>"$ci/tool.log" 2>&1 &&
   "$tools/mor" selftest >>"$ci/tool.log" 2>&1; then
  check_pass "tool: dotnet tool install MoRNative.Cli $version; mor --help; mor selftest" "$(grep -m1 '^native library' "$ci/tool.log" | tr -s ' ')"
else
  tail -n 20 "$ci/tool.log" >&2
  check_fail "tool: dotnet tool install MoRNative.Cli $version; mor --help; mor selftest" "see $ci/tool.log"
fi

check_summary
