"""The benchmark's report: the table printed at the end of a run, the checks, and the generated part
of docs/performance.md (the budget's verdicts from the comparisons of bench/results/compare-<scale>.json
and load-compare-<scale>.json, the tables of every scale in bench/results/, the growth chart)."""

import json
import math
from pathlib import Path
from xml.sax.saxutils import escape

from bench import budget

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "performance.md"
CHART = ROOT / "docs" / "performance-growth.svg"
START, END = "<!-- bench:start (bench/report.py writes this part) -->", "<!-- bench:end -->"
SCALE_ORDER = ["small", "department", "national"]
FILES = {"small": 10_000, "department": 100_000, "national": 1_000_000}

# The page whose time every page's contains (docs/performance.md, "The base of every page").
BASE_PAGE = "accueil"
# Pages drawn on the growth chart.
CHART_PAGES = [
    "liste.referent.premiere",
    "liste.responsable.premiere",
    "liste.responsable.profonde",
    "fichier.gros",
    "tableau.equipe",
    "audit.recherche",
]


def load(scale: str) -> dict | None:
    path = RESULTS / f"{scale}.json"
    return json.loads(path.read_text()) if path.exists() else None


def load_test() -> dict | None:
    path = RESULTS / "load-department.json"
    return json.loads(path.read_text()) if path.exists() else None


