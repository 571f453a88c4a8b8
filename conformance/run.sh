#!/usr/bin/env bash
# Conformance: the HTTP caching test suite (cache-tests.fyi, RFC 9111),
# vendored in ../shared/cache-tests, against cachefront as a plain shared
# cache (conformance/cachefront.toml). Fails when a required test that
# passes in baseline-required.txt no longer passes, so the score only
# ratchets up. The suite needs its origin on the fixed port 8000, which is
# why this is a script and not a cargo test.
#
# Usage: conformance/run.sh [CACHEFRONT_BINARY]     (default target/debug/cachefront)
#   UPDATE_BASELINE=1 rewrites baseline-required.txt from this run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
shared=${SHARED_DIR:-$root/../shared}
suite_tools=$shared/cache-tests
bin=${1:-$root/target/debug/cachefront}
out=${CACHE_TESTS_RESULTS:-$(mktemp -d /tmp/cachefront-conformance.XXXXXX)}
export CACHE_TESTS_RESULTS=$out
port=8110

[ -x "$bin" ] || { echo "conformance: $bin missing; build first (cargo build)" >&2; exit 1; }
command -v node >/dev/null || { echo "conformance: node (>= 20.18) is needed" >&2; exit 1; }

"$bin" check --config "$here/cachefront.toml" >/dev/null
RUST_LOG=warn "$bin" --config "$here/cachefront.toml" >"$out/cachefront.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
  kill -0 $pid 2>/dev/null || { cat "$out/cachefront.log" >&2; exit 1; }
  sleep 0.1
done

run_suite() {
  "$suite_tools/cache-tests-run" -n cachefront -o "$out" "http://127.0.0.1:$port" >"$out/run.log" 2>&1 || {
    cat "$out/run.log" >&2
    return 1
  }
}

# Required tests from the baseline that do not pass in $out/cachefront.json.
regressions() {
  "$suite_tools/cache-tests-score" --json "$out/cachefront.json" 2>/dev/null | python3 -c '
import json, sys
per = json.load(sys.stdin)["per_test"]
base = [l.strip() for l in open(sys.argv[1]) if l.strip()]
print("\n".join(t for t in base if per.get(t) != "pass"))
' "$here/baseline-required.txt"
}

run_suite
lost=$(regressions)
if [ -n "$lost" ]; then
  # Some suite tests pause on wall-clock time; one rerun tells a flake from
  # a regression.
  echo "conformance: rerunning once; not passing: $(echo $lost)" >&2
  run_suite
  lost=$(regressions)
fi
"$suite_tools/cache-tests-score" "$out/cachefront.json" | sed -n '/^kind/,/^$/p'

if [ "${UPDATE_BASELINE:-0}" = 1 ]; then
  "$suite_tools/cache-tests-score" --json "$out/cachefront.json" 2>/dev/null | python3 -c '
import json, subprocess, sys
per = json.load(sys.stdin)["per_test"]
req = set(subprocess.check_output(["node", sys.argv[1], sys.argv[2]]).decode().split())
print("\n".join(sorted(t for t, v in per.items() if v == "pass" and t in req)))
' "$here/required-kinds.mjs" "${CACHE_TESTS_WORK:-/tmp/cache-tests-suite}" >"$here/baseline-required.txt"
  echo "conformance: baseline updated ($(wc -l <"$here/baseline-required.txt") required tests pass)"
fi

if [ -n "$lost" ]; then
  echo "conformance: FAILED — required tests that passed in the baseline fail now:" >&2
  echo "$lost" >&2
  exit 1
fi
echo "conformance: ok ($(wc -l <"$here/baseline-required.txt") baseline required tests still pass)"
