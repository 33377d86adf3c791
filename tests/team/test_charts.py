"""team.charts and their templates (templates/team/includes/chart_*.html): accessible SVG charts, every
figure written as text, every text escaped, the coordinates in a dot-decimal SVG understands."""

import re

from django.template.loader import render_to_string

from team.charts import Series, column_chart, horizontal_bar_chart

TRICKY = 'Zoé <b>O\'Brien</b> & "fils" — un nom de plus de trente caractères'


def bars(items) -> str:
    chart = horizontal_bar_chart("graphique-test", "Titre & <titre>", 'Description "d\'équipe"', items)
    return render_to_string("team/includes/chart_bars.html", {"chart": chart})


def columns(groups) -> str:
    series = [Series("Entrées <e>", "plein"), Series('Sorties & "s"', "hachure")]
    chart = column_chart("graphique-colonnes", "Titre <t>", "Description & d", series, groups)
    return render_to_string("team/includes/chart_columns.html", {"chart": chart})


def test_the_bar_chart_is_an_image_named_by_its_title_and_described_with_every_figure():
    svg = bars([("Alice Arnaud", 7), ("Bob Bernard", 0)])
    assert 'role="img" aria-labelledby="graphique-test-titre graphique-test-desc"' in svg
    assert '<title id="graphique-test-titre">Titre &amp; &lt;titre&gt;</title>' in svg
    assert "Description &quot;d&#x27;équipe&quot; Alice Arnaud : 7. Bob Bernard : 0.</desc>" in svg
    assert svg.count("<rect ") == 2 and ">7</text>" in svg and ">0</text>" in svg


def test_the_longest_bar_fills_the_room_and_the_others_scale_with_it():
    svg = bars([("A", 10), ("B", 5), ("C", 0)])
    widths = [float(width) for width in re.findall(r'<rect x="220" y="[\d.]+" width="([\d.]+)"', svg)]
    assert widths == [360.0, 180.0, 0.0]  # 640 wide, 220 for the labels, 60 for the figure after the bar


def test_an_empty_bar_chart_says_so():
    svg = bars([])
    assert "Aucune donnée." in svg and "<rect" not in svg


def test_long_labels_are_cut_and_every_text_is_escaped():
    svg = bars([(TRICKY, 1234)])
    assert "<b>" not in svg and "&lt;b&gt;O&#x27;Brien&lt;/b&gt; &amp; &quot;fils&quot;" in svg  # in the description
    assert ">Zoé &lt;b&gt;O&#x27;Brien&lt;/b&gt; &amp; &quot;fils&quot; —…</text>" in svg  # 30 characters


def test_the_column_chart_tells_its_series_apart_by_pattern_and_legend():
    svg = columns([("janv. 26", [12, 3]), ("févr. 26 <&>", [0, 7])])
    assert 'role="img" aria-labelledby="graphique-colonnes-titre graphique-colonnes-desc"' in svg
    assert svg.count('fill="url(#graphique-colonnes-plein)"') == 3  # two columns and the legend
    assert svg.count('fill="url(#graphique-colonnes-hachure)"') == 3
    assert "<title>janv. 26 – Entrées &lt;e&gt; : 12</title>" in svg
    assert "<title>févr. 26 &lt;&amp;&gt; – Sorties &amp; &quot;s&quot; : 7</title>" in svg
    assert "Entrées &lt;e&gt; (colonne pleine)" in svg and "Sorties &amp; &quot;s&quot; (colonne hachurée)" in svg
    assert "<b>" not in svg and "<e>" not in svg


def test_coordinates_are_written_with_a_dot_whatever_the_language():
    svg = columns([(f"m{index}", [index * 10, index * 5]) for index in range(12)])
    numbers = re.findall(r' (?:x|y|width|height)="([^"]*)"', svg)
    assert numbers and all(re.fullmatch(r"-?\d+(\.\d+)?", number) for number in numbers), numbers
