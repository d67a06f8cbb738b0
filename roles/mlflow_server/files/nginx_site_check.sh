#!/bin/sh
# Usage: nginx-site-check FILE
# Tests FILE as nginx would load it from conf.d (inside the http block), without touching the live configuration:
# the role's template task runs it on the candidate file before that replaces the installed site.
set -eu
candidate=$1
workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
printf 'events {}\nhttp {\n    include %s;\n}\n' "$candidate" > "$workdir/nginx.conf"
nginx -t -q -c "$workdir/nginx.conf"
