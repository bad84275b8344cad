#!/usr/bin/env bash
# Starts Debian's PostgreSQL 15 cluster on loopback (it listens on localhost only by
# default) and makes the role and database the history tests use (idempotent). Prints the
# URL to export as CITYTWIN_PG_URL. Test credentials only: never a production database.
set -euo pipefail
role="${CITYTWIN_PG_ROLE:-citytwin}"
db="${CITYTWIN_PG_DB:-citytwin_test}"
password="${CITYTWIN_PG_PASSWORD:-citytwin}"
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}
if ! pg_lsclusters -h 2>/dev/null | awk '$1 == "15" && $2 == "main"' | grep -q online; then
  if [ "$(id -u)" -eq 0 ]; then pg_ctlcluster 15 main start >&2; else sudo pg_ctlcluster 15 main start >&2; fi
fi
for _ in $(seq 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.1; done
as_postgres psql -qtAc "SELECT 1 FROM pg_roles WHERE rolname = '$role'" | grep -q 1 \
  || as_postgres psql -qc "CREATE ROLE $role LOGIN PASSWORD '$password'"
# CREATEROLE (not superuser): the read-only seat's test makes a SELECT-only role of its
# own and drops it after.
as_postgres psql -qc "ALTER ROLE $role CREATEROLE"
as_postgres psql -qtAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 \
  || as_postgres psql -qc "CREATE DATABASE $db OWNER $role"
echo "postgres://$role:$password@127.0.0.1:5432/$db"
