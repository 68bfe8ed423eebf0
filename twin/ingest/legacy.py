"""Text columns read as raw bytes (DBF attributes, DGN texts) decoded to Unicode NFC.

The encoding is detected once for the whole file (:func:`twin.ingest.vntext.choose`,
the file's declared code page first) or forced (``--encoding``). A value that reads as
Vietnamese only in another encoding (a mixed-encoding file) or in none at all is refused
with its column and row.
"""

from __future__ import annotations

from twin.ingest.errors import LoadError
from twin.ingest.vnencodings import canonical, decode
from twin.ingest.vntext import NAMES, choose, order, readings


def forced_encoding(name: str | None) -> str | None:
    """``--encoding`` as a known encoding name (or None); a LoadError when unknown."""
    if not name:
        return None
    try:
        return canonical(name)
    except LookupError:
        raise LoadError(f"--encoding: unknown encoding {name!r} (utf-8, tcvn3 (ABC), vni, "
                        "cp1258 or another Python codec name)") from None


def _raw(value) -> bytes | None:
    """The bytes of a value read through latin-1 (None for non-text and ASCII)."""
    if not isinstance(value, str) or value.isascii():
        return None
    return value.encode("latin-1")


def decode_texts(values: list, labels: list[str], what: str, *, forced: str | None = None,
                 declared: str | None = None, chosen: str | None = None
                 ) -> tuple[list, str | None, list[str]]:
    """Decode one column: (values, the encoding used, problems). ``what`` names the
    column in messages; ``chosen`` is the file's encoding when already known."""
    raws = [_raw(v) for v in values]
    if not any(raws):
        return list(values), chosen, []
    encoding = forced or chosen or choose([r for r in raws if r], order(declared))
    out, problems = list(values), []
    for i, raw in enumerate(raws):
        if raw is None:
            continue
        if forced:
            try:
                out[i] = decode(raw, forced)
            except UnicodeDecodeError as exc:
                problems.append(f"{labels[i]}: {what}: byte 0x{raw[exc.start]:02x} at "
                                f"{exc.start} is not {forced}")
            continue
        found = readings(raw, order(encoding))
        if encoding in found:
            out[i] = found[encoding]
        elif found:
            other = next(iter(found))
            problems.append(f"{labels[i]}: {what}: {raw!r} reads as {NAMES[other]} "
                            f"({found[other]!r}) where the file is {NAMES[encoding]}")
        else:
            problems.append(f"{labels[i]}: {what}: {raw!r} is not Vietnamese text in "
                            f"{', '.join(NAMES.values())}")
    return out, encoding, problems


def decode_columns(columns: dict[str, list], labels: list[str], source: str, *,
                   forced: str | None = None, declared: str | None = None
                   ) -> tuple[dict[str, list], str | None]:
    """Decode every text column with one encoding for the file; returns the columns and
    the encoding (None when all text is ASCII). Raises LoadError listing the values
    that are in another encoding or in none."""
    samples = [r for col in columns.values() for r in map(_raw, col) if r]
    if not samples:
        return columns, None
    encoding = forced or choose(samples, order(declared))
    out, problems = {}, []
    for name, values in columns.items():
        out[name], _, found = decode_texts(values, labels, f"column {name!r}", forced=forced,
                                           chosen=encoding)
        problems += found
    if problems:
        if forced:
            hint = f"not valid {forced} (--encoding)"
        elif any(" reads as " in p for p in problems):
            hint = f"the file mixes encodings; most of it is {NAMES[encoding]}"
        else:
            hint = f"most of the file is {NAMES[encoding]}; force one with --encoding"
        raise LoadError(f"{source}: {len(problems)} text value(s) in another encoding or "
                        f"none ({hint})", problems)
    return out, encoding
