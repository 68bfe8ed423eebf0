"""Error descriptions in Vietnamese: a catalogue of the messages twin raises, applied at
the one point every OGC exception document is rendered (:func:`twin.server.errors.problem`).

Routes keep raising errors with English descriptions (the wording API clients, logs and
tests know); when the request's language is Vietnamese, :func:`localise` rewrites the
description through :data:`RULES`: an anchored pattern of one English message, its values
(names, numbers, ids, which stay as given) carried over into the Vietnamese sentence. A
description made of clauses joined by ``; `` is translated clause by clause. A message
no rule knows stays as raised (English): the catalogue covers the errors users meet most
(unknown collection, feature or parameter; bad bbox, datetime, CRS, limit, format or
filter; credentials and rights; sizes, rates, conflicts and versions; the server's own).

Adding a message: add a rule next to the others of its kind (the test in
``tests/test_i18n.py`` checks that the common errors come out with no English sentence).
"""

from __future__ import annotations

import re
from collections.abc import Callable

# What a CQL2 operand is (twin.server.features.cql_types), as the Vietnamese sentence
# names it.
KINDS = {
    "a string": "một chuỗi", "a number": "một số", "a boolean": "một giá trị logic",
    "a date": "một ngày", "a timestamp": "một thời điểm", "a geometry": "một hình học",
    "an interval": "một khoảng thời gian", "a list": "một danh sách", "NULL": "NULL",
    "a list of strings": "một danh sách chuỗi",
}
TYPES = {"string": "chuỗi", "integer": "số nguyên", "number": "số", "boolean": "logic",
         "date": "ngày", "datetime": "ngày giờ", "string_list": "danh sách chuỗi"}
HINTS = {
    " (compare geometries with S_INTERSECTS, S_EQUALS or another spatial function)":
        " (so sánh hình học bằng S_INTERSECTS, S_EQUALS hoặc một hàm không gian khác)",
    " (intervals belong to temporal functions such as T_DURING, which this server does "
    "not support)":
        " (khoảng thời gian chỉ dùng trong các hàm thời gian như T_DURING, máy chủ này "
        "không hỗ trợ)",
    " (to test several values, write IN ('a', 'b'))":
        " (để kiểm tra nhiều giá trị, viết IN ('a', 'b'))",
    " (write DATE('2024-01-31') or TIMESTAMP('2024-01-31T00:00:00Z'))":
        " (viết DATE('2024-01-31') hoặc TIMESTAMP('2024-01-31T00:00:00Z'))",
    " (write numbers without quotes)": " (viết số không có dấu nháy)",
    " (write text in single quotes, e.g. 'ODT')": " (viết văn bản trong dấu nháy đơn, ví dụ 'ODT')",
    "": "",
}
VERBS = {"compared with": "so sánh với"}

def _kind(text: str) -> str:
    """``a string`` → ``một chuỗi``; ``name (a string)`` → ``name (một chuỗi)``."""
    m = re.fullmatch(r"(.+) \((an? [a-z ]+)\)", text)
    if m and m.group(2) in KINDS:
        return f"{m.group(1)} ({KINDS[m.group(2)]})"
    return KINDS.get(text, text)


def _types(name: str) -> str:
    return TYPES.get(name, name)


_P = r"(?P<p>[\w-]+)"   # a parameter's name
Rule = tuple[str, str | Callable[[re.Match], str | None]]


def _split_hint(rest: str) -> tuple[str, str]:
    """``what (hint)`` → (what, the hint in Vietnamese); no known hint: (rest, "")."""
    for english, vietnamese in HINTS.items():
        if english and rest.endswith(english):
            return rest[: -len(english)], vietnamese
    return rest, ""


def _mismatch(m: re.Match) -> str | None:
    other, hint = _split_hint(m.group("o"))
    verb = VERBS.get(m.group("v"))
    if verb is None:
        return None
    return f"filter: {m.group('l')} là {_kind(m.group('k'))}; không thể {verb} {_kind(other)}{hint}"


