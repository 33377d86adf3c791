"""`make bench SCALE=<scale> BASE=<rev>`: this tree's pages against the commit <rev>, alternated in one run.

    DATABASE_URL=postgres:///postgres make bench SCALE=department BASE=5463d61

The host's speed drifts for seconds at a time, and from one run to the next: two runs, one per commit,
compare two moments of the host as much as two commits. Here both trees are measured in the same run, on
the same fill, their requests alternated:

- <rev> is checked out into a temporary git worktree (`git worktree add --detach`), removed at the end.
- Each tree gets one measuring process (bench/probe.py, run as `python -c <its text>` with the tree as
  working directory and PYTHONPATH, so that it imports that tree's code and nothing of the other's). The
  base tree runs with this tree's virtualenv when both have the same uv.lock, else with one built from
  its own (`uv sync --frozen --no-dev`). It does not migrate: the database is this tree's, migrated and
  filled by bench/run.py (the schema must be the same).
- The pages are this tree's (bench/pages.py `plan`): plain paths and usernames, which both trees can
  request. Each process signs its clients in, then the parent drives them round by round: in round k one
  tree requests every page once, then the other, and the next round the other tree goes first (A B, B A,
  A B...), so that a slow stretch of the host weighs on both alike. The warm-up requests go the same
  way. Then each process counts each page's statements (one more request each).
- Each page's median in each tree, their ratio, and the budget's verdict (bench/budget.py) go to
  bench/results/compare-<scale>.json and docs/performance.md (bench/report.py). The jobs (export, import)
  are this tree's, measured after (bench/run.py), against the budget's absolute figures.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench import budget

ROOT = Path(__file__).resolve().parent.parent
PROBE = ROOT / "bench" / "probe.py"
TREES = ("base", "new")
# Warm-up rounds before the timed ones (connections opened, templates compiled, caches and PostgreSQL's
# buffers filled).
WARM = 3


class CompareError(Exception):
    pass


@dataclass(frozen=True)
class Tree:
    label: str  # "base" or "new"
    root: Path
    python: str
    commit: str


def alternation(rounds: int, trees: tuple[str, str] = TREES) -> list[tuple[str, str]]:
    """The order of the trees in each round: A B, then B A, then A B..."""
    return [trees if k % 2 == 0 else (trees[1], trees[0]) for k in range(rounds)]


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(  # noqa: S603 (git with our own arguments)
        ["git", *args],  # noqa: S607
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def resolve(rev: str) -> str:
    try:
        return git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except subprocess.CalledProcessError:
        raise CompareError(f"révision inconnue : {rev!r}") from None


def _python_for(root: Path, sha: str) -> str:
    """This tree's interpreter when the base has the same locked dependencies, else a virtualenv built
    from the base's own uv.lock (uv's cache makes it a matter of seconds)."""
    if git("rev-parse", f"{sha}:uv.lock") == git("rev-parse", "HEAD:uv.lock"):
        return sys.executable
    uv = ROOT / ".tools" / "bin" / "uv"
    print(f"uv.lock diffère : environnement du commit {sha[:7]} construit dans {root / '.venv'}…", flush=True)
    try:
        subprocess.run(  # noqa: S603 (uv with our own arguments)
            [str(uv) if uv.exists() else "uv", "sync", "--frozen", "--no-dev", "--quiet"],
            cwd=root,
            env=os.environ | {"UV_PROJECT_ENVIRONMENT": str(root / ".venv")},
            check=True,
        )
    except (OSError, subprocess.CalledProcessError) as error:
        raise CompareError(f"l'environnement du commit {sha[:7]} n'a pas pu être construit : {error}") from None
    return str(root / ".venv" / "bin" / "python")


@contextmanager
def base_tree(rev: str) -> Iterator[Tree]:
    """The commit `rev` checked out in a temporary worktree, removed on the way out."""
    sha = resolve(rev)
    directory = Path(tempfile.mkdtemp(prefix="parcours-base-"))
    try:
        git("worktree", "add", "--detach", str(directory), sha)
    except subprocess.CalledProcessError as error:
        shutil.rmtree(directory, ignore_errors=True)
        raise CompareError(f"git worktree add {sha[:7]} a échoué : {error.stderr.strip()}") from None
    try:
        yield Tree(label="base", root=directory, python=_python_for(directory, sha), commit=sha[:7])
    finally:
        try:
            git("worktree", "remove", "--force", str(directory))
        except subprocess.CalledProcessError:
            shutil.rmtree(directory, ignore_errors=True)
            git("worktree", "prune")


def tree_env(tree: Tree) -> dict:
    """The environment of a process of `tree`: the benchmark's database and settings (set by bench/run.py
    or bench/load.py in this process's environment), and that tree's code first on the path."""
    return os.environ | {"PYTHONPATH": str(tree.root)}


class Probe:
    """One tree's measuring process (bench/probe.py), answering one JSON line per message."""

    def __init__(self, tree: Tree):
        self.tree = tree
        self.log = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(  # noqa: S603 (our own probe)
            [tree.python, "-c", PROBE.read_text()],
            cwd=tree.root,
            env=tree_env(tree),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )

    def ask(self, message: dict) -> dict:
        try:
            self.process.stdin.write(json.dumps(message) + "\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline()
        except BrokenPipeError:
            line = ""
        reply = json.loads(line) if line.strip() else {"error": "le processus s'est arrêté"}
        if "error" in reply:
            self.log.seek(0)
            raise CompareError(
                f"arbre {self.tree.label} ({self.tree.commit}) : {reply['error']}\n{self.log.read()[-3000:]}"
            )
        return reply

    def close(self) -> None:
        try:
            self.process.stdin.write(json.dumps({"do": "quit"}) + "\n")
            self.process.stdin.close()
            self.process.wait(timeout=30)
        except (BrokenPipeError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        self.log.close()


def measure_trees(plan: dict, trees: list[Tree], *, reps: int, warm: int = WARM) -> dict[str, dict]:
    """Each tree's times of each page (`reps` alternated rounds after `warm`) and statement counts:
    {label: {"times_ms": [[...] per page], "queries": [...], "django": version}}."""
    labels = (trees[0].label, trees[1].label)
    measured: dict[str, dict] = {}
    with ExitStack() as stack:
        probes = {}
        for tree in trees:
            probes[tree.label] = probe = Probe(tree)
            stack.callback(probe.close)
        for tree in trees:
            probe = probes[tree.label]
            started = probe.ask({"do": "start", "plan": {"clients": plan["clients"], "pages": plan["pages"]}})
            if Path(started["code"]).resolve() != tree.root.resolve():
                raise CompareError(f"l'arbre {tree.label} a chargé le code de {started['code']}, pas de {tree.root}")
            measured[tree.label] = {"times_ms": [[] for _ in plan["pages"]], "django": started["django"]}
        for order in alternation(warm, labels):
            for label in order:
                probes[label].ask({"do": "round"})
        for index, order in enumerate(alternation(reps, labels)):
            for label in order:
                for page_times, ms in zip(
                    measured[label]["times_ms"], probes[label].ask({"do": "round"})["times_ms"], strict=True
                ):
                    page_times.append(ms)
            if (index + 1) % 10 == 0:
                print(f"  {index + 1} tours sur {reps}", flush=True)
        for label, probe in probes.items():
            measured[label]["queries"] = probe.ask({"do": "count"})["queries"]
    return measured


def _p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def page_rows(pages: list[dict], measured: dict[str, dict]) -> list[dict]:
    """Each page's figures in both trees, their ratio and the budget's verdict."""
    rows = []
    for index, page in enumerate(pages):
        figures = {}
        for label in TREES:
            times = measured[label]["times_ms"][index]
            figures[label] = {
                "median_ms": round(statistics.median(times), 2),
                "p95_ms": round(_p95(times), 2),
                "queries": measured[label]["queries"][index],
            }
        base, new = figures["base"]["median_ms"], figures["new"]["median_ms"]
        verdict = budget.page_verdict(page["name"], base, new)
        rows.append(
            {
                "name": page["name"],
                "persona": page["persona"],
                "description": page["description"],
                **figures,
                "ratio": round(new / base, 3),
                "bound_ms": budget.bound_ms(page["name"]),
                "allowed_ms": round(verdict.allowed_ms, 2),
                "rule": verdict.rule,
                "met": verdict.met,
            }
        )
    return rows


def print_table(rows: list[dict]) -> None:
    print(f"\n{'page':30} {'base':>9} {'nouveau':>9} {'ratio':>6} {'permis':>9} {'budget':>8} {'requêtes':>10}")
    for row in rows:
        queries = f"{row['base']['queries']} → {row['new']['queries']}"
        print(
            f"{row['name']:30} {row['base']['median_ms']:>7.1f}ms {row['new']['median_ms']:>7.1f}ms "
            f"{row['ratio']:>6.2f} {row['allowed_ms']:>7.1f}ms "
            f"{budget.MET if row['met'] else budget.MISSED:>8} {queries:>10}"
        )
