"""Legacy Vietnamese encodings (TCVN3 / ABC, VNI, Windows-1258): the tables, detection,
and Shapefiles whose DBF text is in them, loaded into the real PostGIS."""

from __future__ import annotations

import unicodedata

import numpy as np
import pyogrio.raw
import pytest
import shapely
from pyproj import Transformer
from sqlalchemy import text

from tests.files import HOAN_KIEM, zip_shapefile
from twin.ingest.errors import LoadError
from twin.ingest.legacy import decode_texts
from twin.ingest.vector import load_vector
from twin.ingest.vnencodings import LETTERS, decode, encode
from twin.ingest.vntext import choose, readings, vietnamese

WORDS = ["Đường Láng", "Hoàn Kiếm", "Cầu Giấy", "đất ở tại đô thị", "Nguyễn Văn An",
         "Tờ bản đồ số 12", "Phường Quán Thánh, quận Ba Đình", "Sở Giao thông Vận tải"]


@pytest.mark.parametrize("word", WORDS)
@pytest.mark.parametrize("encoding", ["tcvn3", "vni", "cp1258", "utf-8"])
def test_round_trip(word, encoding):
    raw = encode(word, encoding)
    assert decode(raw, encoding) == word
    assert unicodedata.is_normalized("NFC", decode(raw, encoding))
    assert encoding in readings(raw)  # what it is, it reads as Vietnamese


def test_known_bytes():
    # TCVN3 (ABC): single bytes; VNI: base letter + a mark byte.
    assert encode("Đường Láng", "tcvn3") == b"\xa7\xad\xeang L\xb8ng"
    assert encode("Đường Láng", "vni") == b"\xd1\xf6\xf4\xf8ng La\xf9ng"
    assert encode("Hoàn Kiếm", "vni") == b"Hoa\xf8n Kie\xe1m"
    assert decode(b"C\xc7u Gi\xcay", "tcvn3") == "Cầu Giấy"
    assert decode(b"\xf1a\xe1t \xf4\xfb ta\xefi \xf1o\xe2 th\xf2", "vni") == "đất ở tại đô thị"
    assert len(LETTERS) == 134


def test_every_lower_case_letter_round_trips():
    for letter in LETTERS:
        if letter.islower():
            assert decode(encode(letter, "vni"), "vni") == letter
            assert decode(encode(letter, "tcvn3"), "tcvn3") == letter


def test_other_encodings_read_as_nonsense():
    # VNI bytes read as TCVN3 give letters, but not Vietnamese syllables.
    vni = encode("Hoàn Kiếm", "vni")
    assert decode(vni, "tcvn3") == "Hoaứn Kieỏm"
    assert not vietnamese(decode(vni, "tcvn3"))
    assert list(readings(encode("Đường Láng", "tcvn3"))) == ["tcvn3"]
    assert list(readings(encode("Cầu Giấy", "vni"))) == ["vni"]
    assert readings(b"\x81\x8d\x8f\x90 \xff\xfe") == {}


def test_choose_takes_the_majority():
    samples = [encode(w, "vni") for w in WORDS]
    assert choose(samples) == "vni"
    assert choose([encode(w, "tcvn3") for w in WORDS]) == "tcvn3"


def test_mixed_and_nonsense_values_are_named():
    values = [encode(w, "vni").decode("latin-1") for w in WORDS[:4]]
    values += [encode("Cầu Giấy", "tcvn3").decode("latin-1"), "\x81\x8d\x8f\x90 \xff"]
    out, encoding, problems = decode_texts(values, [f"row {i}" for i in range(6)], "ten")
    assert encoding == "vni" and out[:4] == WORDS[:4]
    assert len(problems) == 2
    assert problems[0].startswith("row 4: ten:") and "reads as TCVN3 (ABC)" in problems[0]
    assert "'Cầu Giấy'" in problems[0]
    assert problems[1].startswith("row 5: ten:") and "is not Vietnamese text" in problems[1]


# --- Shapefiles with legacy text, into land_parcels -----------------------------------

def _parcels_shapefile(path, encoding: str, names: list[str], cpg: str | None = None):
    """A Shapefile of parcels with the Vietnamese field names of cadastral exports and
    text written as ``encoding`` bytes (no .cpg, as such files usually come)."""
    to_tm3 = Transformer.from_crs("EPSG:4326", "EPSG:5897", always_xy=True)
    x, y = to_tm3.transform(*HOAN_KIEM)
    squares = [shapely.box(x + 30 * i, y, x + 30 * i + 20, y + 25) for i in range(len(names))]

    def raw(value: str) -> str:
        return encode(value, encoding).decode("latin-1")

    columns = {
        "SoTo": np.asarray([7] * len(names), dtype=np.int32),
        "SoThua": np.asarray(range(1, len(names) + 1), dtype=np.int32),
        "LoaiDat": np.asarray(["ODT"] * len(names), dtype=object),
        "DienTich": np.asarray([500.0] * len(names)),
        "ChuSuDung": np.asarray([raw(n) for n in names], dtype=object),
        "DiaChi": np.asarray([raw("Đường Láng, Đống Đa")] * len(names), dtype=object),
    }
    pyogrio.raw.write(path, shapely.to_wkb(np.asarray(squares, dtype=object)),
                      fields=list(columns), field_data=list(columns.values()),
                      crs="EPSG:5897", driver="ESRI Shapefile", geometry_type="Polygon",
                      encoding="latin1")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    if cpg:
        path.with_suffix(".cpg").write_text(cpg)
    return path


