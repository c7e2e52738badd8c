#!/usr/bin/env bash
# apidoc.sh SRCDIR OUTDIR - the API reference builds with Doxygen and every
# public symbol of braid.h is documented (docs/Doxyfile turns warnings into
# a failure). Skips (77) where doxygen is not installed.
set -euo pipefail
src=$(cd "$1" && pwd)
out=$2
command -v doxygen >/dev/null || { echo "apidoc: doxygen not installed, skipped"; exit 77; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$src"
log="$out/doxygen.log"
if ! { cat docs/Doxyfile; echo "OUTPUT_DIRECTORY = $out"; } | doxygen - >"$log" 2>&1; then
    cat "$log"
    exit 1
fi
if [ -s "$log" ]; then # QUIET: anything printed is a warning
    cat "$log"
    exit 1
fi
n=$(grep -c 'class="memname"' "$out"/html/braid_8h.html || true)
[ "$n" -gt 100 ] || { echo "apidoc: only $n documented members in the reference"; exit 1; }
echo "apidoc: $n members documented, no warning; reference in $out/html/index.html"
