"""team.charts: the SVG of each chart, written in Python, is the markup the dashboard's templates
wrote until the charts were moved out of them (docs/performance.md): the reference templates below are
those templates, rendered by Django's engine (which escapes every text) and compared, whitespace between
tags aside."""

import re

import pytest
from django.template import engines

from team.charts import Series, column_chart, horizontal_bar_chart

BARS = """<svg class="parcours-chart w-100 h-auto" viewBox="0 0 {{ chart.width }} {{ chart.height }}" role="img" aria-labelledby="{{ chart.chart_id }}-titre {{ chart.chart_id }}-desc" xmlns="http://www.w3.org/2000/svg">
  <title id="{{ chart.chart_id }}-titre">{{ chart.title }}</title>
  <desc id="{{ chart.chart_id }}-desc">{{ chart.description }}{% for bar in chart.bars %} {{ bar.label }} : {{ bar.value }}.{% endfor %}</desc>
  {% for bar in chart.bars %}
  <g>
    <text x="{{ chart.label_width|add:-8 }}" y="{{ bar.text_y|stringformat:'s' }}" text-anchor="end" font-size="13" fill="#212529">{{ bar.label|truncatechars:30 }}</text>
    <rect x="{{ chart.label_width }}" y="{{ bar.y|stringformat:'s' }}" width="{{ bar.width|stringformat:'s' }}" height="{{ chart.bar_height }}" fill="#1d4f91" stroke="#0b2545"></rect>
    <text x="{{ bar.value_x|stringformat:'s' }}" y="{{ bar.text_y|stringformat:'s' }}" font-size="13" font-weight="bold" fill="#212529">{{ bar.value }}</text>
  </g>
  {% empty %}
  <text x="10" y="24" font-size="13" fill="#212529">Aucune donnée.</text>
  {% endfor %}
</svg>
"""  # noqa: E501 (the templates as they were)

COLUMNS = """<svg class="parcours-chart w-100 h-auto" style="max-width: 60rem" viewBox="0 0 {{ chart.width }} {{ chart.height }}" role="img" aria-labelledby="{{ chart.chart_id }}-titre {{ chart.chart_id }}-desc" xmlns="http://www.w3.org/2000/svg">
  <title id="{{ chart.chart_id }}-titre">{{ chart.title }}</title>
  <desc id="{{ chart.chart_id }}-desc">{{ chart.description }}</desc>
  <defs>
    <pattern id="{{ chart.chart_id }}-plein" width="6" height="6" patternUnits="userSpaceOnUse">
      <rect width="6" height="6" fill="#1d4f91"></rect>
    </pattern>
    <pattern id="{{ chart.chart_id }}-hachure" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
      <rect width="6" height="6" fill="#ffffff"></rect>
      <rect width="3" height="6" fill="#8a3b12"></rect>
    </pattern>
  </defs>
  <line x1="0" y1="{{ chart.baseline|stringformat:'s' }}" x2="{{ chart.width }}" y2="{{ chart.baseline|stringformat:'s' }}" stroke="#495057"></line>
  {% for group in chart.groups %}
  <g>
    {% for bar in group.bars %}
    <rect x="{{ bar.x|stringformat:'s' }}" y="{{ bar.y|stringformat:'s' }}" width="{{ chart.bar_width|stringformat:'s' }}" height="{{ bar.height|stringformat:'s' }}" fill="url(#{{ chart.chart_id }}-{{ bar.series.pattern }})" stroke="#212529"><title>{{ group.label }} – {{ bar.series.name }} : {{ bar.value }}</title></rect>
    <text x="{{ bar.center|stringformat:'s' }}" y="{{ bar.value_y|stringformat:'s' }}" text-anchor="middle" font-size="11" fill="#212529">{{ bar.value }}</text>
    {% endfor %}
    <text x="{{ group.label_x|stringformat:'s' }}" y="{{ chart.label_y|stringformat:'s' }}" text-anchor="middle" font-size="11" fill="#212529">{{ group.label }}</text>
  </g>
  {% endfor %}
  <g>
    {% for series in chart.series %}
    <rect x="{% widthratio forloop.counter0 1 280 %}" y="{{ chart.legend_y|stringformat:'s' }}" width="18" height="14" fill="url(#{{ chart.chart_id }}-{{ series.pattern }})" stroke="#212529" transform="translate(10 -11)"></rect>
    <text x="{% widthratio forloop.counter0 1 280 %}" y="{{ chart.legend_y|stringformat:'s' }}" font-size="13" fill="#212529" transform="translate(34 0)">{{ series.name }} ({% if series.pattern == "plein" %}colonne pleine{% else %}colonne hachurée{% endif %})</text>
    {% endfor %}
  </g>
</svg>
"""  # noqa: E501


def reference(source: str, chart) -> str:
    return engines["django"].from_string(source).render({"chart": chart})


def normalised(markup: str) -> str:
    return re.sub(r">\s+<", "><", str(markup)).strip()


TRICKY = 'Zoé <b>O\'Brien</b> & "fils" — un nom de plus de trente caractères'


@pytest.mark.parametrize(
    "items",
    [
        [],
        [("Alice Arnaud", 7)],
        [("Alice Arnaud", 7), ("Bob Bernard", 0), (TRICKY, 1234)],
        [(f"Référent·e {index}", index * 3) for index in range(40)],
    ],
)
def test_the_bar_chart_is_the_templates_markup(items):
    chart = horizontal_bar_chart("graphique-<x>", "Titre & <titre>", 'Description "d\'équipe"', items)
    assert normalised(chart.svg) == normalised(reference(BARS, chart))


@pytest.mark.parametrize(
    "groups",
    [
        [],
        [("janv. 26", [0, 0])],
        [(f"m{index} <&>", [index * 10, index * 5]) for index in range(12)],
    ],
)
def test_the_column_chart_is_the_templates_markup(groups):
    series = [Series("Entrées <e>", "plein"), Series('Sorties & "s"', "hachure")]
    chart = column_chart("graphique-'c'", "Titre <t>", "Description & d", series, groups)
    assert normalised(chart.svg) == normalised(reference(COLUMNS, chart))


def test_every_text_is_escaped():
    svg = horizontal_bar_chart("g", "<t>", "<d>", [(TRICKY, 1)]).svg
    assert "<b>" not in svg and "&lt;b&gt;O&#x27;Brien&lt;/b&gt; &amp; &quot;fils&quot;" in svg
