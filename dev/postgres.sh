# Sourced by dev/test and dev/run: installs what they need with apt-get, and makes sure a
# PostgreSQL server answers and exports PG_BASE_URL (postgres://user@host:port) for it.
#
# Order: a server named by TEST_DATABASE_URL or DATABASE_URL is used as it is; else one that
# answers on localhost:5432 with the postgres user; else a cluster of our own is started with
# initdb/pg_ctl (installing PostgreSQL with apt-get when it is missing). A throwaway cluster
# (PG_KEEP_DIR empty) is removed on exit; PG_KEEP_DIR keeps one across runs.

die() { echo "dev: $*" >&2; exit 1; }

# apt-get's and dpkg's output goes to this file; the terminal gets one line per package.
DEV_APT_LOG=${DEV_APT_LOG:-$PWD/.data/apt.log}

as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo -n "$@"
	else
		echo "dev: $1 needs root: run as root, or install sudo" >&2
		return 1
	fi
}

# DEV_WANTED holds the packages want found missing: PACKAGE WHY PACKAGE WHY ...
DEV_WANTED=()

# want PACKAGE WHY CHECK...: PACKAGE is to be installed unless the command CHECK succeeds.
want() {
	local pkg=$1 why=$2
	shift 2
	"$@" >/dev/null 2>&1 || DEV_WANTED+=("$pkg" "$why")
}

# install_wanted: installs what want found missing.
install_wanted() {
	[ ${#DEV_WANTED[@]} -eq 0 ] || apt_install "${DEV_WANTED[@]}"
	DEV_WANTED=()
}

# apt_install PACKAGE WHY [PACKAGE WHY]...: installs Debian packages in one apt-get run, saying
# on one line each what is installed and why. apt-get's own output goes to DEV_APT_LOG; when it
# fails, the log's end is shown.
apt_install() {
	local pkgs=()
	command -v apt-get >/dev/null 2>&1 || die "$1 ($2) is needed and there is no apt-get to install it"
	mkdir -p "$(dirname "$DEV_APT_LOG")" || die "cannot make the directory of $DEV_APT_LOG"
	while [ $# -ge 2 ]; do
		echo "dev: installing $1 ($2)…" >&2
		pkgs+=("$1")
		shift 2
	done
	echo "== $(date -u +%Y-%m-%dT%H:%M:%SZ) installing ${pkgs[*]}" >>"$DEV_APT_LOG"
	if [ -z "${DEV_APT_UPDATED:-}" ]; then
		as_root apt-get update >>"$DEV_APT_LOG" 2>&1 || apt_failed "apt-get update"
		DEV_APT_UPDATED=1
	fi
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkgs[@]}" \
		>>"$DEV_APT_LOG" 2>&1 </dev/null || apt_failed "apt-get install ${pkgs[*]}"
	echo "dev: installed; apt-get's output is in $DEV_APT_LOG" >&2
}

apt_failed() {
	echo "dev: $1 failed; the end of its output:" >&2
	tail -n 20 "$DEV_APT_LOG" | sed 's/^/    /' >&2
	die "the whole output is in $DEV_APT_LOG"
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
	bin=$(pg_bin) || { apt_install postgresql "the database server"; bin=$(pg_bin) || die "no initdb after installing postgresql"; }
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
		if ! (cd / && $run_pg "test -w '$dir'") 2>/dev/null; then
			# The server runs as postgres, which cannot reach a directory under root's home: a
			# kept cluster goes where it can.
			rmdir "$dir" 2>/dev/null || true
			keep=$dir
			dir=/var/lib/outreach-dev/$(printf %s "$keep" | sha256sum | cut -c1-12)
			mkdir -p "$dir"
			chown -R postgres "$dir"
			chmod 700 "$dir"
			echo "dev: the postgres user cannot reach $keep; the cluster is kept in $dir" >&2
		fi
	fi
	# From the cluster's directory: the server's programs cannot return to one the postgres user
	# may not enter (such as root's home).
	pg() { (cd "$dir" && if [ -n "$run_pg" ]; then $run_pg "$*"; else sh -c "$*"; fi); }
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
