"""The tests' Mosquitto: twin's private broker (twin.demo.broker)."""

from twin.demo.broker import MOSQUITTO, Mosquitto, free_port, wait_for_port

__all__ = ["MOSQUITTO", "Mosquitto", "free_port", "wait_for_port"]
