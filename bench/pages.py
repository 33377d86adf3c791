"""The pages the benchmark measures, for the personas of the filled database (bench/fill.py)."""

import datetime

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from bench.measure import Page, Result, measure
from casework.models import Note, Step
from casework.permissions import visible_beneficiaries

# Pairs of pages that must send the same number of statements: the same page for little and much data.
SAME_QUERIES = [
    ("fichier.gros", "fichier.moyen"),
    ("liste.responsable.premiere", "liste.responsable.profonde"),
    ("liste.referent.premiere", "liste.referent.filtres"),
]


def _client(username: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


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
    (read, last_name), (written, _) = files[0], files.reverse()[0]
    return str(read), last_name, str(written)


def _remove_written(public_id: str, since: datetime.datetime) -> None:
    """The steps and notes the writing pages added (each run leaves the file as it found it)."""
    Step.objects.filter(beneficiary__public_id=public_id, created_at__gte=since).delete()
    Note.objects.filter(beneficiary__public_id=public_id, created_at__gte=since).delete()


def measure_all(meta: dict, *, reps: int) -> list[Result]:
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
    referent_client, supervisor_client = _client(referent), _client(supervisor)
    # The search term lives in the session (never in a URL): the search pages have clients of their own,
    # since the pages are requested in turn (bench.measure).
    referent_search, supervisor_search = _client(referent), _client(supervisor)
    referent_search.post(search, {"q": referent_term})
    supervisor_search.post(search, {"q": meta["search_term"]["term"]})
    team_client, auditor_client = _client(team), _client(auditor)
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
        Page(
            "accueil",
            "referent",
            "Accueil, sans données (le socle de toute page)",
            lambda: referent_client.get(reverse("home")),
        ),
        # The caseload of a referent (the files they follow) and of a supervisor of 10 structures (all).
        Page(
            "liste.referent.premiere", "referent", "Mes dossiers, première page", lambda: referent_client.get(caseload)
        ),
        Page(
            "liste.referent.filtres",
            "referent",
            "Mes dossiers, trois filtres combinés",
            lambda: referent_client.get(caseload, filters),
        ),
        Page(
            "liste.referent.recherche",
            "referent",
            "Mes dossiers, recherche d'un nom",
            lambda: referent_search.get(caseload),
        ),
        Page(
            "liste.responsable.premiere",
            "supervisor10",
            "Dossiers de 10 structures, première page",
            lambda: supervisor_client.get(caseload),
        ),
        Page(
            "liste.responsable.profonde",
            "supervisor10",
            f"Dossiers de 10 structures, page {meta['deep_page']}",
            lambda: supervisor_client.get(caseload, deep),
        ),
        Page(
            "liste.responsable.filtres",
            "supervisor10",
            "Dossiers de 10 structures, trois filtres combinés",
            lambda: supervisor_client.get(caseload, filters),
        ),
        Page(
            "liste.responsable.recherche",
            "supervisor10",
            "Dossiers de 10 structures, recherche d'un nom",
            lambda: supervisor_search.get(caseload),
        ),
        # The file page: 500 events on the timeline, and an ordinary file.
        Page(
            "fichier.gros",
            "referent",
            "Page d'un dossier de 500 événements",
            lambda: referent_client.get(reverse("casework:file_detail", args=[big_file])),
        ),
        Page(
            "fichier.moyen",
            "referent",
            "Page d'un dossier ordinaire",
            lambda: referent_client.get(reverse("casework:file_detail", args=[ordinary_file])),
        ),
        # Writing: a step, a note, on another file than the ones read (each request adds one, the captured
        # one is rolled back, and the others are removed once measured).
        Page(
            "ecriture.etape",
            "referent",
            "Enregistrer une étape",
            lambda: referent_client.post(reverse("casework:step_create", args=[written_file]), step),
            ok=(302,),
            writes=True,
        ),
        Page(
            "ecriture.note",
            "referent",
            "Ajouter une note",
            lambda: referent_client.post(reverse("casework:note_create", args=[written_file]), note),
            ok=(302,),
            writes=True,
        ),
        # The supervisor's dashboard for 40 referents.
        Page(
            "tableau.equipe",
            "supervisor_team",
            "Tableau de bord de 40 référents",
            lambda: team_client.get(reverse("team:dashboard")),
        ),
        # Their alerts, most overdue first (not one of issue 8's target pages; measured to follow it).
        Page(
            "alertes.equipe",
            "supervisor_team",
            "Alertes de l'équipe de 40 référents, première page",
            lambda: team_client.get(reverse("team:alerts")),
        ),
        # The auditor's search of the trail: the newest events, one person over a month, the people of one
        # structure (the referent's), from its name in each event.
        Page("audit.recherche", "auditor", "Journal d'audit, derniers événements", lambda: auditor_client.get(events)),
        Page(
            "audit.recherche.filtree",
            "auditor",
            "Journal d'audit, une personne sur 30 jours",
            lambda: auditor_client.get(events, month),
        ),
        Page(
            "audit.recherche.structure",
            "auditor",
            "Journal d'audit, les personnes d'une structure",
            lambda: auditor_client.get(events, {"structure": structure}),
        ),
    ]
    print(f"Pages : {len(pages)}, {reps} requêtes de chacune, à tour de rôle…", flush=True)
    writing_started = timezone.now()
    try:
        results = measure(pages, reps=reps)
    finally:
        _remove_written(written_file, writing_started)
    for result in results:
        print(
            f"  {result.name} ({result.persona}) : médiane {result.median_ms:.1f} ms, p95 {result.p95_ms:.1f} ms, "
            f"{result.queries} requêtes, plancher {result.floor_ms:.1f} ms",
            flush=True,
        )
    return results
