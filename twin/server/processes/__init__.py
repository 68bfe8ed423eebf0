"""OGC API – Processes: twin's processes, run by pygeoapi's process manager.

A process is one module in this package holding ``PROCESS_METADATA`` (its OGC
description, beside the code) and a ``Processor`` class derived from
:class:`twin.server.processes.base.TwinProcessor`. :mod:`.config` finds the modules and
offers them to pygeoapi; :mod:`.routes` serves /processes and /jobs through the bridge,
refusing bad inputs with a 400 before a job is made. Adding a process (interpolate,
flood-scenario, flood-exposure) is adding one module; nothing else changes.
"""