def _bare_mismatch(m: re.Match) -> str:
    other, hint = _split_hint(m.group("o"))
    return f"filter: {_kind(m.group('k'))} không thể {VERBS[m.group('v')]} {_kind(other)}{hint}"


def _compares(m: re.Match) -> str | None:
    hint = HINTS.get(m.group("h"))
    if hint is None:
        return None
    return (f"filter: {_kind(m.group('l'))} là {_kind(m.group('k'))}; {m.group('w')} chỉ so "
            f"sánh chuỗi, số, giá trị logic, ngày và thời điểm{hint}")


RULES: tuple[Rule, ...] = (
    # --- not found -------------------------------------------------------------------
    (r"collection (?P<c>.+) not found", "không tìm thấy tập dữ liệu {c}"),
    (r"item (?P<i>.+) not found in (?P<c>\S+)", "không tìm thấy đối tượng {i} trong {c}"),
    (r"Collection not found", "không tìm thấy tập dữ liệu"),
    (r"Not Found", "không tìm thấy tài nguyên này"),
    (r"Method Not Allowed", "phương thức không được phép trên tài nguyên này"),
    # --- parameters ------------------------------------------------------------------
    (r"unknown parameter (?P<k>.+?): not a standard parameter nor a queryable of (?P<c>\S+)",
     "tham số {k} không xác định: không phải tham số chuẩn, cũng không phải thuộc tính "
     "truy vấn được của {c}"),
    (r"unknown parameter\(s\) (?P<k>.+)", "tham số không xác định: {k}"),
    (r"(?P<k>.+?): not a parameter of (?P<of>.+?); it takes (?P<a>.+)",
     "{k}: không phải tham số của {of}; các tham số được nhận: {a}"),
    (r"limit: (?P<v>\S+) is not a page size \(1 or more\)",
     "limit: {v} không phải kích thước trang (từ 1 trở lên)"),
    (_P + r": (?P<v>.+) is not an integer", "{p}: {v} không phải số nguyên"),
    (_P + r": (?P<v>\S+) is outside (?P<r>\S+)", "{p}: {v} nằm ngoài khoảng {r}"),
    (r"f: (?P<v>.+) is not one of (?P<a>.+)", "f: {v} không phải một trong các định dạng {a}"),
    (r"sortby: (?P<v>.+) is not a sortable property; one of (?P<a>.+)",
     "sortby: {v} không phải thuộc tính sắp xếp được; chọn một trong {a}"),
    (r"properties: unknown (?P<v>.+); one of (?P<a>.+)",
     "properties: không có thuộc tính {v}; chọn trong {a}"),
    (r"(?P<w>[\w.-]+): (?P<v>.+) is not a valid (?P<t>\w+)",
     lambda m: f"{m['w']}: {m['v']} không phải giá trị {_types(m['t'])} hợp lệ"),
    (r"cursor: not a cursor this server issued; follow the 'next' link as given",
     "cursor: không phải con trỏ trang do máy chủ này cấp; hãy dùng nguyên liên kết 'next'"),
    (r"bbox-crs given without bbox", "có bbox-crs nhưng thiếu bbox"),
    (r"skipGeometry: use true or false", "skipGeometry: dùng true hoặc false"),
    (r"filter-lang: use cql2-text or cql2-json", "filter-lang: dùng cql2-text hoặc cql2-json"),
    (r"the request holds a NUL byte \(%00\), which no path or parameter may contain",
     "yêu cầu chứa byte NUL (%00), không đường dẫn hay tham số nào được phép chứa"),
    # --- bbox ------------------------------------------------------------------------
    (r"bbox: (?P<v>.+) must be 4 or 6 comma-separated numbers",
     "bbox: {v} phải gồm 4 hoặc 6 số, cách nhau bằng dấu phẩy"),
    (r"bbox: (?P<v>.+) must be 4 or 6 finite numbers", "bbox: {v} phải gồm 4 hoặc 6 số hữu hạn"),
    (r"bbox: the lower corner must come before the upper corner",
     "bbox: góc dưới phải đứng trước góc trên"),
    (_P + r": (?P<v>\S+) is not a box in (?P<n>.+?): latitudes must be within ±90 and "
     r"longitudes within ±180, in the order (?P<o>[a-z,]+)(?P<h>; the axes look swapped)?",
     lambda m: (f"{m['p']}: {m['v']} không phải một hình chữ nhật trong {m['n']}: vĩ độ phải "
                f"trong khoảng ±90 và kinh độ trong khoảng ±180, theo thứ tự {m['o']}"
                + ("; có vẻ hai trục bị đảo" if m["h"] else ""))),
    (_P + r": (?P<v>\S+) lies outside (?P<n>.+?)'s area of use \(within (?P<b>\S+) in x,y\); "
     r"is the bbox-crs right, or were longitude/latitude meant \(CRS84, the default\)\?",
     "{p}: {v} nằm ngoài phạm vi sử dụng của {n} (trong {b} theo x,y); bbox-crs có đúng "
     "không, hay ý bạn là kinh độ/vĩ độ (CRS84, mặc định)?"),
    # --- datetime --------------------------------------------------------------------
    (r"datetime: (?P<v>.+) is not an RFC 3339 date or date-time",
     "datetime: {v} không phải ngày hoặc ngày giờ theo RFC 3339"),
    (r"datetime: (?P<v>.+) is out of range", "datetime: {v} nằm ngoài phạm vi cho phép"),
    (r"datetime: an instant cannot be open \('\.\.'\)",
     "datetime: một thời điểm không thể để mở ('..')"),
    (r"datetime: '\.\./\.\.' is not an interval; leave datetime out",
     "datetime: '../..' không phải một khoảng thời gian; hãy bỏ tham số datetime"),
    (r"datetime: the interval ends before it starts",
     "datetime: khoảng thời gian kết thúc trước khi bắt đầu"),
    (r"datetime: collection (?P<c>\S+) has no time dimension",
     "datetime: tập dữ liệu {c} không có chiều thời gian"),
    # --- CRS -------------------------------------------------------------------------
    (_P + r": (?P<v>.+) is not a CRS URI such as (?P<u>\S+)",
     "{p}: {v} không phải URI của một hệ tọa độ, ví dụ {u}"),
    (_P + r": (?P<v>.+) is not offered by this collection; supported: (?P<s>.+)",
     "{p}: tập dữ liệu này không cung cấp {v}; các hệ tọa độ được hỗ trợ: {s}"),
    (_P + r": unknown CRS (?P<v>.+)", "{p}: hệ tọa độ không xác định {v}"),
    (_P + r": (?P<v>.+) is not a CRS this server knows \(a URI, EPSG:n or CRS84\)",
     "{p}: máy chủ không biết hệ tọa độ {v} (dùng URI, EPSG:n hoặc CRS84)"),
    # --- CQL2 filters ----------------------------------------------------------------
    (r"filter: not valid (?P<l>cql2-[a-z]+): the filter ends too early",
     "filter: không phải {l} hợp lệ: bộ lọc kết thúc quá sớm"),
    (r"filter: not valid (?P<l>cql2-[a-z]+): unexpected (?P<t>.+) at line (?P<r>\d+), "
     r"column (?P<c>\d+)(?P<x> \(a property name, a literal or an operator was expected\))?",
     lambda m: (f"filter: không phải {m['l']} hợp lệ: gặp {m['t']} không mong đợi tại dòng "
                f"{m['r']}, cột {m['c']}"
                + (" (cần tên thuộc tính, giá trị hoặc toán tử)" if m["x"] else ""))),
    (r"filter: not valid (?P<l>cql2-[a-z]+): .+",
     "filter: không phải {l} hợp lệ (sai cú pháp hoặc sai giá trị)"),
    (r"filter: (?P<n>.+?) is not a queryable; see /queryables \((?P<a>.*)\)",
     "filter: {n} không phải thuộc tính truy vấn được; xem /queryables ({a})"),
    (r"filter: must be a condition \(true or false\)",
     "filter: phải là một điều kiện (đúng hoặc sai)"),
    (r"filter: cannot be applied: an operator has arguments of the wrong number or kind",
     "filter: không áp dụng được: một toán tử có đối số sai số lượng hoặc sai kiểu"),
    (r"filter: (?P<l>[\w.]+) is (?P<k>an? [a-z ]+|NULL); it cannot be (?P<v>compared with) "
     r"(?P<o>.+)", _mismatch),
    (r"filter: (?P<k>an? [a-z ]+|NULL) cannot be (?P<v>compared with) (?P<o>.+)",
     _bare_mismatch),
    (r"filter: (?P<l>.+?) is (?P<k>an? [a-z ]+|NULL); (?P<w>.+?) compares strings, numbers, "
     r"booleans, dates and timestamps(?P<h>( \(.+\))?)", _compares),
    (r"filter: (?P<l>.+?) is (?P<k>an? [a-z ]+|NULL); (?P<w>.+?) takes a string",
     lambda m: f"filter: {_kind(m['l'])} là {_kind(m['k'])}; {m['w']} chỉ nhận chuỗi"),
    (r"filter: (?P<o>\S+) compares geometries; (?P<s>.+?) is (?P<k>an? [a-z ]+|NULL)",
     lambda m: f"filter: {m['o']} so sánh các hình học; {_kind(m['s'])} là {_kind(m['k'])}"),
    (r"filter: longer than (?P<n>\d+) characters", "filter: dài hơn {n} ký tự"),
    (r"filter: nested deeper than (?P<n>\d+) levels", "filter: lồng nhau sâu quá {n} cấp"),
    (r"filter: function (?P<f>.+) is not supported", "filter: không hỗ trợ hàm {f}"),
    (r"filter: LIKE takes a pattern in quotes, e\.g\. name LIKE 'Phố%'",
     "filter: LIKE cần một mẫu trong dấu nháy, ví dụ name LIKE 'Phố%'"),
    (r"filter: IN needs at least one value", "filter: IN cần ít nhất một giá trị"),
    # --- credentials and rights ------------------------------------------------------
    (r"editing (?P<c>\S+) needs credentials: an API key \(X-API-Key, or as the password of "
     r"HTTP Basic\) or a bearer token",
     "cần đăng nhập để chỉnh sửa {c}: một khóa API (X-API-Key, hoặc làm mật khẩu của "
     "HTTP Basic) hoặc một bearer token"),
    (r"(?P<c>\S+) may be edited by (?P<r>.+?); (?P<w>.+) may only read it",
     "{c} chỉ được chỉnh sửa bởi {r}; {w} chỉ được đọc"),
    (r"unknown or revoked API key", "khóa API không tồn tại hoặc đã bị thu hồi"),
    (r"expired API key", "khóa API đã hết hạn"),
    (r"malformed API key: expected twin_<prefix>_<secret>",
     "khóa API sai định dạng: cần dạng twin_<prefix>_<secret>"),
    (r"expired token", "token đã hết hạn"),
    (r"malformed token", "token sai định dạng"),
    (r"invalid token", "token không hợp lệ"),
    (r"bad signature", "chữ ký của token không hợp lệ"),
    (r"bearer tokens are not configured on this server",
     "máy chủ này không cấu hình bearer token"),
    (r"process (?P<p>'.*?') stores data and needs a signed-in caller with the role "
     r"(?P<r>.+?); send an API key \(X-API-Key\) or a bearer token",
     "tiến trình {p} lưu dữ liệu nên cần người gọi đã đăng nhập có vai trò {r}; hãy gửi "
     "khóa API (X-API-Key) hoặc bearer token"),
    (r"process (?P<p>'.*?') needs the role (?P<r>.+?); you have (?P<h>.*)",
     "tiến trình {p} cần vai trò {r}; bạn có vai trò: {h}"),
    (r"this feature of (?P<c>\S+) belongs to (?P<o>.+?); (?P<a>.+) may edit only its own",
     "đối tượng này của {c} thuộc về {o}; {a} chỉ được chỉnh sửa đối tượng của mình"),
    (r"(?P<c>\S+) is edited per agency \((?P<s>.+?)\); your credentials name no agency",
     "{c} được chỉnh sửa theo từng cơ quan ({s}); thông tin đăng nhập của bạn không nêu "
     "cơ quan nào"),
    # --- sizes, rates ----------------------------------------------------------------
    (r"the body is larger than (?P<s>\d+ [KM]iB)", "nội dung yêu cầu lớn hơn {s}"),
    (r"send fewer features per request", "hãy gửi ít đối tượng hơn trong mỗi yêu cầu"),
    (r"split it into several requests", "hãy chia thành nhiều yêu cầu"),
    (r"you have (?P<n>\d+) process executions running",
     "bạn đang có {n} lượt chạy tiến trình"),
    (r"at most (?P<m>\d+) at once: wait for one to finish",
     "tối đa {m} lượt cùng lúc: hãy chờ một lượt kết thúc"),
    (r"at most (?P<r>\d+) process executions a minute",
     "tối đa {r} lượt chạy tiến trình mỗi phút"),
    (r"retry in a minute", "hãy thử lại sau một phút"),
    (r"the job queue is full \((?P<n>\d+) jobs waiting or running\)",
     "hàng đợi công việc đã đầy ({n} công việc đang chờ hoặc đang chạy)"),
    (r"retry later", "hãy thử lại sau"),
    # --- conflicts, versions, media --------------------------------------------------
    (r"a feature with id (?P<i>.+?) already exists in (?P<c>\S+)",
     "đã có đối tượng mang mã {i} trong {c}"),
    (r"leave id out to have one assigned", "bỏ trống id để được cấp mã tự động"),
    (r"a feature with this id already exists in (?P<c>\S+)",
     "đã có đối tượng mang mã này trong {c}"),
    (r"the feature is referenced by other data \((?P<t>.+?)\) and cannot be deleted or "
     r"changed that way",
     "đối tượng đang được dữ liệu khác tham chiếu ({t}) nên không thể xóa hoặc thay đổi "
     "theo cách đó"),
    (r"If-Match (?P<e>.+?) is not the current version (?P<c>\S+): the feature was changed "
     r"since you read it", "If-Match {e} không phải phiên bản hiện tại {c}: đối tượng đã "
     "bị thay đổi kể từ khi bạn đọc"),
    (r"GET it again, re-apply your change and send its new ETag",
     "hãy GET lại, áp dụng lại thay đổi và gửi ETag mới"),
    (r"(?P<c>\S+) is derived from other tables and is read-only",
     "{c} được suy ra từ các bảng khác nên chỉ đọc"),
    (r"send GeoJSON \(Content-Type: application/geo\+json\), not (?P<m>.+)",
     "hãy gửi GeoJSON (Content-Type: application/geo+json), không phải {m}"),
    # --- the server ------------------------------------------------------------------
    (r"the database is unavailable", "cơ sở dữ liệu tạm thời không truy cập được"),
    (r"retry shortly", "vui lòng thử lại sau giây lát"),
    (r"internal error", "lỗi nội bộ"),
    (r"it has been logged", "sự cố đã được ghi nhận"),
)

_COMPILED = tuple((re.compile(pattern, re.DOTALL), out) for pattern, out in RULES)


def translate(text: str) -> str | None:
    """The Vietnamese of one message or clause, or None when no rule knows it."""
    for pattern, out in _COMPILED:
        m = pattern.fullmatch(text)
        if m is None:
            continue
        said = out(m) if callable(out) else out.format(**{
            k: v or "" for k, v in m.groupdict().items()})
        if said is not None:
            return said
    return None


def localise(description: str, lang: str | None) -> str:
    """``description`` in ``lang``: unchanged unless Vietnamese; then the catalogue's
    sentence (clause by clause), or the description as raised when no rule knows it."""
    if lang != "vi" or not description:
        return description
    whole = translate(description)
    if whole is not None:
        return whole
    clauses = description.split("; ")
    said = [translate(c) for c in clauses]
    if len(clauses) > 1 and all(s is not None for s in said):
        return "; ".join(s for s in said if s is not None)
    return description


__all__ = ["RULES", "localise", "translate"]
