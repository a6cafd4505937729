"""Two server processes on one PostgreSQL database: a posting published through one is found by the other at once.

Each process keeps its own index; they agree through the database's change log (IndexChange rows), which
every process replays before it searches. The processes are real gunicorn servers with CSRF on.
"""

import http.cookiejar
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from matchmaker.extensions import db
from matchmaker.models import Offering

from .factories import PASSWORD, PERSONAS, make_user, offering_form

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("MATCHMAKER_TEST_DATABASE_URL", "").startswith("postgresql"),
        reason="runs against PostgreSQL (set MATCHMAKER_TEST_DATABASE_URL)",
    ),
]
ROOT = Path(__file__).resolve().parents[1]
CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Browser:
    """A signed-in session against one server, posting forms with their CSRF token."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str, json_wanted: bool = False) -> str:
        request = urllib.request.Request(self.base + path)
        if json_wanted:
            request.add_header("Accept", "application/json")
        with self.opener.open(request, timeout=60) as response:
            return response.read().decode()

    def submit(self, form_path: str, data: dict, action: str | None = None) -> str:
        token = CSRF_FIELD.search(self.get(form_path)).group(1)
        body = urllib.parse.urlencode({**data, "csrf_token": token}, doseq=True).encode()
        with self.opener.open(self.base + (action or form_path), data=body, timeout=120) as response:
            return response.geturl()

    def search_ids(self, query: str) -> set[int]:
        found = json.loads(self.get(f"/search/?kind=offering&q={urllib.parse.quote(query)}", json_wanted=True))
        return {hit["id"] for hit in found["results"]}


@pytest.fixture
def two_servers(app, tmp_path):
    """Start two gunicorn servers (one worker each, own data directory) on the app's database."""
    with app.app_context():
        for persona in ("vendor", "manufacturer"):
            make_user(*PERSONAS[persona])
    servers, bases = [], []
    for name in ("a", "b"):
        port = _free_port()
        env = {
            **os.environ,
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "MATCHMAKER_DATA_DIR": str(tmp_path / name),
            "SECRET_KEY": "multi-worker-test",
            "OMP_NUM_THREADS": "1",
        }
        gunicorn = Path(sys.executable).with_name("gunicorn")
        command = [str(gunicorn), "--workers", "1", "--bind", f"127.0.0.1:{port}", "--timeout", "120", "wsgi:app"]
        with (tmp_path / f"{name}.log").open("w") as log:
            servers.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        bases.append(f"http://127.0.0.1:{port}")
    try:
        for base, server in zip(bases, servers):
            deadline = time.monotonic() + 60
            while True:
                assert server.poll() is None, (tmp_path / "a.log").read_text() + (tmp_path / "b.log").read_text()
                try:
                    urllib.request.urlopen(base + "/auth/login", timeout=5).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline, f"{base} did not start"
                    time.sleep(0.2)
        yield bases
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)


def test_a_posting_published_through_one_server_is_found_by_the_other_within_a_second(app, two_servers):
    first, second = (Browser(base) for base in two_servers)
    for browser in (first, second):
        browser.submit("/auth/login", {"email": PERSONAS["vendor"][0], "password": PASSWORD})
        assert browser.search_ids("kiln") == set()  # starts each server's engine before the clock runs
    form = offering_form(
        title="Kiln fault warning from temperature curves",
        description="Predicts kiln burner faults hours ahead from thermocouple curves; runs on premises.",
    )
    del form["save"]
    location = first.submit("/offerings/new", {**form, "publish": "Publish"})
    published_at = time.monotonic()
    with app.app_context():
        offering = db.session.get(Offering, int(location.rsplit("/", 1)[1]))
        assert offering is not None and offering.status.value == "published"
        offering_id = offering.id
    seen_after = None
    while time.monotonic() - published_at < 1.0:
        if offering_id in second.search_ids("kiln burner fault warning"):
            seen_after = time.monotonic() - published_at
            break
        time.sleep(0.05)
    assert seen_after is not None, "the second server did not find the posting within a second"
    assert offering_id in first.search_ids("kiln burner fault warning")
