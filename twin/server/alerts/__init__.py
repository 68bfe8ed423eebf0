"""The alerts block: rules, alerts and their acknowledgement (:mod:`.routes`)."""
