import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)

# Property tests draw the same examples on every run, so `make test` and CI
# give the same answer for the same code; HYPOTHESIS_PROFILE=explore draws
# new ones (run it when changing the model, and keep any counterexample).
from hypothesis import settings  # noqa: E402

settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


# --------------------------------------------------------------------------- shared runs and the browser
import contextlib  # noqa: E402
import io  # noqa: E402

import pytest  # noqa: E402

CHROMIUM = Path(os.environ.get("BUSETTING_CHROMIUM", "/usr/bin/chromium"))
# CI sets BUSETTING_REQUIRE_BROWSER=1 (.ci/run): there a missing browser fails instead of skipping.
REQUIRE_BROWSER = os.environ.get("BUSETTING_REQUIRE_BROWSER") == "1"


@pytest.fixture(scope="session")
def published(tmp_path_factory):
    """``published(plan, command="allocate")``: the run folder of ``plan`` published once per
    session by ``python -m pipeline <command>`` into one out folder (a re-plan finds its
    base plan there).  Tests read it or copy it and may add folders beside it (a ladder);
    none may change a run folder."""
    from pipeline.__main__ import main

    out = tmp_path_factory.mktemp("published")
    done = {}

    def run(plan: str, command: str = "allocate") -> Path:
        if plan not in done:
            stderr = io.StringIO()
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(stderr):
                status = main([command, "--plan", plan, "--out", str(out)])
            assert status == 0, stderr.getvalue()
            done[plan] = out / plan
        return done[plan]

    return run


def browser_missing(reason: str):
    if REQUIRE_BROWSER:
        pytest.fail(f"{reason}, and BUSETTING_REQUIRE_BROWSER=1 (CI) requires the browser tests to run")
    pytest.skip(f"{reason}: install it (apt-get install chromium) to run the browser tests")


@pytest.fixture(scope="session")
def chromium() -> Path:
    """The system's Chromium, with Playwright and pypdf to drive it and split what it prints;
    skipped when any is missing, except in CI."""
    if not CHROMIUM.is_file():
        browser_missing(f"{CHROMIUM} is missing")
    try:
        import playwright.sync_api  # noqa: F401
        import pypdf  # noqa: F401
    except ImportError as exc:
        browser_missing(f"{exc.name} is not installed (pip install -e '.[test]')")
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium):
    """Headless Chromium (the Debian package) driven by Playwright, for one test
    module: Playwright's sync API cannot start while another instance is open
    in the same process, and the letters-pdf command starts its own."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # Playwright already starts Chromium headless, without sandbox, sync or background networking.
        engine = p.chromium.launch(executable_path=str(chromium), headless=True,
                                   args=["--disable-gpu", "--disable-quic", "--disable-component-update"])
        yield engine
        engine.close()


LOCAL = ("file://", "data:", "blob:", "about:")


@pytest.fixture
def page(browser):
    """A page whose every request that is not a local file is aborted and recorded
    (``page.attempted``); console errors and uncaught exceptions in ``page.errors``."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    attempted, errors = [], []

    def guard(route):
        url = route.request.url
        if url.startswith(LOCAL):
            route.continue_()
        else:
            attempted.append(url)
            route.abort("blockedbyclient")

    context.route("**/*", guard)
    context.route_web_socket("**/*", lambda ws: (attempted.append(ws.url), ws.close()))
    tab = context.new_page()
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.attempted, tab.errors = attempted, errors
    yield tab
    context.close()
