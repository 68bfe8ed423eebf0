"""HTTP batch ingest of sensor readings: ``POST /readings`` and SensorThings-style
``POST /sta/v1.1/Observations``, through the same write path as MQTT."""
