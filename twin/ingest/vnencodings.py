"""The legacy Vietnamese 8-bit encodings, as data: TCVN3 (ABC) and VNI Windows.

Before Unicode, Vietnamese agencies wrote text in font encodings: the bytes are
Windows-1252 codes and a special font draws them as Vietnamese letters. Cadastral
DGN sheets and the DBF tables of old Shapefiles still hold such text.

- **TCVN3 (ABC)**, the national standard's "VN3" fonts (.VnTime): single bytes, the
  precomposed letters in 0xA1–0xFF. The table below is TCVN 5712:1993 for 0xA1–0xFF,
  as glibc's iconv (``TCVN5712-1``) decodes it; the VN3 fonts use its 7 capitals
  (Ă Â Ê Ô Ơ Ư Đ) and its lower-case letters, capitals with tone marks being drawn with
  a separate "H" font over the same lower-case codes. Cross-checked against the TCVN3
  column of github.com/duydev/vietnamese-conversion (``src/charsets.ts``): every one of
  its single-byte letters agrees.
- **VNI Windows**: an ASCII base letter followed by one byte for the diacritics (a
  Windows-1252 letter such as ``ù`` for the acute tone or ``â`` for the circumflex), a
  few letters being single bytes (``ñ`` đ, ``ô`` ơ, ``ö`` ư, the i's). The table
  (:data:`VNI`) is the VNI column of the same ``charsets.ts``, for the 134 Vietnamese
  letters of :data:`LETTERS` in its order; the lower-case entries were also checked
  against the rules of the encoding (tone byte, circumflex+tone, breve+tone).

Text is decoded to Unicode NFC. A byte that means nothing in an encoding decodes to
U+FFFD, so that :mod:`twin.ingest.vntext` sees the result as nonsense.
"""

from __future__ import annotations

import codecs
import unicodedata

# The 134 Vietnamese letters beyond ASCII, in the order of the tables below.
LETTERS = (
    "À", "Á", "Â", "Ã", "È", "É", "Ê", "Ì", "Í", "Ò", "Ó", "Ô", "Õ", "Ù", "Ú", "Ý",
    "à", "á", "â", "ã", "è", "é", "ê", "ì", "í", "ò", "ó", "ô", "õ", "ù", "ú", "ý",
    "Ă", "ă", "Đ", "đ", "Ĩ", "ĩ", "Ũ", "ũ", "Ơ", "ơ", "Ư", "ư", "Ạ", "ạ", "Ả", "ả",
    "Ấ", "ấ", "Ầ", "ầ", "Ẩ", "ẩ", "Ẫ", "ẫ", "Ậ", "ậ", "Ắ", "ắ", "Ằ", "ằ", "Ẳ", "ẳ",
    "Ẵ", "ẵ", "Ặ", "ặ", "Ẹ", "ẹ", "Ẻ", "ẻ", "Ẽ", "ẽ", "Ế", "ế", "Ề", "ề", "Ể", "ể",
    "Ễ", "ễ", "Ệ", "ệ", "Ỉ", "ỉ", "Ị", "ị", "Ọ", "ọ", "Ỏ", "ỏ", "Ố", "ố", "Ồ", "ồ",
    "Ổ", "ổ", "Ỗ", "ỗ", "Ộ", "ộ", "Ớ", "ớ", "Ờ", "ờ", "Ở", "ở", "Ỡ", "ỡ", "Ợ", "ợ",
    "Ụ", "ụ", "Ủ", "ủ", "Ứ", "ứ", "Ừ", "ừ", "Ử", "ử", "Ữ", "ữ", "Ự", "ự", "Ỳ", "ỳ",
    "Ỵ", "ỵ", "Ỷ", "ỷ", "Ỹ", "ỹ",
)

# VNI Windows: each letter of LETTERS as the characters (Windows-1252) of its bytes.
VNI = (
    "AØ", "AÙ", "AÂ", "AÕ", "EØ", "EÙ", "EÂ", "Ì", "Í", "OØ", "OÙ", "OÂ", "OÕ", "UØ", "UÙ", "YÙ",
    "aø", "aù", "aâ", "aõ", "eø", "eù", "eâ", "ì", "í", "oø", "où", "oâ", "oõ", "uø", "uù", "yù",
    "AÊ", "aê", "Ñ", "ñ", "Ó", "ó", "UÕ", "uõ", "Ô", "ô", "Ö", "ö", "AÏ", "aï", "AÛ", "aû",
    "AÁ", "aá", "AÀ", "aà", "AÅ", "aå", "AÃ", "aã", "AÄ", "aä", "AÉ", "aé", "AÈ", "aè", "AÚ", "aú",
    "AÜ", "aü", "AË", "aë", "EÏ", "eï", "EÛ", "eû", "EÕ", "eõ", "EÁ", "eá", "EÀ", "eà", "EÅ", "eå",
    "EÃ", "eã", "EÄ", "eä", "Æ", "æ", "Ò", "ò", "OÏ", "oï", "OÛ", "oû", "OÁ", "oá", "OÀ", "oà",
    "OÅ", "oå", "OÃ", "oã", "OÄ", "oä", "ÔÙ", "ôù", "ÔØ", "ôø", "ÔÛ", "ôû", "ÔÕ", "ôõ", "ÔÏ", "ôï",
    "UÏ", "uï", "UÛ", "uû", "ÖÙ", "öù", "ÖØ", "öø", "ÖÛ", "öû", "ÖÕ", "öõ", "ÖÏ", "öï", "YØ", "yø",
    "Î", "î", "YÛ", "yû", "YÕ", "yõ",
)

