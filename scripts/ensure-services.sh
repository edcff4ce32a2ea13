#!/usr/bin/env bash
# Makes sure the PostgreSQL and Redis that tests use are reachable on
# 127.0.0.1, starting local services that are installed but stopped.
set -u
PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
REDIS_PORT=${REDIS_PORT:-6379}

port_open() {
  python3 - "$1" "$2" <<'PY'
import socket, sys
s = socket.socket()
s.settimeout(1)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
except OSError:
    sys.exit(1)
PY
}

wait_port() {
  for _ in $(seq 1 30); do port_open "$1" "$2" && return 0; sleep 1; done
  return 1
}

if ! port_open "$PGHOST" "$PGPORT"; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "PostgreSQL is not answering on $PGHOST:$PGPORT; starting the local cluster…"
    for version in $(ls /etc/postgresql); do
      pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
    done
    wait_port "$PGHOST" "$PGPORT" || { echo "PostgreSQL did not come up on $PGHOST:$PGPORT." >&2; exit 1; }
  else
    echo "PostgreSQL is not reachable on $PGHOST:$PGPORT and is not installed here." >&2
    echo "Install it (apt-get install postgresql) or point DATABASE_URL at a running server." >&2
    exit 1
  fi
fi

if ! port_open 127.0.0.1 "$REDIS_PORT"; then
  if command -v redis-server >/dev/null 2>&1; then
    echo "Redis is not answering on 127.0.0.1:$REDIS_PORT; starting it…"
    mkdir -p /tmp/creator-redis
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" \
      --appendonly no --dir /tmp/creator-redis --logfile /tmp/creator-redis/redis.log
    wait_port 127.0.0.1 "$REDIS_PORT" || { echo "Redis did not come up on 127.0.0.1:$REDIS_PORT." >&2; exit 1; }
  else
    echo "Redis is not reachable on 127.0.0.1:$REDIS_PORT and is not installed here." >&2
    echo "Install it (apt-get install redis-server) or point REDIS_URL at a running server." >&2
    exit 1
  fi
fi
echo "PostgreSQL and Redis are reachable."
