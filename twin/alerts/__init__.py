"""Alerts: declared rules over readings, evaluated as data arrive; alerts that open,
update, are acknowledged and resolve, every transition stored (``alert_events``)."""
