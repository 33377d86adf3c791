"""Server-side SVG charts for the supervisors' dashboard: the figures and coordinates of each chart; its
markup is templates/team/includes/chart_bars.html and chart_columns.html.

Readable without colour (RGAA 3.2, 3.3): every bar carries its figure as text, the two series of the
monthly chart differ by pattern (plain and hatched) and are named in a legend, each chart has a
`<title>` and a `<desc>` (role="img"), and the page shows the same figures as a table beside it.
"""

import datetime
from dataclasses import dataclass

MONTH_ABBREVIATIONS = (
    "janv.",
    "févr.",
    "mars",
    "avr.",
    "mai",
    "juin",
    "juil.",
    "août",
    "sept.",
    "oct.",
    "nov.",
    "déc.",
)


def month_label(month: datetime.date) -> str:
    """« janv. 26 »: short enough to sit under a bar."""
    return f"{MONTH_ABBREVIATIONS[month.month - 1]} {month:%y}"


def _scale(value: int, maximum: int, length: float) -> float:
    return round(length * value / maximum, 1) if maximum else 0.0


@dataclass
class HorizontalBar:
    label: str
    value: int
    y: float
    width: float
    text_y: float
    value_x: float


@dataclass
class HorizontalBarChart:
    """One bar per item, labelled on the left, its figure written at its end."""

    chart_id: str
    title: str
    description: str
    bars: list[HorizontalBar]
    width: int
    height: int
    label_width: int
    bar_height: int

    @property
    def label_x(self) -> int:
        """Where the labels end (right-aligned), left of the bars."""
        return self.label_width - 8


def horizontal_bar_chart(
    chart_id: str, title: str, description: str, items: list[tuple[str, int]], *, width: int = 640
) -> HorizontalBarChart:
    label_width, bar_height, gap, top = 220, 22, 10, 8
    value_room = 60  # for the figure written after the longest bar
    maximum = max((value for _, value in items), default=0)
    bars = []
    for index, (label, value) in enumerate(items):
        y = top + index * (bar_height + gap)
        bar_width = _scale(value, maximum, width - label_width - value_room)
        bars.append(
            HorizontalBar(
                label=label,
                value=value,
                y=y,
                width=bar_width,
                text_y=y + bar_height * 0.7,
                value_x=label_width + bar_width + 6,
            )
        )
    height = top * 2 + max(len(items), 1) * (bar_height + gap)
    return HorizontalBarChart(chart_id, title, description, bars, width, height, label_width, bar_height)


@dataclass
class Series:
    name: str
    pattern: str  # "plein" or "hachure": the pattern's id suffix in the template


@dataclass
class ColumnBar:
    series: Series
    value: int
    x: float
    y: float
    height: float
    center: float
    value_y: float


@dataclass
class LegendEntry:
    series: Series
    x: int


@dataclass
class ColumnGroup:
    label: str
    label_x: float
    bars: list[ColumnBar]


@dataclass
class ColumnChart:
    """Grouped columns: a group per month, a column per series, each with its figure above it."""

    chart_id: str
    title: str
    description: str
    series: list[Series]
    groups: list[ColumnGroup]
    width: int
    height: int
    baseline: float
    bar_width: float
    label_y: float
    legend_y: float

    @property
    def legend(self) -> list[LegendEntry]:
        return [LegendEntry(series=series, x=index * 280) for index, series in enumerate(self.series)]


def column_chart(
    chart_id: str,
    title: str,
    description: str,
    series: list[Series],
    groups: list[tuple[str, list[int]]],
    *,
    width: int = 760,
) -> ColumnChart:
    plot_top, plot_height, side = 24, 180, 10
    baseline = plot_top + plot_height
    maximum = max((value for _, values in groups for value in values), default=0)
    group_width = (width - 2 * side) / max(len(groups), 1)
    bar_width = round(min(24.0, (group_width - 8) / max(len(series), 1)), 1)
    chart_groups = []
    for index, (label, values) in enumerate(groups):
        start = side + index * group_width + (group_width - bar_width * len(values)) / 2
        bars = []
        for position, value in enumerate(values):
            height = _scale(value, maximum, plot_height - 14)
            y = baseline - height
            x = round(start + position * bar_width, 1)
            center = round(x + bar_width / 2, 1)
            bars.append(
                ColumnBar(series=series[position], value=value, x=x, y=y, height=height, center=center, value_y=y - 4)
            )
        chart_groups.append(
            ColumnGroup(label=label, label_x=round(side + index * group_width + group_width / 2, 1), bars=bars)
        )
    return ColumnChart(
        chart_id=chart_id,
        title=title,
        description=description,
        series=series,
        groups=chart_groups,
        width=width,
        height=baseline + 60,
        baseline=baseline,
        bar_width=bar_width,
        label_y=baseline + 16,
        legend_y=baseline + 42,
    )
