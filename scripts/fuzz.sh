#!/usr/bin/env bash
# Runs every Fuzz* target of every package in the module, one at a time (go
# test fuzzes only one target per invocation), each for FUZZTIME (default
# 30s). Prints nothing and succeeds when there are no fuzz targets.
# A failing input is saved under <pkg>/testdata/fuzz/<Target>/ by go test:
# commit it with the fix, it becomes a regression seed.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-30s}

# Packages whose test files declare a fuzz target at all (a cheap grep);
# `go test -list`, which compiles the test binary, then names the targets.
go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}|{{.Dir}}{{end}}' ./... |
while IFS='|' read -r pkg dir; do
	grep -qs -E '^func Fuzz' "$dir"/*_test.go || continue
	targets=$(go test -list '^Fuzz' "$pkg" | awk '/^Fuzz/')
	for target in $targets; do
		echo "== fuzz $pkg $target for $fuzztime"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
	done
done
