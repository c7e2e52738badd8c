#!/bin/sh
# build.sh [DIR] - build the non-TBB peers of braid's benchmarks into DIR
# (default /tmp/braid-peers), each only from Debian packages, skipping with a
# message every peer whose toolchain is missing:
#   Go goroutines      golang-go                 go_{fib,skynet,spawn,pingpong,sleeps,mutex}
#                                                go_{echo,http} (servers)
#   Tokio              cargo rustc librust-tokio-dev
#                                                tokio_{fib,skynet,spawn,pingpong,sleeps,mutex}
#                                                tokio_{echo,http} (servers)
#   Boost.Fiber        g++ libboost-fiber-dev    boost_{fib,skynet,spawn,pingpong,sleeps,mutex}
#   OpenMP tasks       gcc (libgomp), clang + libomp-dev
#                                                omp_{gomp,llvm}_{fib,skynet,spawn}
#   Python asyncio     python3                   py/asyncio_{spawn,pingpong,sleeps,mutex}.py
#   nginx              nginx-light (or nginx)    nginx_http (launcher) + nginx/
#   C epoll floor      gcc                       epoll_{echo,http} (servers),
#                                                echo_client (load generator)
# Nothing is written inside the repository: Go's caches, the copied cargo
# project (Cargo.lock) and all outputs live under DIR. Run the CPU peers with
# run.sh, the servers with ../io-compare. Every server takes -p PORT -t THREADS.
set -u
SRC=$(cd "$(dirname "$0")" && pwd)
DIR=${1:-/tmp/braid-peers}
mkdir -p "$DIR" && DIR=$(cd "$DIR" && pwd) || exit 1
built="" skipped=""
ok() { built="$built $1"; }
skip() { echo "build.sh: skipping $1: $2" >&2; skipped="$skipped $1"; }

# Go: standard library only, so no module downloads (GOPROXY=off).
GO=${GO:-/usr/bin/go}
if [ -x "$GO" ]; then
    if (
        cd "$SRC/go" &&
        export GOPROXY=off GOTOOLCHAIN=local GOFLAGS='' GO111MODULE=on \
               GOCACHE="$DIR/.go-cache" GOPATH="$DIR/.go-path" &&
        for w in fib skynet spawn pingpong sleeps mutex echo http; do
            "$GO" build -o "$DIR/go_$w" "./$w" || exit 1
        done
    ); then ok go; else skip go "build failed"; fi
else
    skip go "no $GO (apt-get install golang-go)"
fi

# Tokio: Debian's cargo/rustc and crates, offline. The project is copied to
# DIR so that Cargo.lock and target/ stay out of the repository; its
# .cargo/config.toml replaces crates-io with /usr/share/cargo/registry.
CARGO=${CARGO:-/usr/bin/cargo} RUSTC=${RUSTC:-/usr/bin/rustc}
if [ ! -x "$CARGO" ] || [ ! -x "$RUSTC" ]; then
    skip tokio "no $CARGO or $RUSTC (apt-get install cargo rustc)"
elif ! ls -d /usr/share/cargo/registry/tokio-1.* >/dev/null 2>&1; then
    skip tokio "no tokio in /usr/share/cargo/registry (apt-get install librust-tokio-dev)"
else
    rm -rf "$DIR/tokio-src" && cp -r "$SRC/tokio" "$DIR/tokio-src" || exit 1
    if (
        cd "$DIR/tokio-src" &&
        CARGO_HOME="$DIR/.cargo-home" CARGO_TARGET_DIR="$DIR/tokio-target" RUSTC="$RUSTC" \
            "$CARGO" build --release --offline --quiet &&
        for w in fib skynet spawn pingpong sleeps mutex echo http; do
            cp "$DIR/tokio-target/release/tokio_$w" "$DIR/" || exit 1
        done
    ); then ok tokio; else skip tokio "build failed"; fi
fi

# Boost.Fiber: Debian's g++ and libboost-fiber-dev, -O2 as the oneTBB peers
# (perf/peers/meson.build); scheduler and memory guard in boost/boost_common.hpp.
CXX_BOOST=${CXX_BOOST:-g++}
if ! command -v "$CXX_BOOST" >/dev/null 2>&1; then
    skip boost-fiber "no $CXX_BOOST (apt-get install g++)"
elif [ ! -f /usr/include/boost/fiber/all.hpp ]; then
    skip boost-fiber "no /usr/include/boost/fiber (apt-get install libboost-fiber-dev)"
elif (
    for w in fib skynet spawn pingpong sleeps mutex; do
        "$CXX_BOOST" -std=c++17 -O2 -pthread -o "$DIR/boost_$w" "$SRC/boost/boost_$w.cpp" \
            -lboost_fiber -lboost_context || exit 1
    done
); then ok boost-fiber; else skip boost-fiber "$CXX_BOOST failed"; fi

# OpenMP tasks: the same sources with libgomp (gcc) and libomp (clang).
omp_build() { # impl compiler flags...
    impl=$1 cc=$2; shift 2
    if ! command -v "$cc" >/dev/null 2>&1; then skip "omp-$impl" "no $cc"; return; fi
    for w in fib skynet spawn; do
        "$cc" -std=c11 -O2 "$@" -o "$DIR/omp_${impl}_$w" "$SRC/omp/omp_$w.c" ||
            { skip "omp-$impl" "$cc $* failed (OpenMP runtime missing?)"; return; }
    done
    ok "omp-$impl"
}
omp_build gomp "${CC_GOMP:-gcc}" -fopenmp
omp_build llvm "${CC_LLVM:-clang}" -fopenmp=libomp

# Python asyncio: Debian's python3, scripts copied so bytecode stays in DIR.
PY=${PY:-/usr/bin/python3}
if [ -x "$PY" ]; then
    mkdir -p "$DIR/py" && cp "$SRC"/py/*.py "$DIR/py/" || exit 1
    printf '%s\n' "$PY" > "$DIR/py/python"
    ok asyncio
else
    skip asyncio "no $PY (apt-get install python3)"
fi

# nginx: the Debian package's binary with our own config (nginx/nginx.conf.in),
# run in the foreground by the nginx_http launcher.
NGINX=${NGINX:-$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)}
if [ -x "$NGINX" ]; then
    mkdir -p "$DIR/nginx" &&
        cp "$SRC/nginx/nginx.conf.in" "$DIR/nginx/" &&
        cp "$SRC/nginx/nginx_http.sh" "$DIR/nginx_http" && chmod +x "$DIR/nginx_http" || exit 1
    ok nginx
else
    skip nginx "no nginx (apt-get install nginx-light)"
fi

# The single-threaded C epoll floors and the echo load generator.
CC=${CC:-gcc}
if command -v "$CC" >/dev/null 2>&1; then
    if "$CC" -std=c11 -O2 -o "$DIR/epoll_echo" "$SRC/epoll_echo.c" &&
        "$CC" -std=c11 -O2 -o "$DIR/epoll_http" "$SRC/epoll_http.c"; then
        ok epoll
    else
        skip epoll "$CC failed"
    fi
    if "$CC" -std=c11 -O2 -pthread -o "$DIR/echo_client" "$SRC/echo_client.c"; then
        ok echo_client
    else
        skip echo_client "$CC failed"
    fi
else
    skip "epoll echo_client" "no $CC (apt-get install gcc)"
fi

echo "build.sh: built in $DIR:${built:- nothing}${skipped:+; skipped:$skipped}" >&2
[ -n "$built" ]
