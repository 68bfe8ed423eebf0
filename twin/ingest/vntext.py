"""Is this Vietnamese? Telling UTF-8, TCVN3, VNI and Windows-1258 text apart.

Bytes of one legacy encoding read in another still give letters, but not Vietnamese
syllables: "Hoàn" in VNI read as TCVN3 is "Hoaứn". A word is taken as Vietnamese when
every letter is one of the language's (:data:`twin.ingest.vnencodings.LETTERS` and
ASCII), it carries at most one tone mark, its case is lower, upper or title, and it is
an onset, a vowel nucleus and a final of the language's syllables. Words without
diacritics are not judged (names, codes, abbreviations). :func:`choose` picks the
encoding under which the most values read as Vietnamese.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from twin.ingest.vnencodings import LETTERS, REPLACEMENT, canonical, decode

CANDIDATES = ("utf-8", "tcvn3", "vni", "cp1258")
NAMES = {"utf-8": "UTF-8", "tcvn3": "TCVN3 (ABC)", "vni": "VNI", "cp1258": "Windows-1258"}

ALPHABET = set(LETTERS) | set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
PUNCTUATION = set("–—‘’“”…°²³№\u00a0")
TONES = "\u0300\u0301\u0303\u0309\u0323"

ONSETS = ("ngh", "ng", "nh", "ch", "gh", "gi", "kh", "ph", "th", "tr", "qu",
          *"bcdđghklmnpqrstvx")  # "q" + "uy...": quỳnh, quyền
# Vowel nuclei that take a final consonant, and those that end in a glide (no final).
OPEN = (
    "a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "iê", "yê", "uô", "ươ", "oa",
    "oă", "oe", "uâ", "uê", "uy", "uyê",
)
CLOSED = (
    "y", "ai", "ao", "au", "ay", "âu", "ây", "eo", "êu", "ia", "iu", "oi", "ôi", "ơi", "ua",
    "ui", "ưa", "ưi", "ưu", "iêu", "yêu", "oai", "oay", "oao", "oeo", "uây", "uôi", "uya",
    "uyu", "ươi", "ươu", "uơ",
)
FINALS = ("ch", "ng", "nh", "c", "m", "n", "p", "t")


def _alternatives(items: Iterable[str]) -> str:
    return "|".join(sorted(items, key=len, reverse=True))


SYLLABLE = re.compile(f"(?:{_alternatives(ONSETS)})?"
                      f"(?:(?:{_alternatives(OPEN)})(?:{_alternatives(FINALS)})?"
                      f"|(?:{_alternatives(CLOSED)}))")
WORD = re.compile(r"[^\W\d_]+")


def _toneless(word: str) -> tuple[str, int]:
    parts = unicodedata.normalize("NFD", word.lower())
    tones = sum(1 for c in parts if c in TONES)
    return unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONES)), tones


@lru_cache(maxsize=65536)
def vietnamese_word(word: str) -> bool:
    """Whether one word (letters only, NFC) can be Vietnamese."""
    if word.isascii():
        return True
    if any(c not in ALPHABET for c in word):
        return False
    if not (word.islower() or word.isupper() or (word[0].isupper() and word[1:].islower())):
        return False
    bare, tones = _toneless(word)
    return (tones <= 1 and SYLLABLE.fullmatch(bare) is not None
            and not bare.startswith(("quu", "quư", "quo")))


def vietnamese(text: str) -> bool:
    """Whether decoded text reads as Vietnamese (or is plain ASCII)."""
    for char in text:
        if char == REPLACEMENT or (unicodedata.category(char)[0] == "C" and char not in "\t\n\r"):
            return False
        if ord(char) >= 0x80 and not char.isalpha() and char not in PUNCTUATION:
            return False
    return all(vietnamese_word(w) for w in WORD.findall(text))


def readings(raw: bytes, candidates: Iterable[str] = CANDIDATES) -> dict[str, str]:
    """encoding -> text, for each candidate under which ``raw`` reads as Vietnamese."""
    out = {}
    for encoding in candidates:
        try:
            text = decode(raw, encoding)
        except UnicodeDecodeError:
            continue
        if vietnamese(text):
            out[encoding] = text
    return out


def order(declared: str | None) -> tuple[str, ...]:
    """The candidates, the file's declared encoding first when it is one of them."""
    key = (declared or "").strip().lower().removeprefix("ansi").strip()
    if key.isdigit():  # a .cpg's Windows code page number
        key = "utf-8" if key == "65001" else f"cp{key}"
    try:
        first = canonical(key) if key else None
    except LookupError:
        first = None
    if first not in CANDIDATES:
        return CANDIDATES
    return (first, *(c for c in CANDIDATES if c != first))


def choose(samples: Iterable[bytes], candidates: tuple[str, ...] = CANDIDATES) -> str:
    """The candidate under which most samples read as Vietnamese (ties: the first)."""
    score = dict.fromkeys(candidates, 0)
    for raw in samples:
        for encoding in readings(raw, candidates):
            score[encoding] += 1
    return max(candidates, key=lambda c: score[c])
