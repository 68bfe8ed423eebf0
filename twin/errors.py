"""The one base of errors whose message may be shown to a client.

A domain error that names what is wrong with a request (an unknown area, a period too
long, a bbox off the city) derives from :class:`TwinInputError`; the server turns those
into 400 with their message. Any other exception, a numpy, pyproj or rasterio
``ValueError`` included, is a logged 500 that says nothing internal. It subclasses
``ValueError`` so code that still catches ``ValueError`` keeps working.

This module imports nothing from twin, so every layer may import it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

INVALID = "invalid value"


class TwinInputError(ValueError):
    """Bad input; the message is written for the client and names what to change."""


def validation_message(err: Mapping[str, Any]) -> str:
    """The message of one pydantic error (an item of ``ValidationError.errors()``) that
    is safe to show: pydantic's own words for a type or range, a validator's words only
    when it raised a :class:`TwinInputError`; any other error a validator hit (a library's
    ``ValueError``) is only "invalid value"."""
    if err.get("type") == "value_error":
        cause = (err.get("ctx") or {}).get("error")
        return str(cause) if isinstance(cause, TwinInputError) else INVALID
    return str(err.get("msg") or INVALID)


def validation_text(errors: Iterable[Mapping[str, Any]], *, positions: bool = True) -> str:
    """Every error as ``field: message``, joined by ``; `` (``positions=False`` leaves
    list indices out of the field's path)."""
    parts = []
    for err in errors:
        where = ".".join(str(p) for p in err.get("loc", ())
                         if positions or not isinstance(p, int))
        message = validation_message(err)
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)
