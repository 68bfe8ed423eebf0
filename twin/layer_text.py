"""The bilingual texts of a layer file: ``title``, ``description``, ``keywords`` and each
field's ``description`` are written ``{vi: …, en: …}`` (a plain string is the same text in
both languages).

The registry keeps each as a :class:`twin.i18n.Text` beside the plain value every older
user reads: ``title``/``description`` in the default language (:data:`twin.i18n.DEFAULT`,
Vietnamese), ``keywords`` as the English list, because the viewer and the QGIS project
group layers by them (they are theme keys: ``transport``, ``environment`` …).
``Layer.title_in(lang)`` and friends give the text of a language.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from twin.i18n import DEFAULT, Text, normalise


def split_text(data: Any, key: str, text_key: str) -> Any:
    """A before-validator's step: ``data[key]`` (a string or ``{vi, en}``) becomes the
    default language's string, and ``data[text_key]`` the :class:`Text` (unless the data
    already carries one, as a dumped model does)."""
    if not isinstance(data, Mapping) or key not in data:
        return data
    out = dict(data)
    if text_key in out and isinstance(out[key], str):
        return out
    try:
        text = Text.of(out[key])
    except ValueError as exc:
        raise ValueError(f"{key}: {exc}") from None
    out[text_key] = text
    out[key] = text.pick(DEFAULT)
    return out


def split_keywords(data: Any) -> Any:
    """``keywords`` as ``[a, b]`` (both languages), ``{vi: [...], en: [...]}`` or a list of
    ``{vi, en}``: ``keywords`` becomes the English list (theme keys), ``keyword_texts``
    the list per language."""
    if not isinstance(data, Mapping) or "keywords" not in data or "keyword_texts" in data:
        return data
    out = dict(data)
    raw = out["keywords"] or []
    per: dict[str, list[str]] = {"vi": [], "en": []}
    if isinstance(raw, Mapping):
        for tag, words in raw.items():
            lang = normalise(str(tag))
            if lang is None:
                raise ValueError(f"keywords: unknown language {tag!r}: use vi and en")
            if not isinstance(words, (list, tuple)):
                raise ValueError(f"keywords.{tag}: must be a list of words")
            per[lang] = [str(w).strip() for w in words]
        per = {lang: per[lang] or per[other] for lang, other in (("vi", "en"), ("en", "vi"))}
    elif isinstance(raw, (list, tuple)):
        for word in raw:
            text = Text.of(word)
            per["vi"].append(text.pick("vi"))
            per["en"].append(text.pick("en"))
    else:
        raise ValueError("keywords must be a list or {vi: [...], en: [...]}")
    out["keywords"] = tuple(per["en"])
    out["keyword_texts"] = {"vi": tuple(per["vi"]), "en": tuple(per["en"])}
    return out


def pick_list(per: Mapping[str, tuple[str, ...]], lang: str) -> list[str]:
    """The keywords of ``lang`` (the other language's when it has none)."""
    first = normalise(lang) or DEFAULT
    other = "en" if first == "vi" else "vi"
    return list(per.get(first) or per.get(other) or ())


def language_struct(text: Text) -> str | dict[str, str]:
    """A text as pygeoapi's configuration writes one: ``{"vi": …, "en": …}`` (pygeoapi
    picks the request's language from it), or the plain string when both are equal."""
    if text.vi == text.en:
        return text.vi
    return text.as_dict()


__all__ = ["language_struct", "pick_list", "split_keywords", "split_text"]
