"""Names of stored runs: what the city publishes, and each user's own space.

A run a user stores (a flood scenario, a set of surfaces) is named
``user:<owner>:<name>``; published names may not begin with ``user``, so no user's run
can ever take, or replace, a published name. ``<owner>`` is the letters and digits of
the caller's subject and six hex digits of its hash, so two subjects never share a
space by accident and the owner part never holds the ``_`` that slugs put between
parts.
"""

from __future__ import annotations

import hashlib
import re

from twin.errors import TwinInputError

USER_PREFIX = "user"
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def owner_token(subject: str) -> str:
    digest = hashlib.sha256(subject.encode()).hexdigest()[:6]
    return f"{_NOT_ALNUM.sub('', subject.lower())[:16]}{digest}"


def scoped_name(subject: str, name: str) -> str:
    """The stored name of ``subject``'s own run ``name``."""
    return f"{USER_PREFIX}:{owner_token(subject)}:{name}"


def is_user_name(name: str) -> bool:
    """Whether a stored name lies in some user's own space (never a published name)."""
    token = _NOT_ALNUM.sub("_", name.strip().lower()).strip("_")
    return token == USER_PREFIX or token.startswith(f"{USER_PREFIX}_")


def check_published_name(name: str) -> None:
    """TwinInputError when ``name`` may not be published (it looks like a user's run)."""
    if is_user_name(name):
        raise TwinInputError(f"name: names beginning with {USER_PREFIX!r} are reserved for "
                             "users' own runs")
