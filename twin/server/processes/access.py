"""Who may run a process, and where a run may write: read from each process's
``Processor.access`` declaration, beside its ``PROCESS_METADATA``, in the style of the layer files'
``access:`` (``admin`` may do everything).

- ``execute``: the roles that may run the process. ``public`` means anyone, signed in
  or not; analyses that only read are public, processes that store anything name the
  role that owns the data they store.
- ``publish``: the roles that may write into what the city publishes (a published
  scenario name, the hourly surfaces made from readings) instead of the caller's own
  space. Replacing published data is audited and, for flood scenarios, archived.

A run that stores writes under a name scoped to its owner (:mod:`twin.naming`), which
no published name can equal.
"""

from __future__ import annotations

from dataclasses import dataclass

from twin.server.auth.policy import ADMIN
from twin.server.auth.principal import PUBLIC, Principal
from twin.server.errors import AuthenticationRequired, Forbidden


@dataclass(frozen=True)
class ProcessAccess:
    execute: tuple[str, ...] = (PUBLIC,)
    publish: tuple[str, ...] = ()

    @property
    def public(self) -> bool:
        return PUBLIC in self.execute

    @property
    def stores(self) -> bool:
        return not self.public

    def may_execute(self, who: Principal) -> bool:
        return ADMIN in who.roles or bool(who.roles & set(self.execute))

    def may_publish(self, who: Principal) -> bool:
        return ADMIN in who.roles or bool(who.roles & set(self.publish))

    def describe(self) -> dict:
        """What the process description says about access."""
        return {"execute": sorted(set(self.execute) | {ADMIN}) if not self.public
                else [PUBLIC],
                "publish": sorted(set(self.publish) | {ADMIN}),
                "stores": self.stores}


def check_execute(access: ProcessAccess, who: Principal, process_id: str) -> None:
    """401 for an anonymous caller, 403 for a signed-in one without the role."""
    if access.may_execute(who):
        return
    roles = ", ".join(sorted(set(access.execute) | {ADMIN}))
    if not who.authenticated:
        raise AuthenticationRequired(f"process {process_id!r} stores data and needs a "
                                     f"signed-in caller with the role {roles}; send an "
                                     "API key (X-API-Key) or a bearer token")
    raise Forbidden(f"process {process_id!r} needs the role {roles}; you have "
                    f"{', '.join(sorted(who.roles))}")


class PublishForbidden(Exception):
    """The caller asked to write into published data without a role that may (403)."""


def check_publish(access: ProcessAccess, who: Principal, process_id: str) -> None:
    if not access.may_publish(who):
        roles = ", ".join(sorted(set(access.publish) | {ADMIN}))
        raise PublishForbidden(f"publish: replacing what {process_id!r} publishes needs "
                               f"the role {roles}; leave publish out to store the run "
                               "under your own name")
