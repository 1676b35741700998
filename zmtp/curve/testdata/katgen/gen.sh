#!/bin/sh
# Regenerates ../kat.txt from katgen.c with the system libsodium (Debian:
# libsodium-dev). Run from anywhere: sh zmtp/curve/testdata/katgen/gen.sh
# (or go generate ./zmtp/curve/). The main module never builds this C.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -std=c99 -O1 -Wall -Wextra -o "$tmp/katgen" "$here/katgen.c" $(pkg-config --cflags --libs libsodium)
"$tmp/katgen" > "$here/../kat.txt"
echo "wrote $here/../kat.txt"
