"""The load test's users (locust): referents browsing their caseload and files and logging steps,
supervisors on their dashboard. Run by bench/load.py (`make loadtest`), never by hand against a real
server: it logs in with the benchmark database's shared password.

The users are locust's FastHttpUser (geventhttpclient): the load generator runs on the same two cores as
the server, and requests' client (HttpUser) cost it about 3.5 ms of CPU per request, a tenth of the
server's work, taken from the server (docs/performance.md).

The personas come from the environment: BENCH_REFERENTS and BENCH_SUPERVISORS (comma-separated
usernames), BENCH_PASSWORD, BENCH_FILTERS (a query string of caseload filters).
"""

import datetime
import itertools
import os
import random
import re
import zoneinfo

from locust import FastHttpUser, between, task

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
FILE_LINK = re.compile(r'href="/dossiers/([0-9a-f-]{36})/"')
_referents = itertools.cycle(os.environ.get("BENCH_REFERENTS", "").split(","))
_supervisors = itertools.cycle(os.environ.get("BENCH_SUPERVISORS", "").split(","))
PASSWORD = os.environ.get("BENCH_PASSWORD", "")
# Three caseload filters combined (a query string).
FILTERS = os.environ.get("BENCH_FILTERS", "")


class Person(FastHttpUser):
    abstract = True
    # Think time between two clicks.
    wait_time = between(0.5, 2)
    usernames = _referents

    def on_start(self):
        self.client.get("/connexion/", name="connexion")
        response = self.client.post(
            "/connexion/",
            {"username": next(self.usernames), "password": PASSWORD, "csrfmiddlewaretoken": self._csrf()},
            name="connexion",
            allow_redirects=False,
        )
        if response.status_code != 302:
            raise RuntimeError(f"Connexion refusée ({response.status_code}).")

    def _csrf(self) -> str:
        return next((cookie.value for cookie in self.client.cookiejar if cookie.name == "csrftoken"), "")


class Referent(Person):
    weight = 4
    usernames = _referents

    def on_start(self):
        super().on_start()
        self.files: list[str] = []
        self.caseload()

    @task(4)
    def caseload(self):
        response = self.client.get("/dossiers/", name="/dossiers/")
        self.files = FILE_LINK.findall(response.text) or self.files

    @task(1)
    def caseload_page(self):
        self.client.get("/dossiers/?page=2", name="/dossiers/?page=N")

    @task(1)
    def caseload_filtered(self):
        self.client.get(f"/dossiers/?{FILTERS}", name="/dossiers/?filtres")

    @task(6)
    def file(self):
        if self.files:
            public_id = random.choice(self.files)  # noqa: S311 (which file to open, not a secret)
            self.client.get(f"/dossiers/{public_id}/", name="/dossiers/[dossier]/")

    @task(1)
    def log_step(self):
        if not self.files:
            return
        url = f"/dossiers/{random.choice(self.files)}/etapes/nouvelle/"  # noqa: S311
        self.client.get(url, name="/dossiers/[dossier]/etapes/nouvelle/ (GET)")
        self.client.post(
            url,
            {
                "kind": "training",
                "date": datetime.datetime.now(tz=PARIS).date().isoformat(),
                "status": "done",
                "outcome": "Test de charge.",
                "csrfmiddlewaretoken": self._csrf(),
            },
            headers={"Referer": self.host + url},
            name="/dossiers/[dossier]/etapes/nouvelle/ (POST)",
        )


class Supervisor(Person):
    weight = 1
    usernames = _supervisors

    @task(3)
    def dashboard(self):
        self.client.get("/equipe/", name="/equipe/")

    @task(1)
    def alerts(self):
        self.client.get("/equipe/alertes/", name="/equipe/alertes/")

    @task(2)
    def caseload(self):
        self.client.get("/dossiers/", name="/dossiers/ (responsable)")
