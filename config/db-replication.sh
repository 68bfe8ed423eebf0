#!/bin/sh
# Run once by the db service when it initialises an empty data directory
# (/docker-entrypoint-initdb.d): the role read replicas stream as, and the pg_hba.conf
# line admitting it with SCRAM (docs/operations.md, "Read replicas"). A deployment
# initialised before this file existed runs these two steps by hand.
set -eu
psql -v ON_ERROR_STOP=1 -v pw="$REPLICATION_PASSWORD" --username "$POSTGRES_USER" \
     --dbname "$POSTGRES_DB" <<'SQL'
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD :'pw';
SQL
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