def load_named(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def print_table(report: dict) -> None:
    print(f"\n{'page':32} {'médiane':>9} {'p95':>9} {'requêtes':>9} {'plancher':>9} {'ratio':>6}")
    for page in report["pages"]:
        ratio = f"{page['ratio']:.1f}" if page["ratio"] else "-"
        print(
            f"{page['name']:32} {page['median_ms']:>7.1f}ms {page['p95_ms']:>7.1f}ms {page['queries']:>9} "
            f"{page['floor_ms']:>7.1f}ms {ratio:>6}"
        )


def check_query_counts(report: dict) -> list[str]:
    """Pages whose statement count depends on the data: a pair of the same page on little and much data
    in this run, or the same page in another scale's committed results."""
    from bench.pages import SAME_QUERIES

    counts = {page["name"]: page["queries"] for page in report["pages"]}
    problems = [
        f"{a} : {counts[a]} requêtes, plus que {b} : {counts[b]}"
        for a, b in SAME_QUERIES
        if a in counts and b in counts and counts[a] > counts[b]
    ]
    for scale in SCALE_ORDER:
        other = load(scale) if scale != report["scale"] else None
        if other is None:
            continue
        for page in other["pages"]:
            mine = counts.get(page["name"])
            if mine is not None and mine != page["queries"]:
                problems.append(
                    f"{page['name']} : {mine} requêtes à l'échelle {report['scale']}, "
                    f"{page['queries']} à l'échelle {scale} (bench/results/{scale}.json)"
                )
    return problems


def _ms(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")


def _int(value: float) -> str:
    return f"{round(value):,}".replace(",", "\u202f")


def base_ms(report: dict) -> float | None:
    """The median of the page every page's time contains (`accueil`: session, user, memberships, header,
    audit; no data of its own), in this run."""
    return next((page["median_ms"] for page in report["pages"] if page["name"] == BASE_PAGE), None)


def rest_ms(page: dict, base: float | None) -> float | None:
    """What a page takes beyond its floor and the base of its run: its own Python (the ORM building and
    compiling its statements, model instances, templates) and the round trips."""
    if base is None or page["name"] == BASE_PAGE:
        return None
    return page["median_ms"] - page["floor_ms"] - base


def _scale_section(report: dict) -> list[str]:
    machine = report["machine"]
    data = report.get("data", {})
    lines = [
        f"### Échelle `{report['scale']}`",
        "",
        f"Commande : `{report['command']}` — commit `{report['commit']}`, {report['date']}, "
        f"{report['reps']} tours (une requête de chaque page par tour) après 3 requêtes de chauffe de chacune ; "
        f"durée totale {report['duration_seconds']} s"
        + (f" (remplissage {report['fill_seconds']} s)" if report.get("fill_seconds") else "")
        + ".",
        "",
        f"Machine : {machine['cpu']}, {machine['cores']} cœurs, {machine['memory_gib']} Gio ; PostgreSQL "
        f"{machine['postgresql']} (shared_buffers {machine['shared_buffers']}) ; Python {machine['python']}.",
        "",
    ]
    if data:
        lines += ["Données : " + ", ".join(f"{name} {_int(count)}" for name, count in data.items()) + ".", ""]
    base = base_ms(report)
    lines += [
        "| Page | Personne | Médiane | p95 | Requêtes | Plancher | Page / plancher | Reste |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for page in report["pages"]:
        ratio = f"{_ms(page['ratio'])} ×" if page["ratio"] else "–"
        rest = rest_ms(page, base)
        lines.append(
            f"| {page['description']} (`{page['name']}`) | {page['persona']} | {_ms(page['median_ms'])} ms | "
            f"{_ms(page['p95_ms'])} ms | {page['queries']} | {_ms(page['floor_ms'])} ms | {ratio} | "
            + ("–" if rest is None else f"{_ms(rest)} ms")
            + " |"
        )
    if base is not None:
        lines += [
            "",
            f"Reste : la médiane de la page moins son plancher et le socle de toute page (`{BASE_PAGE}`, "
            f"{_ms(base)} ms dans cette série).",
        ]
    jobs = report.get("jobs", {})
    if jobs:
        lines += [
            "",
            "| Tâche | Lignes | Durée | Lignes/s | COPY lignes/s | Part de COPY | Mémoire de pointe |",
            "|---|--:|--:|--:|--:|--:|--:|",
        ]
        for name, label in (("export", "Export CSV du journal d'audit"), ("import", "Import CSV (création)")):
            if name in jobs:
                job = jobs[name]
                lines.append(
                    f"| {label} | {_int(job['rows'])} | {_ms(job['seconds'])} s | {_int(job['rows_per_second'])} | "
                    f"{_int(job['copy_rows_per_second'])} | {_ms(job['copy_ratio'] * 100)} % | "
                    f"{_ms(job['peak_mib'])} Mio |"
                )
    return lines + [""]


def _load_section(load: dict) -> list[str]:
    lines = [
        "### Test de charge (`department`)",
        "",
        f"Commande : `{load['command']}` — commit `{load['commit']}`, {load['date']} : {load['users']} utilisateurs "
        f"simulés pendant {load['duration_seconds']} s, gunicorn ({load['server']}) sur 127.0.0.1.",
        "",
        f"**{_ms(load['requests_per_second'])} requêtes/s**, {_int(load['requests'])} requêtes, "
        f"**{load['errors']} erreur(s)** ; latence p50 {_ms(load['p50_ms'])} ms, **p95 {_ms(load['p95_ms'])} ms**, "
        f"p99 {_ms(load['p99_ms'])} ms.",
        "",
        "| Requête | Nombre | Erreurs | p50 | p95 | p99 |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for row in load["endpoints"]:
        lines.append(
            f"| {row['name']} | {_int(row['requests'])} | {row['errors']} | {_ms(row['p50_ms'])} ms | "
            f"{_ms(row['p95_ms'])} ms | {_ms(row['p99_ms'])} ms |"
        )
    return lines + [""]


def _ratio(value: float) -> str:
    return f"{value:.2f}".replace(".", ",")


def _verdict(met: bool) -> str:
    return budget.MET if met else f"**{budget.MISSED}**"


def _allowed(row: dict) -> str:
    if row["rule"] == "borne":
        return f"≤ {_ms(row['allowed_ms'])} ms (borne)"
    return f"≤ {_ms(row['allowed_ms'])} ms (+{round(budget.MAX_SLOWDOWN * 100)} %)"


def job_verdicts(jobs: dict) -> list[tuple[str, str, bool]]:
    """(rule, measured, met) for the jobs of a run, against the budget's absolute figures."""
    rows = []
    if "export" in jobs:
        export = jobs["export"]
        rows.append(
            (
                f"export : ≥ {_ms(budget.MIN_COPY_RATIO * 100)} % du débit de COPY",
                f"{_ms(export['copy_ratio'] * 100)} %",
                budget.export_met(export["copy_ratio"]),
            )
        )
    if "import" in jobs:
        imported = jobs["import"]
        allowed = budget.MAX_IMPORT_SECONDS * imported["rows"] / budget.IMPORT_ROWS
        rows.append(
            (
                f"import de {_int(imported['rows'])} lignes < {_ms(allowed)} s",
                f"{_ms(imported['seconds'])} s",
                budget.import_met(imported["rows"], imported["seconds"]),
            )
        )
    return rows


def compare_section(report: dict) -> list[str]:
    """A comparison's table (bench/compare.py): each page's medians in both trees and the budget's verdict."""
    base, new = report["base"], report["new"]
    missed = [row["name"] for row in report["pages"] if not row["met"]]
    machine = report["machine"]
    lines = [
        f"### Budget : `{new['commit']}` contre `{base['commit']}` (échelle `{report['scale']}`)",
        "",
        f"Commande : `{report['command']}` — {report['date']}, {report['warm']} tours de chauffe puis "
        f"{report['reps']} tours ; à chaque tour, chaque arbre demande une fois chaque page, l'un après l'autre, "
        f"et l'ordre des arbres s'inverse d'un tour à l'autre ; durée totale {report['duration_seconds']} s.",
        "",
        f"Machine : {machine['cpu']}, {machine['cores']} cœurs, {machine['memory_gib']} Gio ; PostgreSQL "
        f"{machine['postgresql']} ; Python {machine['python']} ; Django {new['django']} (base {base['django']}).",
        "",
    ]
    if report["scale"] != budget.SCALE:
        lines += [f"Le budget vaut à l'échelle `{budget.SCALE}` : ici, les verdicts sont indicatifs.", ""]
    lines += [
        f"Pages : **{'budget tenu' if not missed else 'budget dépassé : ' + ', '.join(missed)}**.",
        "",
        f"| Page | Médiane `{base['commit']}` | Médiane `{new['commit']}` | Rapport | Permis | Budget | Requêtes |",
        "|---|--:|--:|--:|--:|---|--:|",
    ]
    for row in report["pages"]:
        lines.append(
            f"| {row['description']} (`{row['name']}`) | {_ms(row['base']['median_ms'])} ms | "
            f"{_ms(row['new']['median_ms'])} ms | {_ratio(row['ratio'])} × | {_allowed(row)} | "
            f"{_verdict(row['met'])} | {row['base']['queries']} → {row['new']['queries']} |"
        )
    jobs = job_verdicts(report.get("jobs", {}))
    if jobs:
        lines += ["", f"Tâches (celles de `{new['commit']}`) :", "", "| Règle | Mesuré | Budget |", "|---|--:|---|"]
        lines += [f"| {rule} | {measured} | {_verdict(met)} |" for rule, measured, met in jobs]
    return lines + [""]


def load_compare_section(load: dict) -> list[str]:
    """A load test's alternated runs of both trees (bench/load.py --base) and the budget's verdict."""
    base, new, summary = load["base"], load["new"], load["summary"]
    lines = [
        f"### Test de charge : `{new['commit']}` contre `{base['commit']}` (échelle `{load['scale']}`)",
        "",
        f"Commande : `{load['command']}` — {load['date']} : {load['users']} utilisateurs simulés pendant "
        f"{load['duration_seconds']} s par run, gunicorn ({load['server']}) sur 127.0.0.1, les deux arbres servis "
        "tour à tour par paires dont l'ordre s'inverse.",
        "",
        f"Budget (aucune erreur, p95 ≤ {_ms(summary['allowed_p95_ms'])} ms, +"
        f"{round(budget.LOAD_MAX_SLOWDOWN * 100)} % de la base) : {_verdict(summary['met'])}.",
        "",
        "| Arbre | Runs | p50 | p95 | Requêtes/s | Erreurs |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for label in ("base", "new"):
        tree = summary["trees"][label]
        commit = (base if label == "base" else new)["commit"]
        lines.append(
            f"| `{commit}` (médianes) | {tree['runs']} | {_ms(tree['p50_ms'])} ms | {_ms(tree['p95_ms'])} ms | "
            f"{_ms(tree['requests_per_second'])} | {tree['errors']} |"
        )
    lines += ["", "| Paire | Arbre | p50 | p95 | Requêtes/s | Erreurs |", "|--:|---|--:|--:|--:|--:|"]
    for run in load["runs"]:
        lines.append(
            f"| {run['pair']} | `{run['commit']}` | {_ms(run['p50_ms'])} ms | {_ms(run['p95_ms'])} ms | "
            f"{_ms(run['requests_per_second'])} | {run['errors']} |"
        )
    return lines + [""]


def growth_chart(reports: list[dict]) -> str:
    """An SVG line chart of each page's median against the number of files (log scale), with its values."""
    width, height, left, right, top, bottom = 760, 380, 70, 250, 30, 50
    scales = [report for report in reports if report["scale"] in FILES]
    xs = [FILES[report["scale"]] for report in scales]
    values = {
        name: [next((p["median_ms"] for p in report["pages"] if p["name"] == name), None) for report in scales]
        for name in CHART_PAGES
    }
    top_value = max([v for series in values.values() for v in series if v] + [1])
    y_max = 10 ** math.ceil(math.log10(top_value)) if top_value > 0 else 10
    y_max = next(step for step in (y_max / 5, y_max / 2, y_max) if step >= top_value)
    x_min, x_max = math.log10(10_000) - 0.15, math.log10(1_000_000) + 0.15

    def x(files: int) -> float:
        return left + (math.log10(files) - x_min) / (x_max - x_min) * (width - left - right)

    def y(ms: float) -> float:
        return top + (1 - ms / y_max) * (height - top - bottom)

    dashes = ["", "6 3", "2 3", "10 4 2 4", "1 6", "12 3"]
    markers = ["circle", "square", "triangle", "diamond", "circle-open", "square-open"]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'role="img" aria-labelledby="titre desc" font-family="sans-serif" font-size="12">',
        '<title id="titre">Temps médian des pages selon le nombre de dossiers</title>',
        '<desc id="desc">Échelle logarithmique du nombre de dossiers ; les valeurs sont écrites à chaque point '
        "et reprises dans le tableau de docs/performance.md.</desc>",
        '<rect width="100%" height="100%" fill="#fff"/>',
    ]
    for fraction in (0, 0.25, 0.5, 0.75, 1):
        value = y_max * fraction
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 8}" y="{y(value) + 4:.1f}" text-anchor="end">{_ms(value)} ms</text>')
    for files in FILES.values():
        parts.append(f'<text x="{x(files):.1f}" y="{height - bottom + 20}" text-anchor="middle">{_int(files)}</text>')
    parts.append(f'<text x="{(left + width - right) / 2}" y="{height - 10}" text-anchor="middle">dossiers</text>')
    labels: dict[float, list[tuple[float, float]]] = {}  # x → [(y of the point, value)]
    for index, (name, series) in enumerate(values.items()):
        points = [(x(files), y(ms), ms) for files, ms in zip(xs, series, strict=True) if ms is not None]
        if not points:
            continue
        dash = f' stroke-dasharray="{dashes[index % len(dashes)]}"' if dashes[index % len(dashes)] else ""
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py, _ in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#1f3b57" stroke-width="2"{dash}/>')
        for px, py, ms in points:
            parts.append(_marker(markers[index % len(markers)], px, py))
            labels.setdefault(px, []).append((py, ms))
        legend_y = top + 20 * index
        lx = width - right + 20
        parts.append(
            f'<line x1="{lx}" x2="{lx + 30}" y1="{legend_y}" y2="{legend_y}" stroke="#1f3b57" stroke-width="2"{dash}/>'
        )
        parts.append(_marker(markers[index % len(markers)], lx + 15, legend_y))
        parts.append(f'<text x="{lx + 38}" y="{legend_y + 4}">{escape(name)}</text>')
    parts += _value_labels(labels)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _value_labels(labels: dict[float, list[tuple[float, float]]], spacing: float = 13) -> list[str]:
    """Each point's value to its right, moved apart vertically where points of the same size are close."""
    texts = []
    for px, column in labels.items():
        previous = -math.inf
        for py, ms in sorted(column):
            ty = max(py + 4, previous + spacing)
            previous = ty
            texts.append(f'<text x="{px + 8:.1f}" y="{ty:.1f}">{_ms(ms)}</text>')
    return texts


def _marker(kind: str, px: float, py: float) -> str:
    fill = "#fff" if kind.endswith("-open") else "#1f3b57"
    if kind.startswith("circle"):
        return f'<circle cx="{px:.1f}" cy="{py:.1f}" r="4" fill="{fill}" stroke="#1f3b57"/>'
    if kind.startswith("square"):
        return f'<rect x="{px - 4:.1f}" y="{py - 4:.1f}" width="8" height="8" fill="{fill}" stroke="#1f3b57"/>'
    if kind == "triangle":
        points = f"{px:.1f},{py - 5:.1f} {px - 5:.1f},{py + 4:.1f} {px + 5:.1f},{py + 4:.1f}"
    else:
        points = f"{px:.1f},{py - 5:.1f} {px + 5:.1f},{py:.1f} {px:.1f},{py + 5:.1f} {px - 5:.1f},{py:.1f}"
    return f'<polygon points="{points}" fill="{fill}"/>'


def generated() -> str:
    reports = [report for scale in SCALE_ORDER if (report := load(scale))]
    load_result = load_test()
    lines = [START, ""]
    for scale in SCALE_ORDER:
        if comparison := load_named(f"compare-{scale}"):
            lines += compare_section(comparison)
        if load_comparison := load_named(f"load-compare-{scale}"):
            lines += load_compare_section(load_comparison)
    if len(reports) > 1:
        lines += [
            "### Croissance",
            "",
            "![Temps médian des pages selon le nombre de dossiers](performance-growth.svg)",
            "",
            "| Page | " + " | ".join(f"{_int(FILES[r['scale']])} dossiers" for r in reports) + " |",
            "|---|" + "--:|" * len(reports),
        ]
        names = [page["name"] for page in reports[-1]["pages"]]
        for name in names:
            cells = []
            for report in reports:
                page = next((p for p in report["pages"] if p["name"] == name), None)
                cells.append(f"{_ms(page['median_ms'])} ms" if page else "–")
            lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
        lines.append("")
    for report in reports:
        lines += _scale_section(report)
    if load_result:
        lines += _load_section(load_result)
    lines.append(END)
    return "\n".join(lines)


def write_docs() -> None:
    text = DOC.read_text() if DOC.exists() else f"# Performance\n\n{START}\n{END}\n"
    if START not in text or END not in text:
        text = text.rstrip() + f"\n\n{START}\n{END}\n"
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(head + generated() + tail)
    reports = [report for scale in SCALE_ORDER if (report := load(scale))]
    if reports:
        CHART.write_text(growth_chart(reports))


if __name__ == "__main__":
    write_docs()
