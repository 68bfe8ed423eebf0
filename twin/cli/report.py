"""``twin report``: a district's map report as a PDF or an HTML page."""

from __future__ import annotations

from pathlib import Path

import click

from twin.cli.context import AppContext, handle_errors


@click.command("report")
@click.option("--area", required=True, help='Area name from either administrative map '
              '(the districts and wards until 30 June 2025, the wards and communes since), '
              'e.g. "Hoàn Kiếm" or "Phường Cửa Nam" (diacritics and case optional).')
@click.option("--from", "start", required=True, help="First day, YYYY-MM-DD (local time).")
@click.option("--to", "end", required=True, help="Last day, YYYY-MM-DD (inclusive).")
@click.option("--topics", default="assets,air,flood,alerts", show_default=True,
              help="Comma-separated topics: assets, air, flood, alerts.")
@click.option("--format", "fmt", type=click.Choice(["pdf", "html"]), default=None,
              help="Output format (default: from the output file's suffix, else pdf).")
@click.option("--paper", type=click.Choice(["a4", "a3"]), default="a4", show_default=True,
              help="PDF paper size (landscape).")
@click.option("--lang", type=click.Choice(["vi", "en"]), default=None,
              help="Language of the report (default: the city profile's, Vietnamese for "
                   "Hà Nội).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              required=True, help="File to write.")
@click.pass_obj
@handle_errors
def report(app: AppContext, area: str, start: str, end: str, topics: str, fmt: str | None,
           paper: str, lang: str | None, output: Path) -> None:
    """Write a map report on one district or ward over a period."""
    import psycopg

    from twin.i18n import LANGUAGES
    from twin.reports.areas import resolve_area
    from twin.reports.build import build_report
    from twin.reports.request import ReportError, parse_request
    from twin.server.db import libpq_url

    fmt = fmt or ("html" if output.suffix.lower() in (".html", ".htm") else "pdf")
    try:
        city = app.settings.city
        request = parse_request({"area": area, "from": start, "to": end, "topics": topics,
                                 "format": fmt, "paper": paper, "lang": lang}, city.timezone,
                                city.language, {code: city.title(code) for code in LANGUAGES})
        with psycopg.connect(libpq_url(app.url), autocommit=True) as conn:
            body = build_report(conn, request)
            area = resolve_area(conn, request.area, request.start, request.end,
                                request.language)
    except ReportError as exc:
        raise click.ClickException(str(exc)) from None
    output.write_bytes(body)
    click.echo(f"wrote {output} ({len(body) / 1e6:.1f} MB, {request.format.value}, "
               f"{request.language}, {', '.join(t.value for t in request.topics)}): "
               f"{area.label_in(request.language)}")
    if area.map_note:
        click.echo(area.map_note)


def register(main: click.Group) -> None:
    main.add_command(report)
