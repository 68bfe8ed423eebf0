"""What a layer file's ``catalogue:`` section says about the layer as a published
dataset (issue 19): who owns it, whom to ask, under what licence, how often it changes,
its catalogue description and keywords in both languages. Every item is optional; what a
layer leaves out comes from ``catalogue:`` in ``config/server.yaml``
(:class:`CatalogueDefaults`).

This module imports only pydantic and :mod:`twin.i18n` (a small shared model, as
:mod:`twin.style_model`), so the registry can use it without a circle through
:mod:`twin.catalogue`.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from twin.i18n import Text

# Update frequencies as words (and their DCAT frequency vocabulary names) or ISO 8601
# durations (P1D, PT1H, P1W, P1M ...).
FREQUENCIES: dict[str, tuple[timedelta | None, str]] = {
    "continuous": (timedelta(hours=1), "CONT"),
    "hourly": (timedelta(hours=1), "HOURLY"),
    "daily": (timedelta(days=1), "DAILY"),
    "weekly": (timedelta(weeks=1), "WEEKLY"),
    "monthly": (timedelta(days=31), "MONTHLY"),
    "quarterly": (timedelta(days=92), "QUARTERLY"),
    "annual": (timedelta(days=366), "ANNUAL"),
    "irregular": (None, "IRREG"),
    "never": (None, "NEVER"),
}
DURATION = re.compile(r"^P(?:(\d+)W|(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?)$")


def frequency_period(value: str) -> timedelta | None:
    """How long the data may go unchanged (None: no promise), or ValueError."""
    if value in FREQUENCIES:
        return FREQUENCIES[value][0]
    match = DURATION.match(value)
    if not match or value in ("P", "PT") or value.endswith("T"):
        raise ValueError(f"frequency {value!r} is neither one of "
                         f"{', '.join(FREQUENCIES)} nor an ISO 8601 duration such as P1D")
    weeks, days, hours, minutes = (int(g) if g else 0 for g in match.groups())
    return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes)


def dcat_frequency(value: str) -> str:
    """The EU frequency vocabulary's name for ``value`` (durations: the nearest word)."""
    if value in FREQUENCIES:
        return FREQUENCIES[value][1]
    period = frequency_period(value)
    for name, (span, code) in FREQUENCIES.items():
        if span is not None and period is not None and period <= span and name != "continuous":
            return code
    return "IRREG"


def _text(value: Any) -> Any:
    return Text.of(value) if value is not None and not isinstance(value, Text) else value


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    email: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    url: str | None = Field(None, pattern=r"^https?://")
    phone: str | None = None


class Licence(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    url: str = Field(pattern=r"^https?://")


class CatalogueSpec(BaseModel):
    """``catalogue:`` of a layer file (all optional: the server's defaults fill in)."""
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)
    owner: Text | None = None          # the owning agency, {vi, en}
    contact: Contact | None = None
    licence: Licence | None = None
    frequency: str | None = None       # a word of FREQUENCIES or an ISO 8601 duration
    description: Text | None = None    # the record's abstract (else the layer's)
    keywords: dict[str, tuple[str, ...]] = {}   # per language: {vi: [...], en: [...]}
    themes: tuple[str, ...] = ()       # EU data themes (TRAN, ENVI, REGI, GOVE ...)

    @model_validator(mode="before")
    @classmethod
    def _texts(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = {**data, **{k: _text(data[k]) for k in ("owner", "description")
                               if k in data}}
            keywords = data.get("keywords")
            if isinstance(keywords, list | tuple):
                data["keywords"] = {"vi": keywords, "en": keywords}
        return data

    @field_validator("frequency")
    @classmethod
    def _frequency(cls, value: str | None) -> str | None:
        if value is not None:
            frequency_period(value)
        return value

    @field_validator("keywords")
    @classmethod
    def _languages(cls, value: dict) -> dict:
        unknown = set(value) - {"vi", "en"}
        if unknown:
            raise ValueError(f"keywords: languages are vi and en, not {sorted(unknown)}")
        return value


class CatalogueDefaults(CatalogueSpec):
    """``catalogue:`` of config/server.yaml: what every record has unless its layer (or
    resource) says otherwise; also the catalogue's own title and publisher."""
    title: Text = Text.of({"vi": "Danh mục dữ liệu", "en": "Data catalogue"})
    publisher: Text | None = None

    @model_validator(mode="before")
    @classmethod
    def _title(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = {**data, **{k: _text(data[k]) for k in ("title", "publisher") if k in data}}
        return data

    def merged(self, spec: CatalogueSpec | None) -> CatalogueSpec:
        """``spec`` with what it leaves out taken from these defaults."""
        base = {k: getattr(self, k) for k in CatalogueSpec.model_fields}
        if spec is not None:
            base.update({k: v for k, v in spec if v not in (None, {}, ())})
        return CatalogueSpec.model_construct(**base)
