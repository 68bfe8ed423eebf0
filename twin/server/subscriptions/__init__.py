"""Subscriptions to a layer's changes (issue 19, point 4): the routes
(:mod:`.routes`: ``/subscriptions``) and the producer that turns the change log into
deliveries of the generic outbox (:mod:`.producer`, run by :mod:`twin.notify`'s
dispatcher)."""
