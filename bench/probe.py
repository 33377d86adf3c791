"""Requesting the benchmark's pages in one tree: the part of `make bench` that runs the code measured.

The pages are plain data (bench/pages.py `plan`): clients (a username, and a request that puts what the
page needs in the session, such as a search term) and pages (a client, a method, a path, its parameters,
the statuses expected). This module turns them into requests of Django's test client, times them and
counts their SQL statements.

`make bench` imports it (bench/measure.py). `make bench BASE=<rev>` also runs it in each tree compared
(bench/compare.py): as `python -c <this file's text>`, with the tree as working directory and PYTHONPATH,
so that the process imports that tree's code. The tree before a change has its own bench/ (or an older
one), so this module imports nothing of ours: only Django and the standard library, and the settings
`config.settings.bench` that every tree has. In that mode it reads one JSON message a line on stdin and
answers one JSON line on stdout (see `serve`).
"""

import json
import os
import re
import sys
import time

SETTINGS = "config.settings.bench"
# Transaction bookkeeping: not counted as a page's statements (absent from production's requests).
BOOKKEEPING = re.compile(r"^(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT|BEGIN|COMMIT|ROLLBACK)\b")


class ProbeError(Exception):
    pass


class Rollback(Exception):
    pass


def make_clients(specs: dict) -> dict:
    """A signed-in test client for each spec: {"username": ..., "session": {"path", "data"} or None}."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    users = get_user_model().objects
    clients = {}
    for key, spec in specs.items():
        client = Client()
        client.force_login(users.get(username=spec["username"]))
        if spec.get("session"):
            response = client.post(spec["session"]["path"], spec["session"]["data"])
            if response.status_code >= 400:
                raise ProbeError(f"{key} : {spec['session']['path']} a répondu {response.status_code}.")
        clients[key] = client
    return clients


def send(clients: dict, page: dict):
    """One request of the page; its response."""
    client = clients[page["client"]]
    method = client.post if page["method"] == "post" else client.get
    return method(page["path"], page.get("data") or {})


def check(page: dict, response) -> None:
    if response.status_code not in page["ok"]:
        raise ProbeError(f"{page['name']} : HTTP {response.status_code} (attendu {page['ok']}).")


def timed_ms(clients: dict, page: dict) -> float:
    """The server time of one request of the page, in milliseconds (its status checked after)."""
    started = time.perf_counter()
    response = send(clients, page)
    elapsed = (time.perf_counter() - started) * 1000
    check(page, response)
    return elapsed


def counted(captured: list[dict]) -> list[str]:
    """The statements a request sent, without transaction bookkeeping."""
    return [query["sql"] for query in captured if not BOOKKEEPING.match(query["sql"])]


def captured(clients: dict, page: dict) -> list[dict]:
    """The statements of one more request of the page; a writing page's request is rolled back."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    try:
        with transaction.atomic():
            with CaptureQueriesContext(connection) as capture:
                response = send(clients, page)
            check(page, response)
            if page.get("writes"):
                raise Rollback
    except Rollback:
        pass
    return capture.captured_queries


def answer(message: dict, state: dict) -> dict:
    """What the parent asks, one message at a time:
    - {"do": "start", "plan": {"clients": ..., "pages": ...}}: sign the clients in;
    - {"do": "round"}: one request of each page, in the plan's order: {"times_ms": [...]};
    - {"do": "count"}: each page's statements, one request each: {"queries": [...]};
    - {"do": "quit"}."""
    if message["do"] == "start":
        state["pages"] = message["plan"]["pages"]
        state["clients"] = make_clients(message["plan"]["clients"])
        import django

        import config

        # The tree whose code this process runs (the parent checks it is the one it meant).
        return {"django": django.get_version(), "code": os.path.dirname(os.path.dirname(config.__file__))}
    if message["do"] == "round":
        return {"times_ms": [timed_ms(state["clients"], page) for page in state["pages"]]}
    if message["do"] == "count":
        return {"queries": [len(counted(captured(state["clients"], page))) for page in state["pages"]]}
    raise ProbeError(f"message inconnu : {message!r}")


def serve(reader, writer) -> None:
    state: dict = {}
    for line in reader:
        message = json.loads(line)
        if message["do"] == "quit":
            break
        try:
            reply = answer(message, state)
        except Exception as error:  # reported to the parent, which stops the run
            reply = {"error": f"{type(error).__name__}: {error}"}
        writer.write(json.dumps(reply) + "\n")
        writer.flush()
        if "error" in reply:
            break


def main() -> None:
    # Replies go to the parent through the real stdout; whatever the application prints goes to stderr.
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    import django

    django.setup()
    try:
        # As a web worker does once the application is loaded (config/wsgi.py), where the tree has it.
        from config.process import settle
    except ImportError:
        pass
    else:
        settle()
    serve(sys.stdin, replies)


if __name__ == "__main__":
    main()
