"""The PDF report (reportlab platypus): A4 or A3 landscape, DejaVu fonts embedded so
Vietnamese names print with every diacritic, text that stays selectable and searchable.

Each topic opens on a new page with its overview map and a text legend beside it; its
tables and charts follow. Every page carries the area, topic and period in its header
and the generation date and "page n of N" in its footer.
"""

from __future__ import annotations

import io
from functools import partial
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.graphics.shapes import Circle, Drawing, Line, Polygon, Rect
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A3, A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    Image,
    KeepTogether,
    PageBreak,
    PageTemplate,
    Paragraph,
    TableStyle,
)
from reportlab.platypus import Table as RLTable

from twin.i18n import content_language
from twin.reports import maps
from twin.reports.model import Report, Section, Symbol, Table
from twin.reports.request import Paper, ReportError
from twin.reports.words import brand, say

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT, BOLD = "DejaVuSans", "DejaVuSans-Bold"
INK, MUTED, ACCENT, RULE = (colors.HexColor(c) for c in
                            ("#1f2933", "#616e7c", "#1d4e89", "#cbd2d9"))
MARGIN = 12 * mm
HEADER, FOOTER = 17 * mm, 9 * mm
PAPERS = {Paper.a4: landscape(A4), Paper.a3: landscape(A3)}


def text(value: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text. reportlab reads a Paragraph's text as markup (``<img
    src>`` loads a file, ``<a href>`` makes a link); names and every other string of a
    report are text, so they are escaped here, the one way text reaches a Paragraph."""
    return Paragraph(escape(str(value)), style)


def register_fonts() -> None:
    """Embed DejaVu Sans (regular and bold): it covers Vietnamese (Latin Extended
    Additional) and ships with Debian's fonts-dejavu-core."""
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    for name, file in ((FONT, "DejaVuSans.ttf"), (BOLD, "DejaVuSans-Bold.ttf")):
        path = FONT_DIR / file
        if not path.exists():
            raise ReportError(f"{path} is missing: install the Debian package "
                              "fonts-dejavu-core (Vietnamese text needs it)")
        pdfmetrics.registerFont(TTFont(name, str(path)))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=FONT, boldItalic=BOLD)


def _styles(scale: float) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=FONT, fontSize=8.5 * scale,
                          leading=11 * scale, textColor=INK)
    return {
        "body": base,
        "h1": ParagraphStyle("h1", base, fontName=BOLD, fontSize=14 * scale,
                             leading=18 * scale, textColor=ACCENT, spaceAfter=3 * mm),
        "h2": ParagraphStyle("h2", base, fontName=BOLD, fontSize=10.5 * scale,
                             leading=14 * scale, spaceBefore=4 * mm, spaceAfter=1.5 * mm),
        "note": ParagraphStyle("note", base, fontSize=7.5 * scale, leading=9.5 * scale,
                               textColor=MUTED, spaceBefore=1 * mm),
        "cell": ParagraphStyle("cell", base, fontSize=7.5 * scale, leading=9.2 * scale),
        "cellr": ParagraphStyle("cellr", base, fontSize=7.5 * scale, leading=9.2 * scale,
                                alignment=TA_RIGHT),
        "head": ParagraphStyle("head", base, fontName=BOLD, fontSize=7.5 * scale,
                               leading=9.2 * scale, textColor=colors.white),
        "headr": ParagraphStyle("headr", base, fontName=BOLD, fontSize=7.5 * scale,
                                leading=9.2 * scale, textColor=colors.white,
                                alignment=TA_RIGHT),
        "legend": ParagraphStyle("legend", base, fontSize=7.5 * scale, leading=9 * scale,
                                 alignment=TA_LEFT),
        "legendh": ParagraphStyle("legendh", base, fontName=BOLD, fontSize=7.5 * scale,
                                  leading=9.5 * scale, spaceBefore=1.2 * mm),
        "big": ParagraphStyle("big", base, fontSize=10 * scale, leading=14 * scale),
    }


class TopicMark(Flowable):
    """Zero-size marker: the page header names the topic of the last mark laid out."""

    def __init__(self, title: str):
        super().__init__()
        self.title = title

    def wrap(self, *_):
        return 0, 0

    def draw(self):
        pass


