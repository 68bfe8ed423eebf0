"""What a report is asked for, validated once for the CLI and the ``map-report`` process.

The same pydantic model checks ``twin report`` options and the process inputs, so both
refuse the same things with the same words (STYLE: parameters as validated models).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from twin.errors import TwinInputError, validation_text
from twin.i18n import DEFAULT, day, normalise

MAX_DAYS = 366
# Reports cover the city's records, not all of the calendar (the ends of Python's and
# PostgreSQL's dates are refused here rather than overflow in a job).
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)


class Topic(StrEnum):
    assets = "assets"
    air = "air"
    flood = "flood"
    alerts = "alerts"


class Format(StrEnum):
    pdf = "pdf"
    html = "html"


class Paper(StrEnum):
    a4 = "a4"
    a3 = "a3"


class Language(StrEnum):
    vi = "vi"
    en = "en"


MEDIA_TYPES = {Format.pdf: "application/pdf", Format.html: "text/html; charset=utf-8"}


class ReportError(TwinInputError):
    """A report cannot be made as asked; the message says what to change."""


class InvalidReportRequest(ReportError):
    """An input is malformed or out of range."""


class AreaNotFound(ReportError):
    """No administrative area has the name asked for; ``suggestions`` are close names."""

    def __init__(self, name: str, suggestions: list[str]):
        hint = (f"; did you mean {', '.join(repr(s) for s in suggestions)}?"
                if suggestions else "; `twin layers` or /collections/admin_areas lists them")
        super().__init__(f"area: no district or ward is named {name!r}{hint}")
        self.name = name
        self.suggestions = suggestions


def _topics(value):
    """Topics as a list or as ``assets,air`` (the CLI and query-string form)."""
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    return value


class ReportRequest(BaseModel):
    """One report: an area by name, an inclusive period of local dates of the city's
    time zone (set by :func:`parse_request` from the city profile, never an input)."""
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    _tz: str = PrivateAttr("UTC")
    _lang: str = PrivateAttr("vi")
    _place: dict = PrivateAttr(default_factory=dict)

    area: str = Field(min_length=1, max_length=200,
                      description="District or ward name, with or without diacritics")
    start: date = Field(alias="from", description="First day of the period (inclusive)")
    end: date = Field(alias="to", description="Last day of the period (inclusive)")
    topics: Annotated[tuple[Topic, ...], BeforeValidator(_topics)] = Field(
        (Topic.assets, Topic.air, Topic.flood, Topic.alerts), min_length=1)
    format: Format = Format.pdf
    paper: Paper = Paper.a4
    lang: Language | None = Field(None, description="Language of the report: vi or en "
                                  "(default: the city profile's language)")

    @model_validator(mode="after")
    def _period(self) -> ReportRequest:
        if self.end < self.start:
            raise InvalidReportRequest(f"to ({self.end}) is before from ({self.start})")
        if self.start < FIRST_DAY or self.end > LAST_DAY:
            raise InvalidReportRequest(f"the period must lie between {FIRST_DAY} and {LAST_DAY}")
        if (self.end - self.start).days >= MAX_DAYS:
            raise InvalidReportRequest(f"the period may span at most {MAX_DAYS} days")
        if len(set(self.topics)) != len(self.topics):
            raise InvalidReportRequest("topics: each topic may be named once")
        return self

    @property
    def timezone(self) -> str:
        """The city's IANA time zone, whose days the period's dates are."""
        return self._tz

    @property
    def language(self) -> str:
        """The report's language: ``lang`` when given, else the city profile's."""
        return self.lang.value if self.lang else self._lang

    @property
    def place(self) -> str:
        """The city's name in the report's language (empty when the caller gave none)."""
        return self._place.get(self.language) or next(iter(self._place.values()), "")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self._tz)

    @property
    def begins(self) -> datetime:
        """Start of the period: local midnight of ``start``, as an aware datetime."""
        return datetime.combine(self.start, time.min, tzinfo=self.zone)

    @property
    def ends(self) -> datetime:
        """End of the period (exclusive): local midnight after ``end``."""
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=self.zone)

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]

    @property
    def period_label(self) -> str:
        """The period as the report's language writes dates (dd/mm/yyyy in Vietnamese)."""
        return f"{day(self.start, self.language)} – {day(self.end, self.language)}"


def parse_request(values: dict, tz: str = "UTC", lang: str = DEFAULT,
                  place: dict[str, str] | None = None) -> ReportRequest:
    """A ReportRequest from plain values, its dates local days of the city's zone ``tz``,
    in ``lang`` (the city profile's language) unless the values name one, the city
    called ``place`` ({language: name}); or InvalidReportRequest naming each bad input."""
    try:
        request = ReportRequest.model_validate(values)
    except ValidationError as exc:
        raise InvalidReportRequest(describe(exc)) from None
    request._tz = tz
    request._lang = normalise(lang) or DEFAULT
    request._place = dict(place or {})
    return request


def describe(exc: ValidationError) -> str:
    """Each bad input and what is wrong, in words safe for a client."""
    return validation_text(exc.errors(include_url=False), positions=False)
