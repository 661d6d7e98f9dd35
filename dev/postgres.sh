# Sourced by dev/test and dev/run: makes sure a PostgreSQL server answers and exports
# PG_BASE_URL (postgres://user@host:port) for it.
#
# Order: a server named by TEST_DATABASE_URL or DATABASE_URL is used as it is; else one that
# answers on localhost:5432 with the postgres user; else a cluster of our own is started with
# initdb/pg_ctl (installing PostgreSQL with apt-get when it is missing). A throwaway cluster
# (PG_KEEP_DIR empty) is removed on exit; PG_KEEP_DIR keeps one across runs.

die() { echo "dev: $*" >&2; exit 1; }

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else return 1; fi
}

# apt_install PACKAGE: install a Debian package.
apt_install() {
	command -v apt-get >/dev/null 2>&1 || die "$1 is needed and there is no apt-get to install it"
	echo "dev: installing $1" >&2
	if [ -z "${DEV_APT_UPDATED:-}" ]; then
		as_root apt-get update -qq >&2 || die "apt-get update failed (run as root or with sudo)"
		DEV_APT_UPDATED=1
	fi
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$1" >&2 \
		|| die "apt-get install $1 failed"
}

# ensure_pkg COMMAND PACKAGE: install PACKAGE when COMMAND is missing.
ensure_pkg() {
	command -v "$1" >/dev/null 2>&1 || apt_install "$2"
}

pg_bin() {
	for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r) /usr/local/pgsql/bin; do
		[ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
	done
	command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
	return 1
}

local_server_answers() {
	command -v psql >/dev/null 2>&1 || return 1
	PGCONNECT_TIMEOUT=3 psql "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" -Atqc 'SELECT 1' >/dev/null 2>&1
}

free_port() {
	port=55432
	while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
	echo "$port"
}

ensure_postgres() {
	if [ -n "${TEST_DATABASE_URL:-}${DATABASE_URL:-}" ]; then
		PG_BASE_URL=""
		return 0
	fi
	if local_server_answers; then
		PG_BASE_URL="postgres://postgres@127.0.0.1:5432"
		echo "dev: using the PostgreSQL server on localhost:5432" >&2
		return 0
	fi
	bin=$(pg_bin) || { apt_install postgresql; bin=$(pg_bin) || die "no initdb after installing postgresql"; }
	# The Debian package may start its own cluster on 5432; use it if it answers now.
	if local_server_answers; then
		PG_BASE_URL="postgres://postgres@127.0.0.1:5432"
		return 0
	fi
	dir=${PG_KEEP_DIR:-$(mktemp -d /tmp/outreach-pg.XXXXXX)}
	mkdir -p "$dir"
	run_pg=""
	if [ "$(id -u)" = 0 ]; then
		id postgres >/dev/null 2>&1 || useradd --system --home-dir "$dir" postgres
		chown -R postgres "$dir"
		chmod 700 "$dir"
		run_pg="su postgres -s /bin/sh -c"
	fi
	pg() { if [ -n "$run_pg" ]; then $run_pg "$*"; else sh -c "$*"; fi; }
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		pg "'$bin/initdb' -D '$dir/data' -A trust -U postgres -E UTF8 --no-sync" >/dev/null || die "initdb failed"
	fi
	port=$(cat "$dir/port" 2>/dev/null || free_port)
	pg "echo $port > '$dir/port'"
	pg "'$bin/pg_ctl' -D '$dir/data' -l '$dir/log' -w -o \"-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=300\" start" >/dev/null \
		|| { cat "$dir/log" >&2; die "could not start PostgreSQL in $dir"; }
	PG_BASE_URL="postgres://postgres@127.0.0.1:$port"
	echo "dev: started PostgreSQL in $dir on port $port" >&2
	stop_postgres() {
		pg "'$bin/pg_ctl' -D '$dir/data' -m fast -w stop" >/dev/null 2>&1
		[ -n "${PG_KEEP_DIR:-}" ] || rm -rf "$dir"
	}
	trap stop_postgres EXIT
	trap 'exit 130' INT TERM
}
