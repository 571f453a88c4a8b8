# Shared by the soak scripts: paths, a generated origin bucket, a cachefront
# config; starting/stopping by PID, waiting and RSS come from ../lib.sh.
# Loopback only.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../lib.sh"
port=${PORT:-18380}            # outside the harness ranges (8000, 8101-8104, 8200-8299, 9100)
run=${BENCH_OUT:-/tmp/cachefront-soak}
mkdir -p "$run"
CF_BIN=${BIN:-$CF_BIN}
ensure_cf_bin

# make_bucket DIR COUNT SIZE_BYTES: COUNT objects o/N.bin of SIZE bytes.
make_bucket() {
  local dir=$1/soak/o count=$2 size=$3
  mkdir -p "$dir"
  if [ "$(find "$dir" -name '*.bin' | wc -l)" -ne "$count" ] || [ "$(stat -c %s "$dir/0.bin" 2>/dev/null)" != "$size" ]; then
    rm -f "$dir"/*.bin
    head -c "$size" /dev/urandom >"$dir/0.bin"
    for i in $(seq 1 $((count - 1))); do cp "$dir/0.bin" "$dir/$i.bin"; done
  fi
}

# start_edge CAPACITY BUCKET_ROOT [EXTRA_SERVER_TOML]: cachefront on $port.
start_edge() {
  cat >"$run/edge.toml" <<TOML
[server]
listen = "127.0.0.1:$port"
admin_listen = "off"
name = "soak"
drain_delay = "0s"
drain_timeout = "2s"
${3:-}

[cache]
capacity = "$1"

[origins.assets]
kind = "s3"
bucket = "soak"
region = "us-east-1"
dev_root = "$2"

[[routes]]
path = "/o/"
origin = "assets"
key_prefix = "o/"
compress = false
TOML
  start_bg "$run/edge.log" -- "$CF_BIN" --config "$run/edge.toml"
  edge=$STARTED
  wait_port "$port" "$edge" || { cat "$run/edge.log"; exit 1; }   # e.g. the port was taken
}
