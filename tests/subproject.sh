#!/usr/bin/env bash
# subproject.sh SRCDIR - braid as a Meson subproject: a fresh project whose
# subprojects/braid is this source tree asks for dependency('braid') with a
# fallback, builds examples/hello.c against it and runs it.
set -euo pipefail
src=$(cd "$1" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/subprojects"
ln -s "$src" "$tmp/subprojects/braid"
cp "$src/examples/hello.c" "$tmp/hello.c"
cat >"$tmp/meson.build" <<'MESON'
project('host', 'c', default_options: ['c_std=c11'])
braid = dependency('braid', fallback: ['braid', 'braid_dep'], required: true,
                   default_options: ['tests=false', 'perf=false', 'examples=false'])
executable('hello', 'hello.c', dependencies: braid)
MESON
# forcefallback: use the subproject even if a braid.pc is installed.
meson setup "$tmp/build" "$tmp" --wrap-mode=forcefallback >"$tmp/setup.log" 2>&1 ||
    { cat "$tmp/setup.log"; exit 1; }
ninja -C "$tmp/build" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; exit 1; }
"$tmp/build/hello" | grep -q "7 \* 7 = 49"
echo "subproject: dependency('braid') with a fallback builds and runs a program"
