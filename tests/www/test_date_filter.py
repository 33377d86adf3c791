"""The `date` filter of the templates (casework/templatetags/dates.py) writes what Django's writes."""

import datetime
import zoneinfo

import pytest
from django.template import Context, Engine, engines
from django.utils import timezone, translation

from www.templatetags import dates

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
VALUES = [
    datetime.date(2026, 1, 2),
    datetime.date(987, 12, 31),  # a year of three digits: Django pads it to four
    datetime.datetime(2026, 3, 29, 1, 59, 7, tzinfo=datetime.UTC),  # the night summer time starts in Paris
    datetime.datetime(2026, 10, 25, 0, 30, tzinfo=datetime.UTC),  # and the night it ends
    datetime.datetime(2026, 12, 31, 23, 5, 9, 123456, tzinfo=datetime.UTC),  # a year later in Paris
    datetime.datetime(2026, 7, 14, 9, 3),  # noqa: DTZ001 (a naive datetime, on purpose)
    None,
    "",
    "pas une date",
    0,
]
FORMATS = [
    "d/m/Y",
    "d/m/Y H:i",
    "d/m/Y à H:i",
    "d/m/Y H:i:s",
    "d/m/Y H:i:s.u",
    "Y-m-d",
    "c",
    "l j F Y",
    r"d/m/Y \à H:i",
    "{d}/{m}",
    "DATE_FORMAT",
    "SHORT_DATE_FORMAT",
    "",
]


def render(engine, value, format_string):
    template = engine.from_string("{{ value|date:format }}|{{ value|date }}")
    return template.render(Context({"value": value, "format": format_string}))


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("value", VALUES, ids=repr)
@pytest.mark.parametrize("format_string", FORMATS)
def test_the_output_is_djangos(value, format_string, language):
    django_engine = Engine()  # Django's builtins only
    ours = engines["django"].engine
    assert "www.templatetags.dates" in ours.builtins
    with translation.override(language), timezone.override(PARIS):
        try:
            expected = render(django_engine, value, format_string)
        except TypeError as error:  # Django refuses a time specifier for a date: so does the filter
            with pytest.raises(TypeError, match=str(error)[:40]):
                render(ours, value, format_string)
            return
        assert render(ours, value, format_string) == expected


def test_the_fast_path_writes_the_numeric_formats():
    assert dates._compiled("d/m/Y à H:i") == (
        "{0.day:02d}/{0.month:02d}/{0.year:04d} à {0.hour:02d}:{0.minute:02d}",
        True,
    )
    assert dates._compiled("d/m/Y") == ("{0.day:02d}/{0.month:02d}/{0.year:04d}", False)
    assert dates._compiled("j F Y") is None and dates._compiled(r"\d") is None and dates._compiled("c") is None


def test_an_aware_datetime_is_shown_in_the_local_time():
    moment = datetime.datetime(2026, 12, 31, 23, 5, tzinfo=datetime.UTC)
    with timezone.override(PARIS):
        assert render(engines["django"].engine, moment, "d/m/Y à H:i").startswith("01/01/2027 à 00:05|")
