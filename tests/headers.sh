#!/usr/bin/env bash
# headers.sh - every public header compiles on its own, as C11 and as C++17,
# with -Wall -Wextra -Wpedantic -Werror. Usage: headers.sh SRCDIR
set -euo pipefail
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
for h in "$src"/include/*.h; do
    name=$(basename "$h")
    printf '#include <%s>\nint main(void) { return 0; }\n' "$name" >"$tmp/t.c"
    cc -std=c11 -Wall -Wextra -Wpedantic -Werror -I"$src/include" -c "$tmp/t.c" -o "$tmp/t.o"
    cp "$tmp/t.c" "$tmp/t.cc"
    if command -v c++ >/dev/null; then
        c++ -std=c++17 -Wall -Wextra -Wpedantic -Werror -I"$src/include" -c "$tmp/t.cc" -o "$tmp/t.o"
    fi
    n=$((n + 1))
done
echo "headers: $n public headers compile alone as C11 and C++17"
