#!/usr/bin/env bash
# cmake.sh BUILDDIR SRCDIR - braid from CMake through pkg-config: install
# into a staging prefix, then a CMake project finds it with
# pkg_check_modules(IMPORTED_TARGET) and builds and runs examples/hello.c.
# Ninja generator: make need not be installed. Skips (77) where cmake is not installed.
set -euo pipefail
command -v cmake >/dev/null || { echo "cmake: not installed, skipped"; exit 77; }
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
meson install -C "$build" --destdir "$stage" --quiet >/dev/null
libdir=$(meson introspect "$build" --buildoptions | python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="libdir"][0])')
prefix=$(meson introspect "$build" --buildoptions | python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')
mkdir -p "$stage/proj"
cp "$src/examples/hello.c" "$stage/proj/"
cat >"$stage/proj/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.16)
project(host C)
find_package(PkgConfig REQUIRED)
pkg_check_modules(BRAID REQUIRED IMPORTED_TARGET braid)
add_executable(hello hello.c)
target_link_libraries(hello PRIVATE PkgConfig::BRAID)
set_target_properties(hello PROPERTIES C_STANDARD 11 BUILD_RPATH "${BRAID_LIBRARY_DIRS}")
CMAKE
# Point the staged braid.pc at the staging prefix (no sysroot: that would
# also move atomic_ops's system paths).
pc="$stage$prefix/$libdir/pkgconfig"
sed -i "s|^prefix=.*|prefix=$stage$prefix|" "$pc/braid.pc"
export PKG_CONFIG_PATH="$pc"
cmake -G Ninja -S "$stage/proj" -B "$stage/proj/build" >"$stage/cmake.log" 2>&1 || { cat "$stage/cmake.log"; exit 1; }
cmake --build "$stage/proj/build" >>"$stage/cmake.log" 2>&1 || { cat "$stage/cmake.log"; exit 1; }
LD_LIBRARY_PATH="$stage$prefix/$libdir" "$stage/proj/build/hello" | grep -q "7 \* 7 = 49"
echo "cmake: pkg_check_modules(braid) builds and runs a program"