class ReportDoc(BaseDocTemplate):
    def __init__(self, buf, report: Report, pagesize):
        lang = report.lang
        super().__init__(buf, pagesize=pagesize, leftMargin=MARGIN, rightMargin=MARGIN,
                         topMargin=MARGIN + HEADER, bottomMargin=MARGIN + FOOTER,
                         title=f"{report.area.name}: {say('map_report', lang)} "
                               f"{report.period_label}",
                         author="twin",
                         subject=f"{say('map_report', lang)} · {brand(lang, report.place)}",
                         creator="twin (reportlab)", lang=content_language(lang))
        self.report = report
        self.topic = ""
        frame = Frame(self.leftMargin, self.bottomMargin, self.width, self.height, id="body",
                      leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
        self.addPageTemplates([PageTemplate("page", [frame], onPageEnd=self._decorate)])

    def afterFlowable(self, flowable):
        if isinstance(flowable, TopicMark):
            self.topic = flowable.title

    def _decorate(self, canvas: Canvas, doc) -> None:
        """Header (area, topic, period) and footer (source, date); "page n of N" is
        added by PagedCanvas once the page count is known."""
        w, h = self.pagesize
        top = h - MARGIN
        canvas.saveState()
        canvas.setFillColor(ACCENT)
        canvas.rect(MARGIN, top - 1.2 * mm, w - 2 * MARGIN, 1.2 * mm, stroke=0, fill=1)
        canvas.setFillColor(INK)
        canvas.setFont(BOLD, 15)
        canvas.drawString(MARGIN, top - 8 * mm, self.report.title)
        canvas.setFont(FONT, 10)
        canvas.setFillColor(ACCENT)
        canvas.drawString(MARGIN, top - 13.5 * mm, f"{self.topic} · {self.report.period_label}")
        canvas.setFillColor(MUTED)
        canvas.setFont(FONT, 8)
        lang = self.report.lang
        canvas.drawRightString(w - MARGIN, top - 8 * mm,
                               f"{say('map_report', lang)} · {brand(lang, self.report.place)}")
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)
        canvas.line(MARGIN, MARGIN + FOOTER - 3 * mm, w - MARGIN, MARGIN + FOOTER - 3 * mm)
        canvas.setFont(FONT, 7)
        canvas.drawString(MARGIN, MARGIN + 1 * mm,
                          say("footer_pdf", self.report.lang, when=self.report.generated,
                              crs=say("crs", self.report.lang)))
        canvas.restoreState()


class PagedCanvas(Canvas):
    """A canvas that holds pages back until the end to write "page n of N"."""

    def __init__(self, *args, lang: str = "en", **kwargs):
        super().__init__(*args, **kwargs)
        self._pages: list[dict] = []
        self._lang = lang

    def showPage(self):
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            w, _ = self._pagesize
            self.setFont(FONT, 7)
            self.setFillColor(MUTED)
            self.drawRightString(w - MARGIN, MARGIN + 1 * mm,
                                 say("page", self._lang, n=self._pageNumber, total=total))
            super().showPage()
        super().save()


def render_pdf(report: Report, paper: Paper = Paper.a4) -> bytes:
    register_fonts()
    pagesize = PAPERS[paper]
    buf = io.BytesIO()
    doc = ReportDoc(buf, report, pagesize)
    styles = _styles(1.0 if paper is Paper.a4 else 1.2)
    story: list[Flowable] = []
    for i, section in enumerate(report.sections):
        if i:
            story.append(PageBreak())
        story += section_story(report, section, i + 1, doc, styles)
    doc.build(story, canvasmaker=partial(PagedCanvas, lang=report.lang))
    return buf.getvalue()


def section_story(report: Report, section: Section, number: int, doc: ReportDoc,
                  styles) -> list[Flowable]:
    story: list[Flowable] = [TopicMark(section.title),
                             text(f"{number}. {section.title}", styles["h1"])]
    story.append(map_block(report, section, doc, styles))
    for note in section.notes:
        story.append(text(note, styles["big"]))
    for table in section.tables:
        story.append(CondPageBreak(40 * mm))
        story += table_block(table, doc.width, styles)
    for chart in section.charts:
        story.append(chart_block(chart, doc.width, styles))
    return story


def map_block(report: Report, section: Section, doc: ReportDoc, styles) -> Flowable:
    """The map and, to its right, the legend and the map's caption."""
    legend_w = 62 * mm if doc.pagesize[0] < 1000 else 80 * mm
    map_h = doc.height - 27 * mm
    map_w = min(doc.width - legend_w - 5 * mm, map_h * maps.MAP_ASPECT)
    map_h = map_w / maps.MAP_ASPECT
    png = maps.render(report.area, report.context + section.layers,
                      (map_w / 72, map_h / 72), report.day, report.lang)
    caption = text(say("map_caption_pdf", report.lang, note=section.map_note,
                       crs=say("crs", report.lang), area=report.area.name), styles["note"])
    image = [Image(io.BytesIO(png), width=map_w, height=map_h), caption]
    side = legend_flowables(maps.legend_entries(section.layers), styles, report.lang)
    block = RLTable([[image, side]], colWidths=[map_w + 5 * mm, doc.width - map_w - 5 * mm])
    block.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))
    return block


