"""Server-side SVG charts for the supervisors' dashboard: the geometry, and the markup of each chart
(`{{ chart.svg }}`, every text escaped). Written here rather than by templates: the bar chart of a team
of 40 referents took ~3.5 ms through ~500 template nodes, ~0.3 ms here (docs/performance.md).

Readable without colour (RGAA 3.2, 3.3): every bar carries its figure as text, the two series of the
monthly chart differ by pattern (plain and hatched) and are named in a legend, each chart has a
`<title>` and a `<desc>` (role="img"), and the page shows the same figures as a table beside it.
"""

import datetime
import html
from dataclasses import dataclass

from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

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


def _escape(value) -> str:
    """`django.utils.html.conditional_escape` of a text (the standard library's escape, which Django's calls)."""
    if hasattr(value, "__html__"):
        return str(value.__html__())
    return html.escape(str(value))


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
    def svg(self) -> SafeString:
        """The chart's markup (`{{ chart.svg }}`)."""
        chart_id = _escape(self.chart_id)
        spoken = "".join(f" {_escape(bar.label)} : {bar.value}." for bar in self.bars)
        parts = [
            f'<svg class="parcours-chart w-100 h-auto" viewBox="0 0 {self.width} {self.height}" role="img" '
            f'aria-labelledby="{chart_id}-titre {chart_id}-desc" xmlns="http://www.w3.org/2000/svg">\n'
            f'  <title id="{chart_id}-titre">{_escape(self.title)}</title>\n'
            f'  <desc id="{chart_id}-desc">{_escape(self.description)}{spoken}</desc>\n'
        ]
        for bar in self.bars:
            parts.append(
                f"  <g>\n"
                f'    <text x="{self.label_width - 8}" y="{bar.text_y}" text-anchor="end" font-size="13" '
                f'fill="#212529">{_escape(Truncator(bar.label).chars(30))}</text>\n'
                f'    <rect x="{self.label_width}" y="{bar.y}" width="{bar.width}" height="{self.bar_height}" '
                f'fill="#1d4f91" stroke="#0b2545"></rect>\n'
                f'    <text x="{bar.value_x}" y="{bar.text_y}" font-size="13" font-weight="bold" '
                f'fill="#212529">{bar.value}</text>\n'
                f"  </g>\n"
            )
        if not self.bars:
            parts.append('  <text x="10" y="24" font-size="13" fill="#212529">Aucune donnée.</text>\n')
        parts.append("</svg>")
        return mark_safe("".join(parts))  # noqa: S308 (every text escaped; the figures are numbers)


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
    def svg(self) -> SafeString:
        """The chart's markup (`{{ chart.svg }}`)."""
        chart_id = _escape(self.chart_id)
        parts = [
            f'<svg class="parcours-chart w-100 h-auto" style="max-width: 60rem" viewBox="0 0 {self.width} '
            f'{self.height}" role="img" aria-labelledby="{chart_id}-titre {chart_id}-desc" '
            f'xmlns="http://www.w3.org/2000/svg">\n'
            f'  <title id="{chart_id}-titre">{_escape(self.title)}</title>\n'
            f'  <desc id="{chart_id}-desc">{_escape(self.description)}</desc>\n'
            f"  <defs>\n"
            f'    <pattern id="{chart_id}-plein" width="6" height="6" patternUnits="userSpaceOnUse">\n'
            f'      <rect width="6" height="6" fill="#1d4f91"></rect>\n'
            f"    </pattern>\n"
            f'    <pattern id="{chart_id}-hachure" width="6" height="6" patternUnits="userSpaceOnUse" '
            f'patternTransform="rotate(45)">\n'
            f'      <rect width="6" height="6" fill="#ffffff"></rect>\n'
            f'      <rect width="3" height="6" fill="#8a3b12"></rect>\n'
            f"    </pattern>\n"
            f"  </defs>\n"
            f'  <line x1="0" y1="{self.baseline}" x2="{self.width}" y2="{self.baseline}" stroke="#495057"></line>\n'
        ]
        for group in self.groups:
            label = _escape(group.label)
            parts.append("  <g>\n")
            for bar in group.bars:
                pattern = _escape(bar.series.pattern)
                parts.append(
                    f'    <rect x="{bar.x}" y="{bar.y}" width="{self.bar_width}" height="{bar.height}" '
                    f'fill="url(#{chart_id}-{pattern})" stroke="#212529"><title>{label} – '
                    f"{_escape(bar.series.name)} : {bar.value}</title></rect>\n"
                    f'    <text x="{bar.center}" y="{bar.value_y}" text-anchor="middle" font-size="11" '
                    f'fill="#212529">{bar.value}</text>\n'
                )
            parts.append(
                f'    <text x="{group.label_x}" y="{self.label_y}" text-anchor="middle" font-size="11" '
                f'fill="#212529">{label}</text>\n'
                f"  </g>\n"
            )
        parts.append("  <g>\n")
        for index, series in enumerate(self.series):
            kind = "colonne pleine" if series.pattern == "plein" else "colonne hachurée"
            parts.append(
                f'    <rect x="{index * 280}" y="{self.legend_y}" width="18" height="14" '
                f'fill="url(#{chart_id}-{_escape(series.pattern)})" stroke="#212529" '
                f'transform="translate(10 -11)"></rect>\n'
                f'    <text x="{index * 280}" y="{self.legend_y}" font-size="13" fill="#212529" '
                f'transform="translate(34 0)">{_escape(series.name)} ({kind})</text>\n'
            )
        parts.append("  </g>\n</svg>")
        return mark_safe("".join(parts))  # noqa: S308 (every text escaped; the figures are numbers)


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
