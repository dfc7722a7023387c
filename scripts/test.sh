#!/usr/bin/env bash
# All tests: static checks (types, lint, workflow lint, dist in sync with src) and every jest test
# (unit and integration against the local Azure). Ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .build

passed=0
failed=0
check() {
  local name=$1
  shift
  echo "::group::check: $name"
  if "$@"; then
    passed=$((passed + 1))
    echo "::endgroup::"
    echo "check passed: $name"
  else
    failed=$((failed + 1))
    echo "::endgroup::"
    echo "check FAILED: $name"
  fi
}

dist_in_sync() {
  rm -rf .build/dist-check
  npx tsc --noEmit -p tsconfig.json &&
    npx ncc build src/index.ts -o .build/dist-check --quiet &&
    diff -r dist .build/dist-check
}

check "types" npm run --silent typecheck
check "lint" npm run --silent lint
check "workflows" npm run --silent lint:workflows
check "dist is rebuilt from src" dist_in_sync

# Jest reports through a JSON file so the counts do not depend on its console format.
NODE_OPTIONS=--experimental-vm-modules npx jest --ci --json --outputFile=.build/jest.json "$@"
jest_status=$?
if [ -f .build/jest.json ]; then
  read -r jp jf < <(node -e 'const r=require("./.build/jest.json");console.log(r.numPassedTests, r.numFailedTests + (r.numRuntimeErrorTestSuites||0))')
else
  jp=0
  jf=1
fi
if [ "$jest_status" -ne 0 ] && [ "$jf" -eq 0 ]; then jf=1; fi
passed=$((passed + jp))
failed=$((failed + jf))

# Short runs of the published proof: the same checks as docs/benchmarks.md and docs/reliability.md,
# fewer repetitions (the timing targets of a short bench are regression guards, see bench/main.ts).
check "benchmarks (short run)" npm run --silent bench -- --short
check "reliability suite (short run)" npm run --silent reliability -- --short

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
