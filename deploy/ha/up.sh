#!/usr/bin/env bash
# Starts the reference high-availability deployment on this machine, to try it out: one etcd,
# two PostgreSQL nodes under Patroni (synchronous replication), and two `outreach serve`
# replicas that reach the primary through a multi-host DATABASE_URL. Everything stays in
# DIR (default .data/ha) and stops on Ctrl-C or when this script ends.
#
#   deploy/ha/up.sh [DIR]
#
# Needs etcd, patroni and PostgreSQL's server programs (Debian: apt-get install etcd-server
# patroni postgresql) and Go to build the engine. Ports: etcd 23790, PostgreSQL 5501 and 5502,
# Patroni's REST API 8501 and 8502, the engine 8081 and 8082. Then, for instance:
#
#   curl -s localhost:8501/cluster                 # who is the primary
#   kill -9 "$(head -1 DIR/node1/data/postmaster.pid)"   # crash the primary's postmaster
#   curl -s -XPOST localhost:8501/switchover -d '{"leader":"node2","candidate":"node1"}'
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
dir=${1:-$root/.data/ha}
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)

for cmd in etcd patroni go; do
	command -v "$cmd" >/dev/null || { echo "up.sh: $cmd is missing (apt-get install etcd-server patroni; Go from go.dev)" >&2; exit 1; }
done
[ -x "$pg_bin/postgres" ] || { echo "up.sh: no PostgreSQL server programs in /usr/lib/postgresql/*/bin (apt-get install postgresql)" >&2; exit 1; }

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
# PostgreSQL refuses to run as root: as root, the nodes run as the postgres user.
as_pg=()
if [ "$(id -u)" = 0 ]; then
	as_pg=(runuser -u postgres --)
	chown postgres "$dir"
	(cd / && runuser -u postgres -- test -w "$dir") || {
		echo "up.sh: the postgres user cannot reach $dir: give a directory it can, e.g. deploy/ha/up.sh /tmp/outreach-ha" >&2
		exit 1
	}
fi

pids=()
cleanup() {
	echo "up.sh: stopping" >&2
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

etcd --name etcd1 --data-dir "$dir/etcd" \
	--listen-client-urls http://127.0.0.1:23790 --advertise-client-urls http://127.0.0.1:23790 \
	--listen-peer-urls http://127.0.0.1:23800 --initial-advertise-peer-urls http://127.0.0.1:23800 \
	--initial-cluster etcd1=http://127.0.0.1:23800 >"$dir/etcd.log" 2>&1 &
pids+=($!)

for n in 1 2; do
	mkdir -p "$dir/node$n"
	sed -e "s|@NAME@|node$n|; s|@HOST@|127.0.0.1|g; s|@REST_PORT@|850$n|; s|@PG_PORT@|550$n|g" \
		-e "s|@ETCD@|127.0.0.1:23790|; s|@DATA@|$dir/node$n/data|g; s|@BIN_DIR@|$pg_bin|" \
		-e "s|@AUTH@|trust|; s|@PASSWORD@|try-it-out|; s|@SOCKET_DIR@|$dir/node$n|" \
		deploy/ha/patroni.yml.in >"$dir/node$n/patroni.yml"
	[ ${#as_pg[@]} -eq 0 ] || chown -R postgres "$dir/node$n"
	"${as_pg[@]}" patroni "$dir/node$n/patroni.yml" >"$dir/node$n/patroni.log" 2>&1 &
	pids+=($!)
	# The first node bootstraps the cluster; the second clones it once it leads.
	for _ in $(seq 1 120); do
		code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:850$n/health" || true)
		[ "$code" = 200 ] && break
		sleep 1
	done
	[ "$code" = 200 ] || { echo "up.sh: node$n did not start; see $dir/node$n/patroni.log" >&2; exit 1; }
	echo "up.sh: node$n runs (PostgreSQL on 550$n, Patroni on 850$n)" >&2
done

go build -o "$dir/outreach" ./cmd/outreach
# Both nodes in one URL: the engine connects to the one that accepts writes.
export DATABASE_URL="postgres://postgres:try-it-out@127.0.0.1,127.0.0.1/outreach?port=5501,5502&target_session_attrs=read-write&connect_timeout=2&sslmode=disable"
export OUTREACH_CHANNEL=simulator OUTREACH_LOG_FORMAT=text
for r in 1 2; do
	OUTREACH_LISTEN=127.0.0.1:808$r OUTREACH_PUBLIC_URL=http://127.0.0.1:808$r \
		"$dir/outreach" serve >"$dir/serve$r.log" 2>&1 &
	pids+=($!)
done
for r in 1 2; do
	for _ in $(seq 1 60); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:808$r/readyz" || true)" = 200 ] && break
		sleep 1
	done
	echo "up.sh: engine replica $r on http://127.0.0.1:808$r (log $dir/serve$r.log)" >&2
done
echo "up.sh: running; Ctrl-C stops everything" >&2
wait -n "${pids[@]}" || true
echo "up.sh: a process ended; see the logs in $dir" >&2
