#!/usr/bin/env bash
# Starts a throw-away PostgreSQL server on 127.0.0.1 for the results-store tests and prints
#   export FFBENCH_TEST_POSTGRES_URL=postgresql://ffbench:ffbench@127.0.0.1:PORT/ffbench_test
# on stdout, for `eval "$(.ci/start_postgres.sh)"` (.ci/run does that; tox passes FFBENCH_*).
# Installs Debian's `postgresql` when no server binaries are found (root or sudo, apt-get).
# When no server can be started it says why on stderr and prints nothing: the PostgreSQL
# tests then skip with that reason visible in pytest's summary; everything else still runs.
# The cluster lives in a fresh temp folder (its path is printed as FFBENCH_TEST_POSTGRES_DIR);
# stop it with: pg_ctl -D "$FFBENCH_TEST_POSTGRES_DIR" stop (as its owner).
set -uo pipefail

say() { echo "start_postgres: $*" >&2; }
give_up() { say "$* -- PostgreSQL store tests will be skipped"; exit 0; }

if [ -n "${FFBENCH_TEST_POSTGRES_URL:-}" ]; then
    say "using the given FFBENCH_TEST_POSTGRES_URL"
    echo "export FFBENCH_TEST_POSTGRES_URL='${FFBENCH_TEST_POSTGRES_URL}'"
    exit 0
fi

SUDO=""
[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo -n"
bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
BIN=$(bindir)
if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
    command -v apt-get >/dev/null 2>&1 || give_up "no PostgreSQL server binaries and no apt-get"
    say "installing Debian's postgresql"
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
        --no-install-recommends postgresql >/dev/null; } >&2 || give_up "apt-get install postgresql failed"
    BIN=$(bindir)
    [ -n "$BIN" ] && [ -x "$BIN/initdb" ] || give_up "postgresql installed but no initdb found"
fi

# the server refuses to run as root: run it as the `postgres` user the package creates
RUN=()
if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || give_up "running as root and there is no postgres user"
    RUN=(runuser -u postgres --)
fi

DIR=$(mktemp -d /tmp/ffbench-pg.XXXXXX) || give_up "cannot make a temp folder"
chmod 700 "$DIR"
[ "${#RUN[@]}" -gt 0 ] && chown postgres: "$DIR"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') \
    || give_up "cannot find a free port"
echo ffbench > "$DIR/.pw" && chmod 644 "$DIR/.pw"
"${RUN[@]}" "$BIN/initdb" -D "$DIR/data" -U ffbench --pwfile="$DIR/.pw" -A scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 \
    || { cat "$DIR/initdb.log" >&2; give_up "initdb failed"; }
rm -f "$DIR/.pw"
"${RUN[@]}" "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/data/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c max_connections=200 -c fsync=off" start >&2 \
    || { cat "$DIR/data/server.log" >&2; give_up "the server did not start"; }
PGPASSWORD=ffbench "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U ffbench ffbench_test >&2 \
    || give_up "createdb failed"
say "PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT (data in $DIR)"
echo "export FFBENCH_TEST_POSTGRES_URL='postgresql://ffbench:ffbench@127.0.0.1:$PORT/ffbench_test'"
echo "export FFBENCH_TEST_POSTGRES_DIR='$DIR/data'"