def legend_flowables(entries: list[tuple[str, str, Symbol]], styles,
                     lang: str) -> list[Flowable]:
    out: list[Flowable] = [text(say("legend", lang), styles["h2"])]
    current = None
    rows: list[list] = []

    def flush():
        if rows:
            t = RLTable(rows, colWidths=[9 * mm, None])
            t.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                                   ("LEFTPADDING", (0, 0), (-1, -1), 0),
                                   ("TOPPADDING", (0, 0), (-1, -1), 0.3),
                                   ("BOTTOMPADDING", (0, 0), (-1, -1), 0.3)]))
            out.append(t)
            rows.clear()

    for title, kind, symbol in entries:
        if title != current:
            flush()
            out.append(text(title, styles["legendh"]))
            current = title
        rows.append([swatch(kind, symbol), text(symbol.label, styles["legend"])])
    flush()
    return out


def swatch(kind: str, symbol: Symbol) -> Drawing:
    """A small drawing of a symbol: a line, a filled box or a marker."""
    d = Drawing(8 * mm, 3.2 * mm)
    fill = colors.toColor(symbol.colour)
    edge = colors.toColor(symbol.edge) if symbol.edge else None
    if kind == "line":
        d.add(Line(0.5 * mm, 1.6 * mm, 7.5 * mm, 1.6 * mm, strokeColor=fill,
                   strokeWidth=max(symbol.size * 1.3, 1.2), strokeLineCap=1))
    elif kind == "polygon":
        d.add(Rect(1 * mm, 0.2 * mm, 6 * mm, 2.8 * mm, fillColor=fill,
                   strokeColor=edge or fill, strokeWidth=0.5))
    else:
        r = 1.3 * mm
        cx, cy = 4 * mm, 1.6 * mm
        shapes = {"s": Rect(cx - r, cy - r, 2 * r, 2 * r),
                  "^": Polygon([cx - r, cy - r, cx + r, cy - r, cx, cy + r]),
                  "D": Polygon([cx, cy - r, cx + r, cy, cx, cy + r, cx - r, cy])}
        shape = shapes.get(symbol.marker, Circle(cx, cy, r))
        shape.fillColor, shape.strokeColor, shape.strokeWidth = fill, edge or fill, 0.5
        d.add(shape)
    return d


def table_block(table: Table, width: float, styles) -> list[Flowable]:
    """A table with a dark header row repeated on each page, zebra rows and a bold
    total row; numbers right-aligned."""
    head = [text(c, styles["head" if table.alignment(i) == "L" else "headr"])
            for i, c in enumerate(table.columns)]
    body = [[text(v, styles["cell" if table.alignment(i) == "L" else "cellr"])
             for i, v in enumerate(row)] for row in table.rows]
    parts: list[Flowable] = [text(table.title, styles["h2"])]
    if body:
        t = RLTable([head, *body], repeatRows=1, hAlign="LEFT",
                    colWidths=_col_widths(table, width))
        style = [("BACKGROUND", (0, 0), (-1, 0), ACCENT),
                 ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                 ("LINEBELOW", (0, -1), (-1, -1), 0.5, RULE),
                 ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]
        style += [("BACKGROUND", (0, r), (-1, r), colors.HexColor("#f0f4f8"))
                  for r in range(2, len(body) + 1, 2)]
        if table.total:
            style += [("LINEABOVE", (0, -1), (-1, -1), 0.8, INK),
                      ("FONTNAME", (0, -1), (-1, -1), BOLD)]
            for cell in body[-1]:
                cell.style = ParagraphStyle("total", cell.style, fontName=BOLD)
        t.setStyle(TableStyle(style))
        parts.append(t)
    if table.note:
        parts.append(text(table.note, styles["note"]))
    # a short table stays with its title; a long one splits, its header repeated
    return [KeepTogether(parts)] if len(body) < 20 else parts


def _col_widths(table: Table, width: float) -> list[float] | None:
    n = len(table.columns)
    if table.align.startswith("LLLL"):       # a listing: give the text columns room
        return [0.12 * width, 0.16 * width, 0.3 * width, 0.27 * width, 0.15 * width][:n]
    first = min(0.32 * width, 70 * mm)
    rest = min((width - first) / max(n - 1, 1), 34 * mm)
    return [first] + [rest] * (n - 1)


def chart_block(chart, width: float, styles) -> Flowable:
    from PIL import Image as PILImage

    with PILImage.open(io.BytesIO(chart.png)) as img:
        w_px, h_px = img.size
    w = min(width, 250 * mm)
    h = w * h_px / w_px
    return KeepTogether([text(chart.title, styles["h2"]),
                         Image(io.BytesIO(chart.png), width=w, height=h),
                         text(chart.caption, styles["note"])])
