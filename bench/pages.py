"""The pages the benchmark measures, for the personas of the filled database (bench/fill.py)."""

import datetime
import functools

from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from bench import probe
from bench.measure import Page, Result, measure
from casework.models import Action, Barrier, Note, Step
from casework.permissions import visible_beneficiaries

# Pairs of pages that must send the same number of statements: the same page for little and much data.
# Pairs of the same page on more data and on less: the first may not send more statements than the
# second. The big file (500 entries, no objective nor diagnostic) sends fewer than the ordinary one, whose
# objectives' actions and diagnostics' barriers are two more statements (Django prefetches a nested
# relation only when its parents exist).
SAME_QUERIES = [
    ("fichier.gros", "fichier.moyen"),
    ("liste.responsable.profonde", "liste.responsable.premiere"),
    ("liste.referent.filtres", "liste.referent.premiere"),
]


def _other_files(username: str, big_file: str) -> tuple[str, str, str]:
    """Two files the persona follows, other than the big one (ordinary files: ~15 entries): the first by
    name, which the file page reads, with its last name (the referent's search term, which finds at least
    this file at every scale); the last by name, on which the writing pages write (so that the file read
    stays as the fill made it, run after run)."""
    user = User.objects.get(username=username)
    files = (
        visible_beneficiaries(user)
        .followed_by(user)
        .exclude(public_id=big_file)
        .order_by("last_name", "first_name", "pk")
        .values_list("public_id", "last_name")
    )
    # The file read has every kind of entry (an objective with an action, a diagnostic with a barrier), so
    # that its page sends the same statements at every scale.
    complete = files.filter(
        Exists(Action.objects.filter(objective__beneficiary=OuterRef("pk"))),
        Exists(Barrier.objects.filter(diagnostic__beneficiary=OuterRef("pk"))),
    )
    (read, last_name), (written, _) = (complete.first() or files[0]), files.reverse()[0]
    return str(read), last_name, str(written)


def _page(name, persona, description, client, path, data=None, *, method="get", ok=(200,), writes=False) -> dict:
    return {
        "name": name,
        "persona": persona,
        "description": description,
        "client": client,
        "method": method,
        "path": path,
        "data": data or {},
        "ok": list(ok),
        "writes": writes,
    }


