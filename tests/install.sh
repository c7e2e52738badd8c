#!/usr/bin/env bash
# install.sh - meson install into a staging prefix, then build a program
# against the installed library with pkg-config, shared and static, and run
# both. Usage: install.sh BUILDDIR SRCDIR
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
meson install -C "$build" --destdir "$stage" --quiet >/dev/null
prefix=$(meson introspect "$build" --buildoptions | python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')
libdir=$(meson introspect "$build" --buildoptions | python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="libdir"][0])')
root="$stage$prefix"
pc="$root/$libdir/pkgconfig"
test -f "$pc/braid.pc"
test -f "$root/include/braid.h"
ls "$root/$libdir"/libbraid.so.* >/dev/null
test -f "$root/$libdir/libbraid.a"
export PKG_CONFIG_PATH="$pc"
export PKG_CONFIG_SYSROOT_DIR="$stage"
cflags=$(pkg-config --cflags braid)
libs=$(pkg-config --libs braid)
slibs=$(pkg-config --static --libs braid)
cc -std=c11 $cflags "$src/examples/hello.c" -o "$stage/hello-shared" $libs -Wl,-rpath,"$root/$libdir"
cc -std=c11 $cflags "$src/examples/hello.c" -o "$stage/hello-static" -Wl,-Bstatic -lbraid -Wl,-Bdynamic ${slibs/-lbraid/} -L"$root/$libdir"
"$stage/hello-shared" | grep -q "7 \* 7 = 49"
"$stage/hello-static" | grep -q "7 \* 7 = 49"
if ldd "$stage/hello-static" | grep -q libbraid; then echo "static build links libbraid.so"; exit 1; fi
# Only braid_ symbols are exported from the shared library.
bad=$(nm -D --defined-only "$root/$libdir"/libbraid.so.*.*.* | awk '$2 ~ /[TDBR]/ {print $3}' | grep -v '^braid_' | grep -v '^BRAID_' || true)
if [ -n "$bad" ]; then echo "unexpected exports: $bad"; exit 1; fi
# The HTTP server example, built against the installed library, answers.
cc -std=c11 -D_GNU_SOURCE $cflags "$src/examples/http-server.c" -o "$stage/http-server" $libs \
    -Wl,-rpath,"$root/$libdir"
"$stage/http-server" -H 127.0.0.1 -p 0 -t 2 -n 1 >"$stage/http.out" &
srv=$!
for _ in $(seq 100); do grep -q listening "$stage/http.out" 2>/dev/null && break; sleep 0.05; done
port=$(awk '/listening on/ {print $3}' "$stage/http.out")
reply=$(python3 -c 'import sys, urllib.request; print(urllib.request.urlopen("http://127.0.0.1:%s/" % sys.argv[1], timeout=10).read().decode())' "$port")
wait "$srv"
[ "$reply" = "Hello, World!" ] || { echo "http-server answered: $reply"; exit 1; }
echo "install: header, libbraid.so + .a, braid.pc installed; pkg-config builds (shared, static) run; the HTTP server example built against them answers"
