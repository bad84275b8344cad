#!/usr/bin/env bash
# Enables PostGIS (Debian package postgresql-15-postgis-3) in the test database of the
# loopback cluster scripts/pg-test-db.sh starts: only a superuser may, the test role is not
# one (idempotent). The PostGIS layer tests then make their own schema in that database.
set -euo pipefail
db="${CITYTWIN_PG_DB:-citytwin_test}"
if [ "$(id -u)" -eq 0 ]; then
  runuser -u postgres -- psql -q -d "$db" -c "CREATE EXTENSION IF NOT EXISTS postgis"
else
  sudo -u postgres psql -q -d "$db" -c "CREATE EXTENSION IF NOT EXISTS postgis"
fi
