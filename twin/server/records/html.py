"""The catalogue's HTML pages: a searchable list of records and one record in full.
Every value is escaped; texts are in the language the request negotiated."""

from __future__ import annotations

import html
import json

WORDS = {
    "vi": {"search": "Tìm", "type": "Loại", "owner": "Đơn vị sở hữu", "updated":
           "Cập nhật lần cuối", "overdue": "QUÁ HẠN cập nhật", "current": "đúng hạn",
           "features": "Số đối tượng", "links": "Truy cập", "licence": "Giấy phép",
           "frequency": "Tần suất cập nhật", "record": "Bản ghi đầy đủ (JSON)",
           "lineage": "Lịch sử nạp dữ liệu", "found": "bản ghi"},
    "en": {"search": "Search", "type": "Type", "owner": "Owner", "updated": "Last change",
           "overdue": "OVERDUE", "current": "current", "features": "Features",
           "links": "Access", "licence": "Licence", "frequency": "Update frequency",
           "record": "Full record (JSON)", "lineage": "Loads", "found": "records"},
}


def _e(value) -> str:
    return html.escape("" if value is None else str(value))


def _page(title: str, body: str, lang: str) -> str:
    return (f"<!DOCTYPE html><html lang='{_e(lang)}'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{_e(title)}</title><style>body{{font-family:sans-serif;max-width:60em;"
            f"margin:auto;padding:1em}} .overdue{{color:#b00;font-weight:bold}} "
            f"dt{{font-weight:bold}} article{{border-bottom:1px solid #ccc;padding:.5em 0}}"
            f"</style></head><body>{body}</body></html>")


def _summary(record: dict, w: dict, href: str) -> str:
    p = record["properties"]
    fresh = p.get("freshness") or {}
    state = (f"<span class='overdue'>{w['overdue']}</span>" if fresh.get("overdue")
             else w["current"])
    count = (p.get("quality") or {}).get("features")
    return (f"<article><h2><a href='{_e(href)}'>{_e(p['title'])}</a></h2>"
            f"<p>{_e(p['description'])}</p><p>{w['type']}: {_e(p['type'])} · "
            f"{w['owner']}: {_e(p.get('owner'))} · {w['updated']}: "
            f"{_e(fresh.get('lastChange'))} ({state})"
            + (f" · {w['features']}: {_e(count)}" if count is not None else "")
            + f"</p><p>{_e(', '.join(p.get('keywords', [])))}</p></article>")


def records_page(title: str, records: list[dict], matched: int, links: list[dict],
                 query: str, lang: str, item_url) -> str:
    w = WORDS.get(lang, WORDS["en"])
    nav = "".join(f"<a href='{_e(link['href'])}'>{_e(link['rel'])}</a> "
                  for link in links if link["rel"] in ("prev", "next"))
    body = (f"<h1>{_e(title)}</h1><form method='get'><input name='q' value='{_e(query)}'>"
            f"<input type='hidden' name='f' value='html'><button>{w['search']}</button>"
            f"</form><p>{matched} {w['found']}</p>"
            + "".join(_summary(r, w, item_url(r["id"])) for r in records)
            + f"<nav>{nav}</nav>")
    return _page(title, body, lang)


def record_page(record: dict, lang: str, json_url: str) -> str:
    w = WORDS.get(lang, WORDS["en"])
    p = record["properties"]
    fresh = p.get("freshness") or {}
    facts = [(w["type"], p["type"]), (w["owner"], p.get("owner")),
             (w["licence"], p.get("license")), (w["frequency"], p.get("updateFrequency")),
             (w["updated"], fresh.get("lastChange")),
             (w["features"], (p.get("quality") or {}).get("features"))]
    dl = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts if v is not None)
    if fresh.get("overdue"):
        dl += f"<dt class='overdue'>{w['overdue']}</dt><dd>{_e(fresh.get('dueBy'))}</dd>"
    links = "".join(f"<li><a href='{_e(link['href'])}'>{_e(link.get('title') or link['rel'])}"
                    f"</a> ({_e(link.get('type'))})</li>" for link in record["links"])
    loads = (p.get("lineage") or {}).get("loads") or []
    lineage = "".join(f"<li>{_e(ld['finished'])}: {_e(ld['source'])} ({_e(ld['mode'])}) "
                      f"{_e(ld['loaded'])} / {_e(ld['repaired'])} / {_e(ld['refused'])}</li>"
                      for ld in loads)
    body = (f"<h1>{_e(p['title'])}</h1><p>{_e(p['description'])}</p><dl>{dl}</dl>"
            f"<h2>{w['links']}</h2><ul>{links}</ul>"
            + (f"<h2>{w['lineage']}</h2><ul>{lineage}</ul>" if lineage else "")
            + f"<p><a href='{_e(json_url)}'>{w['record']}</a></p>"
            f"<pre>{_e(json.dumps(p.get('contacts', []), ensure_ascii=False, indent=1))}</pre>")
    return _page(p["title"], body, lang)


CSV_COLUMNS = ("id", "type", "title", "owner", "license", "updateFrequency", "lastChange",
               "overdue", "features", "description")


def records_csv(records: list[dict]) -> str:
    """One row per record (spreadsheet-safe text cells)."""
    import csv
    import io

    from twin.server.params.csvsafe import text_cell

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in records:
        p = r["properties"]
        fresh = p.get("freshness") or {}
        row = [r["id"], p["type"], p["title"], p.get("owner"), p.get("license"),
               p.get("updateFrequency"), fresh.get("lastChange"), fresh.get("overdue"),
               (p.get("quality") or {}).get("features"), p.get("description")]
        writer.writerow(["" if v is None else text_cell(str(v)) if isinstance(v, str) else v
                         for v in row])
    return out.getvalue()


def queryables_page(doc: dict) -> str:
    rows = "".join(f"<tr><td>{_e(name)}</td><td>{_e(spec.get('type'))}</td>"
                   f"<td>{_e(spec.get('description', ''))}</td></tr>"
                   for name, spec in doc["properties"].items())
    return _page("catalogue: queryables", "<h1>catalogue: queryables</h1><table><tbody>"
                 f"{rows}</tbody></table>", "en")
