#!/bin/sh
# nginx_http -p PORT -t WORKERS - run nginx as braid's HTTP peer, in the
# foreground (exec: the caller's PID is nginx's master), as the current
# user, with worker_processes WORKERS, listening on 127.0.0.1:PORT.
# build.sh installs this as DIR/nginx_http beside DIR/nginx/nginx.conf.in;
# the prefix (config, pid, error log, temp paths) is DIR/nginx/run-PORT,
# made afresh. NGINX picks the binary (default: nginx on PATH, /usr/sbin).
set -eu
port=8080 workers=1
while getopts p:t: o; do
    case $o in
    p) port=$OPTARG ;;
    t) workers=$OPTARG ;;
    *) echo "usage: nginx_http -p PORT -t WORKERS" >&2; exit 2 ;;
    esac
done
[ "$workers" -gt 0 ] 2>/dev/null || workers=$(nproc)
here=$(cd "$(dirname "$0")" && pwd)
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
prefix=$here/nginx/run-$port
rm -rf "$prefix" && mkdir -p "$prefix"
user=""
[ "$(id -u)" = 0 ] && user="user root;"
sed -e "s|@PREFIX@|$prefix|g" -e "s|@PORT@|$port|g" -e "s|@WORKERS@|$workers|g" \
    -e "s|@USER@|$user|g" "$here/nginx/nginx.conf.in" >"$prefix/nginx.conf"
exec "$NGINX" -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log"
