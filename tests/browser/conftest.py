"""Browser tests: Playwright drives Debian's Chromium (/usr/bin/chromium) against pytest-django's live server.

- Chromium is the Debian package `chromium` (`.ci/run` installs it when missing): a test tool's own
  browser download fails on our machines, so `playwright install` is never run. With CI=true a
  missing Chromium fails the tests; elsewhere they are skipped with the reason.
- `live_server` makes each test transactional: what a test creates is seen by the server's threads,
  and the database is emptied after the test. `demo_data` runs `seed_demo` for the tests that need it.
- Every page is checked as it goes: a server error (5xx), an uncaught JavaScript error or a request
  to another host fails the test. The browser only talks to the live server.
- `axe_check` runs axe-core (shipped by axe-playwright-python) and fails on any serious or critical
  violation; each page's violations are also written to tests/artifacts/axe-<name>.json.
- A failing test leaves a full-page screenshot in tests/artifacts/ (ignored by git, kept by CI).
"""

import io
import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
# A page of the live server answers in well under a second; the margin is for a busy CI machine.
TIMEOUT_MS = 15_000
# Impacts that fail the accessibility checks (axe-core: minor, moderate, serious, critical).
BLOCKING_IMPACTS = ("serious", "critical")


def artifact_path(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's package `chromium` (apt-get install chromium)."
        if settings.CI:
            pytest.fail(f"CI=true: the browser tests must run. {message}")
        pytest.skip(message)
    return str(CHROMIUM)


@pytest.fixture(scope="module")
def browser(chromium_path):
    """One Chromium per test module. Module-scoped, not session-scoped: Playwright's event loop stays set
    in the main thread while it runs, and the tests after these ones must not find it there."""
    expect.set_options(timeout=TIMEOUT_MS)
    with pytest.MonkeyPatch.context() as patch:
        # Playwright's sync API runs an asyncio event loop in the test's own thread (in a greenlet), so
        # Django sees a running loop and refuses ORM calls from the test (SynchronousOnlyOperation) while
        # the browser is open: the seed, the tests' queries and the database flush after each test would
        # fail. Nothing runs concurrently with that loop (the test waits on each browser call), so the
        # check is safely turned off, for as long as the browser runs.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            # Not a persistent context: Playwright gives Chromium a fresh temporary profile (user-data dir).
            browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
            yield browser
            browser.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    # Keeps each phase's report on the test item, for `page` to know whether the test failed.
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(browser, live_server, request):
    """A fresh browser context (no cookies) on the live server; checks each response and script error."""
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 1280, "height": 900},
        locale="fr-FR",
        timezone_id="Europe/Paris",
    )
    context.set_default_timeout(TIMEOUT_MS)
    problems: list[str] = []

    # Only the live server is reached: nothing leaves the machine, and a page that needs another
    # host (a CDN, a font) is a bug here.
    def route(route):
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            problems.append(f"request to another host blocked: {route.request.url}")
            route.abort()

    context.route(re.compile(r"^https?://"), route)
    page = context.new_page()
    page.on("pageerror", lambda error: problems.append(f"JavaScript error on {page.url}: {error}"))
    page.on(
        "response",
        lambda response: (
            problems.append(f"HTTP {response.status} on {response.request.method} {response.url}")
            if response.status >= 500
            else None
        ),
    )
    yield page
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        try:
            page.screenshot(path=artifact_path(f"failure-{request.node.name}.png"), full_page=True)
        except PlaywrightError as error:  # a crashed or closed page: the test's own failure says more
            problems.append(f"no failure screenshot: {error}")
    context.close()
    assert not problems, "The browser met problems:\n" + "\n".join(problems)


@pytest.fixture
def demo_data(live_server):
    """The demo data set (`manage.py seed_demo`) in the live server's database, emptied after the test."""
    call_command("seed_demo", stdout=io.StringIO())


def log_in(page, username: str, password: str | None = None) -> None:
    page.goto("/connexion/")
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe").fill(password or settings.DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    # Signed in: the header offers to sign out.
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()


def log_out(page) -> None:
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url("**/connexion/")


def format_violations(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']} <{violation['helpUrl']}>")
        for node in violation["nodes"]:
            target = " ".join(json.dumps(part) if not isinstance(part, str) else part for part in node["target"])
            lines.append(f"    at {target}")
            summary = " ".join(node.get("failureSummary", "").split())
            if summary:
                lines.append(f"      {summary}")
    return "\n".join(lines)


def assert_no_blocking_violations(found: dict[str, list[dict]]) -> None:
    """`found` maps a page's name to its blocking violations (from `axe_check`)."""
    report = "\n".join(
        f"{name} page:\n{format_violations(violations)}" for name, violations in found.items() if violations
    )
    if report:
        pytest.fail(f"Serious or critical accessibility violations (axe-core):\n{report}", pytrace=False)


@pytest.fixture(scope="session")
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


@pytest.fixture
def axe_check(axe):
    """`axe_check(page, "name")`: runs axe-core on the page as it is; returns the blocking violations.

    The caller asserts on the result, so that one test can check several pages and report them all.
    """

    def check(page, name: str) -> list[dict]:
        violations = axe.run(page).response["violations"]
        artifact_path(f"axe-{name}.json").write_text(
            json.dumps({"url": page.url, "violations": violations}, indent=2, ensure_ascii=False)
        )
        return [violation for violation in violations if violation["impact"] in BLOCKING_IMPACTS]

    return check