def plan(meta: dict) -> dict:
    """The pages to measure as plain data (bench/probe.py requests them): the clients, each a persona's
    username and what its session needs; the pages, each a client, a method, a path and its parameters.
    Plain paths, not URL names, so that another tree (`make bench BASE=<rev>`) can request them too."""
    personas = meta["personas"] if "personas" in meta else meta
    referent, supervisor, team, auditor = (
        personas["referent"],
        personas["supervisor10"],
        personas["supervisor_team"],
        personas["auditor"],
    )
    big_file = str(meta["big_file"])
    ordinary_file, referent_term, written_file = _other_files(referent, big_file)
    caseload = reverse("casework:caseload")
    search = reverse("casework:caseload_search")
    filters = dict(meta["filters"])
    clients = {
        "referent": {"username": referent},
        "supervisor10": {"username": supervisor},
        # The search term lives in the session (never in a URL): the search pages have clients of their own,
        # since the pages are requested in turn (bench.measure).
        "referent_search": {"username": referent, "session": {"path": search, "data": {"q": referent_term}}},
        "supervisor10_search": {
            "username": supervisor,
            "session": {"path": search, "data": {"q": meta["search_term"]["term"]}},
        },
        "supervisor_team": {"username": team},
        "auditor": {"username": auditor},
    }
    deep = {"page": meta["deep_page"]}
    today = timezone.localdate().isoformat()
    step = {"kind": "training", "date": today, "status": "done", "outcome": "Inscrite au CACES."}
    note = {"body": "Entretien de suivi : démarches en cours.", "visibility": "private"}
    events = reverse("audit:events")
    end = timezone.localdate()
    month = {"utilisateur": referent, "du": (end - datetime.timedelta(days=30)).isoformat(), "au": end.isoformat()}
    structure = User.objects.get(username=referent).active_memberships[0].structure_id

    pages = [
        # What every page pays before showing anything (session, user and memberships, the header's unread
        # count, the base template): the home page, which reads no file (docs/performance.md, "Le socle").
        _page("accueil", "referent", "Accueil, sans données (le socle de toute page)", "referent", reverse("home")),
        # The caseload of a referent (the files they follow) and of a supervisor of 10 structures (all).
        _page("liste.referent.premiere", "referent", "Mes dossiers, première page", "referent", caseload),
        _page(
            "liste.referent.filtres", "referent", "Mes dossiers, trois filtres combinés", "referent", caseload, filters
        ),
        _page("liste.referent.recherche", "referent", "Mes dossiers, recherche d'un nom", "referent_search", caseload),
        _page(
            "liste.responsable.premiere",
            "supervisor10",
            "Dossiers de 10 structures, première page",
            "supervisor10",
            caseload,
        ),
        _page(
            "liste.responsable.profonde",
            "supervisor10",
            f"Dossiers de 10 structures, page {meta['deep_page']}",
            "supervisor10",
            caseload,
            deep,
        ),
        _page(
            "liste.responsable.filtres",
            "supervisor10",
            "Dossiers de 10 structures, trois filtres combinés",
            "supervisor10",
            caseload,
            filters,
        ),
        _page(
            "liste.responsable.recherche",
            "supervisor10",
            "Dossiers de 10 structures, recherche d'un nom",
            "supervisor10_search",
            caseload,
        ),
        # The file page: 500 events on the timeline, and an ordinary file.
        _page(
            "fichier.gros",
            "referent",
            "Page d'un dossier de 500 événements",
            "referent",
            reverse("casework:file_detail", args=[big_file]),
        ),
        _page(
            "fichier.moyen",
            "referent",
            "Page d'un dossier ordinaire",
            "referent",
            reverse("casework:file_detail", args=[ordinary_file]),
        ),
        # Writing: a step, a note, on another file than the ones read (each request adds one, the captured
        # one is rolled back, and the others are removed once measured).
        _page(
            "ecriture.etape",
            "referent",
            "Enregistrer une étape",
            "referent",
            reverse("casework:step_create", args=[written_file]),
            step,
            method="post",
            ok=(302,),
            writes=True,
        ),
        _page(
            "ecriture.note",
            "referent",
            "Ajouter une note",
            "referent",
            reverse("casework:note_create", args=[written_file]),
            note,
            method="post",
            ok=(302,),
            writes=True,
        ),
        # The supervisor's dashboard for 40 referents, and their alerts, most overdue first.
        _page(
            "tableau.equipe",
            "supervisor_team",
            "Tableau de bord de 40 référents",
            "supervisor_team",
            reverse("team:dashboard"),
        ),
        _page(
            "alertes.equipe",
            "supervisor_team",
            "Alertes de l'équipe de 40 référents, première page",
            "supervisor_team",
            reverse("team:alerts"),
        ),
        # The auditor's search of the trail: the newest events, one person over a month, the people of one
        # structure (the referent's), from its name in each event.
        _page("audit.recherche", "auditor", "Journal d'audit, derniers événements", "auditor", events),
        _page(
            "audit.recherche.filtree",
            "auditor",
            "Journal d'audit, une personne sur 30 jours",
            "auditor",
            events,
            month,
        ),
        _page(
            "audit.recherche.structure",
            "auditor",
            "Journal d'audit, les personnes d'une structure",
            "auditor",
            events,
            {"structure": structure},
        ),
    ]
    return {"clients": clients, "pages": pages, "written_file": written_file}


def remove_written(plan: dict, since: datetime.datetime) -> None:
    """The steps and notes the writing pages added (each run leaves the file as it found it)."""
    Step.objects.filter(beneficiary__public_id=plan["written_file"], created_at__gte=since).delete()
    Note.objects.filter(beneficiary__public_id=plan["written_file"], created_at__gte=since).delete()


def measure_all(meta: dict, *, reps: int) -> list[Result]:
    """This tree's pages, measured in this process (bench/measure.py)."""
    pages_plan = plan(meta)
    clients = probe.make_clients(pages_plan["clients"])
    pages = [
        Page(
            spec["name"],
            spec["persona"],
            spec["description"],
            functools.partial(probe.send, clients, spec),
            ok=tuple(spec["ok"]),
            writes=spec["writes"],
        )
        for spec in pages_plan["pages"]
    ]
    print(f"Pages : {len(pages)}, {reps} requêtes de chacune, à tour de rôle…", flush=True)
    writing_started = timezone.now()
    try:
        results = measure(pages, reps=reps)
    finally:
        remove_written(pages_plan, writing_started)
    for result in results:
        print(
            f"  {result.name} ({result.persona}) : médiane {result.median_ms:.1f} ms, p95 {result.p95_ms:.1f} ms, "
            f"{result.queries} requêtes, plancher {result.floor_ms:.1f} ms",
            flush=True,
        )
    return results
