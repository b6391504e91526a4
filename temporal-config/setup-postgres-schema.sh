#!/bin/sh
# Creates or upgrades Temporal's two PostgreSQL databases (persistence + SQL visibility) with temporal-sql-tool.
# Runs in the temporalio/admin-tools image, whose version must match the server's (the schema files ship in it),
# and in `npm run cluster` with the temporal-sql-tool and schema files built from the server's Go module.
# Idempotent: `create` ignores an existing database, `setup-schema -v 0.0` keeps an existing version, and
# `update-schema` applies only the versions not yet applied, so it is safe on every `docker compose up` and is
# how a server upgrade migrates the schema (bump both image tags together).
# Environment: SQL_HOST, SQL_PORT (5432), SQL_USER, SQL_PASSWORD, SQL_DATABASE (temporal),
# SQL_VISIBILITY_DATABASE (temporal_visibility), TEMPORAL_HOME (/etc/temporal).
set -eu

: "${SQL_HOST:?set SQL_HOST to the PostgreSQL host}"
: "${SQL_USER:?set SQL_USER}"
: "${SQL_PASSWORD:?set SQL_PASSWORD}"
SQL_PORT="${SQL_PORT:-5432}"
SQL_DATABASE="${SQL_DATABASE:-temporal}"
SQL_VISIBILITY_DATABASE="${SQL_VISIBILITY_DATABASE:-temporal_visibility}"
schema_root="${TEMPORAL_HOME:-/etc/temporal}/schema/postgresql/v12"
export SQL_PASSWORD

# nc in the admin-tools image, pg_isready on a host with PostgreSQL's client tools (npm run cluster); with neither,
# temporal-sql-tool's own connection error says what is wrong.
reachable() {
  if command -v nc >/dev/null 2>&1; then nc -z "$SQL_HOST" "$SQL_PORT"
  elif command -v pg_isready >/dev/null 2>&1; then pg_isready -q -h "$SQL_HOST" -p "$SQL_PORT"
  else true
  fi
}

echo "Waiting for PostgreSQL at $SQL_HOST:$SQL_PORT"
tries=0
until reachable; do
  tries=$((tries + 1))
  [ "$tries" -lt 60 ] || { echo "PostgreSQL did not open $SQL_HOST:$SQL_PORT within 60 s" >&2; exit 1; }
  sleep 1
done

sql_tool() { temporal-sql-tool --plugin postgres12 --ep "$SQL_HOST" -p "$SQL_PORT" -u "$SQL_USER" "$@"; }

for pair in "$SQL_DATABASE:temporal" "$SQL_VISIBILITY_DATABASE:visibility"; do
  db="${pair%%:*}"
  dir="$schema_root/${pair#*:}/versioned"
  [ -d "$dir" ] || { echo "no schema directory $dir in this image" >&2; exit 1; }
  echo "Schema of database '$db' from $dir"
  sql_tool --db "$db" create
  sql_tool --db "$db" setup-schema -v 0.0
  sql_tool --db "$db" update-schema -d "$dir"
done
echo "PostgreSQL schema is up to date."