# TCVN3: the characters of bytes 0xA1..0xFF (TCVN 5712:1993; 0xB0-0xB4 are combining
# tone marks, which NFC joins to the letter before them).
TCVN3_HIGH = (
    "ĂÂÊÔƠƯĐăâêôơưđẰ"                                     # 0xA1-0xAF
    "\u0300\u0309\u0303\u0301\u0323àảãáạẲằẳẵắẴ"           # 0xB0-0xBF
    "ẮẦẨẪẤỀặầẩẫấậèỂẻẽ"                                    # 0xC0-0xCF
    "éẹềểễếệìỉỄẾỒĩíịò"                                    # 0xD0-0xDF
    "Ổỏõóọồổỗốộờởỡớợù"                                    # 0xE0-0xEF
    "ỖủũúụừửữứựỳỷỹýỵỐ")                                   # 0xF0-0xFF

assert len(LETTERS) == len(VNI) == 134 and len(TCVN3_HIGH) == 0xFF - 0xA0

REPLACEMENT = "\ufffd"
LEGACY = ("tcvn3", "vni")
ALIASES = {"abc": "tcvn3", "tcvn": "tcvn3", "tcvn-3": "tcvn3", "vn3": "tcvn3",
           "vni-windows": "vni", "vni_windows": "vni", "windows-1258": "cp1258",
           "utf8": "utf-8"}


def _punctuation(byte: int) -> str:
    """Bytes 0x80-0xA0 in both font encodings: Windows-1252 punctuation, else nonsense."""
    try:
        char = bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return REPLACEMENT
    return char if unicodedata.category(char)[0] in "PSZ" else REPLACEMENT


def _tcvn3_table() -> list[str]:
    table = [chr(b) for b in range(0x80)]
    table += [_punctuation(b) for b in range(0x80, 0xA1)]
    table += list(TCVN3_HIGH)
    return table


TCVN3_DECODE = _tcvn3_table()
TCVN3_ENCODE = {ch: bytes([b]) for b, ch in enumerate(TCVN3_DECODE)
                if b >= 0xA1 and unicodedata.category(ch) != "Mn"}

# VNI: byte sequences (as latin-1 text) -> letter, longest first when decoding.
VNI_DECODE = {seq.encode("cp1252").decode("latin-1"): ch
              for ch, seq in zip(LETTERS, VNI, strict=True)}
for _ch, _seq in zip(LETTERS, VNI, strict=True):  # a capital with the lower-case mark byte
    if len(_seq) == 2 and _seq.isupper():
        _other = (_seq[0] + _seq[1].swapcase()).encode("cp1252").decode("latin-1")
        VNI_DECODE.setdefault(_other, _ch)
VNI_ENCODE = {ch: seq.encode("cp1252") for ch, seq in zip(LETTERS, VNI, strict=True)}


def canonical(name: str) -> str:
    """The encoding's name as this module knows it ("ABC" -> "tcvn3"), or the Python
    codec's name; raises LookupError for an unknown encoding."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key in LEGACY:
        return key
    return codecs.lookup(key).name


def decode(data: bytes, encoding: str) -> str:
    """``data`` as Unicode NFC text. TCVN3 and VNI never fail (an undefined byte becomes
    U+FFFD); other codecs raise UnicodeDecodeError."""
    encoding = canonical(encoding)
    if encoding == "tcvn3":
        text = "".join(TCVN3_DECODE[b] for b in data)
    elif encoding == "vni":
        text = _decode_vni(data)
    else:
        text = data.decode(encoding)
    return unicodedata.normalize("NFC", text)


def _decode_vni(data: bytes) -> str:
    raw = data.decode("latin-1")
    out, i = [], 0
    while i < len(raw):
        pair = raw[i:i + 2]
        if len(pair) == 2 and pair in VNI_DECODE:
            out.append(VNI_DECODE[pair])
            i += 2
            continue
        char = raw[i]
        if char in VNI_DECODE:
            out.append(VNI_DECODE[char])
        elif ord(char) < 0x80:
            out.append(char)
        else:
            out.append(_punctuation(ord(char)) if ord(char) <= 0xA0 else REPLACEMENT)
        i += 1
    return "".join(out)


def encode(text: str, encoding: str) -> bytes:
    """Unicode text in a legacy encoding (for round trips and test files); raises
    ValueError naming a character the encoding cannot write."""
    encoding = canonical(encoding)
    table = {"tcvn3": TCVN3_ENCODE, "vni": VNI_ENCODE}.get(encoding)
    if table is None:
        return b"".join(_encode_codec(char, encoding)
                        for char in unicodedata.normalize("NFC", text))
    out = bytearray()
    for char in unicodedata.normalize("NFC", text):
        if char in table:
            out += table[char]
        elif ord(char) < 0x80:
            out += char.encode("ascii")
        else:
            raise ValueError(f"{char!r} cannot be written in {encoding.upper()}")
    return bytes(out)


TONES = "\u0300\u0301\u0303\u0309\u0323"


def _encode_codec(char: str, encoding: str) -> bytes:
    """One character in a Python codec; Windows-1258 writes a tone as a combining mark
    after the letter when it has no precomposed code for the toned letter."""
    try:
        return char.encode(encoding)
    except UnicodeEncodeError:
        parts = unicodedata.normalize("NFD", char)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONES))
        tones = "".join(c for c in parts if c in TONES)
        if base == char or not tones:
            raise ValueError(f"{char!r} cannot be written in {encoding}") from None
        try:
            return base.encode(encoding) + tones.encode(encoding)
        except UnicodeEncodeError:
            raise ValueError(f"{char!r} cannot be written in {encoding}") from None
