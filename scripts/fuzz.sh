#!/usr/bin/env bash
# Runs every Fuzz* target of every package in the module, one at a time (go
# test fuzzes only one target per invocation), each for FUZZTIME (default
# 30s). Prints nothing and succeeds when there are no fuzz targets.
# A failing input is saved under <pkg>/testdata/fuzz/<Target>/ by go test:
# commit it with the fix, it becomes a regression seed.
#
# Go's fuzzing coordinator has a shutdown race: when -fuzztime runs out while
# a worker is mid-call, it can fail the target with a bare "context deadline
# exceeded" and write no failing input. Such a run found nothing, so it is
# run once more; a second failure of any kind, or any failure that wrote an
# input or printed anything else, fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-30s}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# corpus_count DIR TARGET: how many inputs testdata/fuzz/TARGET holds.
corpus_count() {
	find "$1/testdata/fuzz/$2" -type f 2>/dev/null | wc -l
}

# is_deadline_flake LOG: the failure is the coordinator race and nothing else.
is_deadline_flake() {
	grep -q '^    context deadline exceeded$' "$1" &&
		! grep -q -E 'Failing input written|panic:|--- FAIL: .*#|fuzz_test.go:[0-9]+:|_test.go:[0-9]+:' "$1"
}

# Packages whose test files declare a fuzz target at all (a cheap grep);
# `go test -list`, which compiles the test binary, then names the targets.
go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}|{{.Dir}}{{end}}' ./... |
while IFS='|' read -r pkg dir; do
	grep -qs -E '^func Fuzz' "$dir"/*_test.go || continue
	targets=$(go test -list '^Fuzz' "$pkg" | awk '/^Fuzz/')
	for target in $targets; do
		for attempt in 1 2; do
			echo "== fuzz $pkg $target for $fuzztime"
			before=$(corpus_count "$dir" "$target")
			if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" 2>&1 | tee "$log"; then
				break
			fi
			after=$(corpus_count "$dir" "$target")
			if [ "$attempt" -eq 1 ] && [ "$after" -eq "$before" ] && is_deadline_flake "$log"; then
				echo "== $target: bare 'context deadline exceeded', no input written (Go fuzz coordinator shutdown race); running it once more"
				continue
			fi
			exit 1
		done
	done
done
