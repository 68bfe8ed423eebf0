#!/bin/sh
# Write Mosquitto's password file from the environment (never from the image), then run
# the broker: MQTT_INGEST_PASSWORD for `twin ingest mqtt`, MQTT_SENSOR_PASSWORD for the
# sensors and gateways that publish readings.
set -eu
passwd=/mosquitto/data/passwd
umask 077
: > "$passwd"
mosquitto_passwd -b "$passwd" ingest "$MQTT_INGEST_PASSWORD"
mosquitto_passwd -b "$passwd" sensor "$MQTT_SENSOR_PASSWORD"
chown mosquitto:mosquitto "$passwd"
exec /usr/sbin/mosquitto -c /mosquitto/config/mosquitto.conf
