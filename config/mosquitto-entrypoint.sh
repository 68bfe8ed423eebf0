#!/bin/sh
# Write Mosquitto's password file from the environment (never from the image), then run
# the broker. Users:
#   ingest    `twin ingest mqtt`, which reads every agency's readings (MQTT_INGEST_PASSWORD);
#   <agency>  one per agency whose sensors or gateways publish readings, named by the
#             agency's slug (twin.ingest.policy.agency_slug: "Sở Tài nguyên và Môi trường
#             Hà Nội" -> so-tai-nguyen-va-moi-truong-ha-noi), from MQTT_AGENCY_PASSWORDS,
#             "slug=password slug=password ..." (passwords without spaces).
# config/mosquitto.acl lets an agency publish only under twin/readings/<its slug>/, and
# the subscriber (--agency-topics) stores a reading only when that agency runs the station.
# Both variables are required: there is no default password.
# MOSQUITTO_CONFIG_DIR, MOSQUITTO_DATA_DIR and MOSQUITTO default to the container's paths
# (tests/test_compose.py runs this script against a real broker elsewhere).
set -eu
set -f  # passwords are words, never glob patterns
: "${MQTT_INGEST_PASSWORD:?set MQTT_INGEST_PASSWORD}"
: "${MQTT_AGENCY_PASSWORDS:?set MQTT_AGENCY_PASSWORDS (slug=password ...)}"
config_dir=${MOSQUITTO_CONFIG_DIR:-/mosquitto/config}
data_dir=${MOSQUITTO_DATA_DIR:-/mosquitto/data}
passwd="$data_dir/passwd"
umask 077
: > "$passwd.new"
mosquitto_passwd -b "$passwd.new" ingest "$MQTT_INGEST_PASSWORD"
for pair in $MQTT_AGENCY_PASSWORDS; do
    user=${pair%%=*}
    password=${pair#*=}
    case $user in
        ingest|""|-*|*[!a-z0-9-]*)
            echo "mosquitto-entrypoint: '$user' in MQTT_AGENCY_PASSWORDS is not an agency" \
                 "slug (a-z, 0-9 and '-'; not 'ingest')" >&2
            exit 1 ;;
    esac
    if [ "$password" = "$pair" ] || [ -z "$password" ]; then
        echo "mosquitto-entrypoint: $user has no password (slug=password)" >&2
        exit 1
    fi
    mosquitto_passwd -b "$passwd.new" "$user" "$password"
done
if id mosquitto >/dev/null 2>&1; then
    chown mosquitto:mosquitto "$passwd.new"
fi
mv "$passwd.new" "$passwd"
exec "${MOSQUITTO:-/usr/sbin/mosquitto}" -c "$config_dir/mosquitto.conf"
