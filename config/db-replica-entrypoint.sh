#!/bin/sh
# The db-replica service: a hot standby of the db service, made on first start by
# pg_basebackup over the replication slot twin_replica_1 (created then), streaming from
# then on. twin reads from it when TWIN_REPLICA_URLS names it (docs/operations.md).
set -eu
PGDATA=/var/lib/postgresql/data
mkdir -p "$PGDATA"
chown postgres:postgres "$PGDATA"
chmod 0700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    until pg_isready -h db -p 5432 -U replicator -d postgres; do sleep 2; done
    slot="-C"   # create the slot, unless an earlier attempt did
    if PGPASSWORD="$REPLICATION_PASSWORD" psql -h db -U replicator -d postgres -Atc \
        "SELECT 1 FROM pg_replication_slots WHERE slot_name = 'twin_replica_1'" \
        2>/dev/null | grep -q 1; then slot=""; fi
    # -R: standby.signal and primary_conninfo (with the password) in postgresql.auto.conf
    PGPASSWORD="$REPLICATION_PASSWORD" gosu postgres pg_basebackup -h db -p 5432 \
        -U replicator -D "$PGDATA" -R -X stream $slot -S twin_replica_1 -c fast
fi
exec gosu postgres postgres -c config_file=/etc/postgresql/twin.conf -c hot_standby=on
