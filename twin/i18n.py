"""Two languages, one set of rules: which language a request wants, how a bilingual text
is picked, and how dates and numbers are written in each.

twin speaks Vietnamese (``vi``) and English (``en``). The city profile's first language
is the default (``CityProfile.languages``; Vietnamese for Hà Nội). A request chooses with
``lang=`` (``vi``, ``en``, ``vi-VN``, ``en-US`` …) or ``Accept-Language``; ``lang=`` wins.

A bilingual text is a :class:`Text`: built from a plain string (the same in both
languages: a proper name, a code) or from ``{vi: …, en: …}`` as the layer files and
``config/`` write it. ``Text.pick(lang)`` falls back to the other language only when one
is missing, so a file that gives one language still works.

Vietnamese conventions (Nghị định 30/2020 and everyday use): dates dd/mm/yyyy, times
24-hour ``HH:MM``, a decimal comma and a dot between thousands in prose and tables.
This module imports nothing from the rest of twin.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

LANGUAGES = ("vi", "en")
DEFAULT = "vi"


def normalise(tag: str | None) -> str | None:
    """``vi``/``en`` for a language tag (``vi-VN``, ``EN_us``, ``en;q=0.8``), else None."""
    if not tag:
        return None
    primary = tag.split(";")[0].strip().replace("_", "-").split("-")[0].lower()
    return primary if primary in LANGUAGES else None


def accept_language(header: str | None) -> list[str]:
    """The languages of an ``Accept-Language`` header that twin speaks, best first."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((header or "").split(",")):
        pieces = part.strip().split(";")
        lang = normalise(pieces[0])
        if lang is None:
            continue
        q = 1.0
        for p in pieces[1:]:
            key, _, value = p.strip().partition("=")
            if key.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            ranked.append((-q, i, lang))
    seen: list[str] = []
    for _, _, lang in sorted(ranked):
        if lang not in seen:
            seen.append(lang)
    return seen


def negotiate(lang_param: str | None, accept: str | None, default: str = DEFAULT) -> str:
    """The language of a response: ``lang=`` if twin speaks it, else the best of
    ``Accept-Language``, else ``default``. An unknown ``lang=`` falls back like a missing
    one (OGC API Common: a server answers in a language it has)."""
    chosen = normalise(lang_param)
    if chosen:
        return chosen
    offered = accept_language(accept)
    return offered[0] if offered else (normalise(default) or DEFAULT)


def request_language(query: Mapping[str, str], headers: Mapping[str, str],
                     default: str = DEFAULT) -> str:
    """:func:`negotiate` over a request's query parameters and headers (any mapping with
    ``get``: Starlette's ``QueryParams`` and ``Headers`` are case-aware already)."""
    return negotiate(query.get("lang"), headers.get("accept-language"), default)


def content_language(lang: str) -> str:
    """The ``Content-Language`` value of a response in ``lang``."""
    return {"vi": "vi-VN", "en": "en-US"}.get(lang, lang)


@dataclass(frozen=True)
class Text:
    """A text in both languages (either may be empty when a file gives only one)."""

    vi: str = ""
    en: str = ""

    @classmethod
    def of(cls, value: Any) -> Text:
        """From a plain string (the same in both), a ``{vi, en}`` mapping (other keys such
        as ``vi-VN`` are normalised), an existing Text, or None (empty)."""
        if value is None:
            return cls()
        if isinstance(value, Text):
            return value
        if isinstance(value, Mapping):
            out: dict[str, str] = {}
            for key, text in value.items():
                lang = normalise(str(key))
                if lang and text is not None and lang not in out:
                    out[lang] = str(text).strip()
            unknown = [k for k in value if normalise(str(k)) is None]
            if unknown:
                raise ValueError(f"unknown language {unknown[0]!r}: use vi and en")
            return cls(vi=out.get("vi", ""), en=out.get("en", ""))
        text = str(value).strip()
        return cls(vi=text, en=text)

    def pick(self, lang: str) -> str:
        first, other = (self.vi, self.en) if normalise(lang) != "en" else (self.en, self.vi)
        return first or other

    def __bool__(self) -> bool:
        return bool(self.vi or self.en)

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in (("vi", self.vi), ("en", self.en)) if v}


def pick(value: Any, lang: str) -> str:
    """``Text.of(value).pick(lang)``: for a value that may be a string or a mapping."""
    return Text.of(value).pick(lang)


def number(value: float | int | None, lang: str, digits: int = 1) -> str:
    """A number as prose writes it: ``12.345,6`` in Vietnamese, ``12,345.6`` in English;
    ``–`` for none."""
    if value is None:
        return "–"
    text = f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"
    if normalise(lang) == "vi":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def day(value: date | datetime, lang: str) -> str:
    """A date: ``07/12/2026`` (vi) or ``2026-12-07`` (en, ISO 8601)."""
    return value.strftime("%d/%m/%Y" if normalise(lang) == "vi" else "%Y-%m-%d")


def moment(value: datetime, lang: str) -> str:
    """A local date and time to the minute: ``07/12/2026 14:05`` (vi, as the viewer and
    the pages show it) or ``2026-12-07 14:05`` (en)."""
    if normalise(lang) == "vi":
        return value.strftime("%d/%m/%Y %H:%M")
    return value.strftime("%Y-%m-%d %H:%M")


def both(items: Iterable[tuple[str, Any]]) -> dict[str, Text]:
    """``{key: Text}`` of pairs whose values may be strings or ``{vi, en}`` mappings."""
    return {key: Text.of(value) for key, value in items}


__all__ = ["DEFAULT", "LANGUAGES", "Text", "accept_language", "both", "content_language",
           "day", "moment", "negotiate", "normalise", "number", "pick", "request_language"]