def test_vni_shapefile_loads_as_unicode(db, registry, settings, tmp_path):
    names = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Hoàng Cường"]
    shp = _parcels_shapefile(tmp_path / "thua.shp", "vni", names)
    summary = load_vector(db, registry, "land_parcels", shp, extent=settings.plausible_extent)
    assert summary.loaded == 3
    assert any("VNI" in note for note in summary.notes)
    with db.connect() as conn:
        got = conn.execute(text("SELECT map_sheet, parcel_no, land_use, owner_name, address "
                                "FROM land_parcels ORDER BY parcel_no")).all()
    assert [tuple(r) for r in got] == [(7, i + 1, "ODT", n, "Đường Láng, Đống Đa")
                                       for i, n in enumerate(names)]
    assert all(unicodedata.is_normalized("NFC", r[3]) for r in got)


def test_encoding_is_forced_and_utf8_still_reads(db, registry, settings, tmp_path):
    shp = _parcels_shapefile(tmp_path / "a.shp", "tcvn3", ["Phạm Văn Đồng"])
    summary = load_vector(db, registry, "land_parcels", shp, extent=settings.plausible_extent,
                          options=_options(encoding="ABC"))
    assert summary.loaded == 1
    utf8 = _parcels_shapefile(tmp_path / "b.shp", "utf-8", ["Võ Thị Sáu"], cpg="UTF-8")
    load_vector(db, registry, "land_parcels", utf8, extent=settings.plausible_extent,
                mode="upsert", id_column="SoThua")
    with db.connect() as conn:
        owners = conn.execute(text("SELECT owner_name FROM land_parcels ORDER BY id")).scalars()
        assert list(owners) == ["Phạm Văn Đồng", "Võ Thị Sáu"]


def _options(**kw):
    from twin.ingest.sources import SourceOptions

    return SourceOptions(**kw)


def test_mixed_encoding_file_is_refused_with_column_and_row(db, registry, settings, tmp_path):
    shp = _parcels_shapefile(tmp_path / "mixed.shp", "vni",
                             ["Nguyễn Văn An", "Trần Thị Bình", "Đỗ Mười"])
    # rewrite the third owner in TCVN3: a file put together from two sources
    data = pyogrio.raw.read(shp, encoding="latin1")
    owners = data[3][list(data[0]["fields"]).index("ChuSuDung")]
    owners[2] = encode("Đỗ Mười", "tcvn3").decode("latin-1")
    pyogrio.raw.write(shp, data[2], fields=list(data[0]["fields"]), field_data=data[3],
                      crs="EPSG:5897", driver="ESRI Shapefile", geometry_type="Polygon",
                      encoding="latin1")
    with pytest.raises(LoadError) as err:
        load_vector(db, registry, "land_parcels", shp, extent=settings.plausible_extent)
    message = str(err.value)
    assert "mixes encodings; most of it is VNI" in message
    assert "feature 2: column 'ChuSuDung':" in message and "TCVN3 (ABC)" in message
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM land_parcels")).scalar() == 0


def test_nonsense_bytes_are_refused(db, registry, settings, tmp_path):
    shp = _parcels_shapefile(tmp_path / "junk.shp", "vni", ["Nguyễn Văn An", "Lê Lợi"])
    data = pyogrio.raw.read(shp, encoding="latin1")
    fields = list(data[0]["fields"])
    data[3][fields.index("DiaChi")][1] = "\x81\x8d\x8f\x90 \xff\xfe"
    pyogrio.raw.write(shp, data[2], fields=fields, field_data=data[3], crs="EPSG:5897",
                      driver="ESRI Shapefile", geometry_type="Polygon", encoding="latin1")
    with pytest.raises(LoadError) as err:
        load_vector(db, registry, "land_parcels", shp, extent=settings.plausible_extent)
    assert "feature 1: column 'DiaChi':" in str(err.value)
    assert "is not Vietnamese text in UTF-8, TCVN3 (ABC), VNI, Windows-1258" in str(err.value)


def test_zipped_shapefile_in_utf8_is_unchanged(db, registry, settings, tmp_path):
    shp = _parcels_shapefile(tmp_path / "u.shp", "utf-8", ["Võ Nguyên Giáp"], cpg="UTF-8")
    summary = load_vector(db, registry, "land_parcels", zip_shapefile(shp, tmp_path / "u.zip"),
                          extent=settings.plausible_extent)
    assert summary.loaded == 1 and not any("converted" in n for n in summary.notes)
    with db.connect() as conn:
        assert conn.execute(text("SELECT owner_name FROM land_parcels")).scalar() == \
            "Võ Nguyên Giáp"


def test_csv_in_a_legacy_encoding_needs_encoding(db, registry, settings, tmp_path):
    path = tmp_path / "roads.csv"
    path.write_bytes(b"id,name,road_class,wkt\n"
                     + b"a," + encode("Đường Láng", "cp1258")
                     + b",primary,\"LINESTRING(105.80 21.00, 105.81 21.01)\"\n")
    with pytest.raises(LoadError, match="not UTF-8 text: byte 0xd0 at line 2"):
        load_vector(db, registry, "road_segments", path, extent=settings.plausible_extent)
    with pytest.raises(LoadError, match="unknown encoding 'klingon'"):
        load_vector(db, registry, "road_segments", path, extent=settings.plausible_extent,
                    options=_options(encoding="klingon"))
    summary = load_vector(db, registry, "road_segments", path, extent=settings.plausible_extent,
                          options=_options(encoding="windows-1258"))
    assert summary.loaded == 1
    with db.connect() as conn:
        assert conn.execute(text("SELECT name FROM road_segments")).scalar() == "Đường Láng"
