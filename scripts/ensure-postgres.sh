#!/usr/bin/env bash
# Makes sure the PostgreSQL the tests use, on 127.0.0.1:5432, accepts connections: starts
# the machine's Debian cluster if it is down, and fails loudly if it cannot.
set -euo pipefail

host=127.0.0.1
port=5432
wait_s=30

if pg_isready -q -h "$host" -p "$port"; then
    exit 0
fi

if ! command -v pg_ctlcluster > /dev/null || [ ! -d /etc/postgresql ]; then
    echo "ensure-postgres: nothing listens on $host:$port and no Debian PostgreSQL cluster" \
         "is installed; install one or set FULFIL_TEST_DATABASE_URL" >&2
    exit 1
fi

version=$(ls /etc/postgresql | sort -V | tail -n 1)
echo "ensure-postgres: starting PostgreSQL $version (cluster main)" >&2
# It may already be starting; the wait below decides.
pg_ctlcluster --skip-systemctl-redirect "$version" main start \
    || echo "ensure-postgres: pg_ctlcluster start failed; waiting anyway" >&2

for _ in $(seq "$wait_s"); do
    if pg_isready -q -h "$host" -p "$port"; then
        exit 0
    fi
    sleep 1
done

echo "ensure-postgres: PostgreSQL $version is not accepting connections on $host:$port" \
     "after ${wait_s}s; see /var/log/postgresql/postgresql-$version-main.log" >&2
exit 1
