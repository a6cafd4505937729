"""Load soak: simulated people post, review and search against the real server (gunicorn) on loopback.

Factories post and publish demands, vendors offerings (each publish indexes and proposes), curators
shortlist and introduce proposals, both sides accept introductions, and everyone searches, with CSRF on,
through `requests` sessions. It stops by itself. Afterwards: no response was a 5xx, and every posting and
every match step the server answered with success is in the database (counted).

The server runs as deployed: `gunicorn 'matchmaker:create_app()'` with WORKERS processes of THREADS
threads, configured by environment variables like production. CI size: 8 people for 20 seconds.
The long version (50 people for 5 minutes):
`SOAK_USERS=50 SOAK_SECONDS=300 .venv/bin/python -m pytest -p no:cacheprovider -s tests/test_soak.py`
"""

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from matchmaker.extensions import db
from matchmaker.matching.engine import forget_engines
from matchmaker.models import Demand, Match, MatchEvent, MatchStatus, Offering, OrgKind, Role, User

from .apps import app_with_schema, base_config
from .factories import PASSWORD, demand_form, free_port, make_user, offering_form

USERS = int(os.environ.get("SOAK_USERS", "8"))
SECONDS = float(os.environ.get("SOAK_SECONDS", "20"))
WORKERS, THREADS = 2, 4
ROLES = ("maker", "vendor", "curator", "maker", "vendor")  # the mix, repeated over the simulated people
TOPICS = [
    ("布面瑕疵视觉检测", "织机上的跳纱、破洞、污渍想用相机和模型自动检出"),
    ("Kiln fault early warning", "Predict kiln faults from temperature curves before a batch is lost"),
    ("注塑參數優化", "注塑機良率不穩，希望用AI根據歷史數據自動調整參數"),
    ("Compressor energy saving", "Cut compressed-air power use with load forecasting"),
]
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@dataclass
class Tally:
    """What the simulated people saw: every status code, and each success the server reported."""

    statuses: Counter = field(default_factory=Counter)
    server_errors: list = field(default_factory=list)
    postings: list = field(default_factory=list)  # (kind, title)
    steps: list = field(default_factory=list)  # (match id, action, user email)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def saw(self, response: requests.Response, what: str) -> requests.Response:
        with self.lock:
            self.statuses[response.status_code] += 1
            if response.status_code >= 500:
                self.server_errors.append((what, response.status_code, response.text[:300]))
        return response


class Person:
    """One simulated person with their own session."""

    def __init__(self, base: str, email: str, tally: Tally, app):
        self.base, self.email, self.tally, self.app = base, email, tally, app
        self.http = requests.Session()
        self.token = ""

    def get(self, path: str, **kwargs) -> requests.Response:
        response = self.tally.saw(self.http.get(self.base + path, timeout=120, **kwargs), f"GET {path}")
        found = CSRF.search(response.text)
        self.token = found.group(1) if found else self.token
        return response

    def post(self, path: str, **kwargs) -> requests.Response:
        headers = {"X-CSRFToken": self.token} if "json" in kwargs else {}
        response = self.http.post(self.base + path, timeout=120, allow_redirects=False, headers=headers, **kwargs)
        return self.tally.saw(response, f"POST {path}")

    def failed(self, error: Exception) -> None:
        """Count a request that got no answer (refused, reset, timed out) as a server failure."""
        with self.tally.lock:
            self.tally.server_errors.append((self.email, type(error).__name__, str(error)[:300]))

    def log_in(self) -> None:
        self.get("/auth/login")
        assert self.post("/auth/login", data={"email": self.email, "password": PASSWORD, "csrf_token": self.token})

    def post_posting(self, kind: str, number: int) -> None:
        """Post and publish a demand or an offering; remember it if the server said it was saved."""
        topic, text = random.choice(TOPICS)
        title = f"{topic} {self.email.split('@')[0]} #{number}"
        form = (demand_form if kind == "demand" else offering_form)(title=title, description=text, publish="Publish")
        self.get(f"/{kind}s/new")
        response = self.post(f"/{kind}s/new", data={**form, "csrf_token": self.token})
        if response.status_code == 302 and re.search(rf"/{kind}s/\d+$", response.headers["Location"]):
            with self.tally.lock:
                self.tally.postings.append((kind, title))

    def take_step(self, status: MatchStatus, path: str, body: dict) -> None:
        """Take a match step on a match in this state, by JSON; remember it if the server applied it."""
        match_id = self.pick(status)
        if match_id is None:
            return
        self.get(f"/matches/{match_id}")  # the page a person would act from (and a fresh CSRF token)
        response = self.post(f"/matches/{match_id}/{path}", json=body)
        if response.status_code == 200:
            with self.tally.lock:
                self.tally.steps.append((match_id, body.get("action", path), self.email))

    def pick(self, status: MatchStatus) -> int | None:
        """Return a match in this state this person may act on, as the lists they browse would show."""
        with self.app.app_context():
            user = db.session.scalar(sa.select(User).where(User.email == self.email))
            query = sa.select(Match.id).where(Match.status == status)
            if not user.is_curator:
                mine = sa.or_(
                    Match.demand_id.in_(sa.select(Demand.id).where(Demand.organization_id == user.organization_id)),
                    Match.offering_id.in_(
                        sa.select(Offering.id).where(Offering.organization_id == user.organization_id)
                    ),
                )
                query = query.where(mine)
            ids = db.session.scalars(query.limit(20)).all()
            db.session.remove()
        return random.choice(ids) if ids else None

    def search(self) -> None:
        self.get("/search/", params={"q": random.choice(TOPICS)[0]})


def _work(person: Person, role: str, deadline: float) -> None:
    """Act as one person until the deadline; a request that gets no answer ends them, counted as a failure."""
    try:
        _act(person, role, deadline)
    except requests.RequestException as error:
        person.failed(error)


def _act(person: Person, role: str, deadline: float) -> None:
    person.log_in()
    number = 0
    while time.monotonic() < deadline:
        number += 1
        if role == "curator":
            action = random.choice(["shortlist", "introduce", "introduce"])
            source = (
                MatchStatus.SHORTLISTED if action == "introduce" and random.random() < 0.5 else MatchStatus.PROPOSED
            )
            person.take_step(source, "review", {"action": action})
            person.get("/curation/")
        else:
            person.post_posting("demand" if role == "maker" else "offering", number)
            person.take_step(MatchStatus.INTRODUCED, "accept", {})
            person.get("/matches/")
        person.search()


@pytest.fixture
def soak_app(tmp_path):
    """Yield an app on a fresh database with the simulated people's accounts."""
    with app_with_schema(base_config(tmp_path)) as app:
        with app.app_context():
            for number in range(USERS):
                role = ROLES[number % len(ROLES)]
                kind, org_role = {
                    "maker": (OrgKind.MANUFACTURER, Role.MEMBER),
                    "vendor": (OrgKind.VENDOR, Role.MEMBER),
                    "curator": (OrgKind.AGENCY, Role.CURATOR),
                }[role]
                org = "Promotion Centre" if role == "curator" else f"Soak {role} {number}"
                make_user(f"{role}{number}@soak.example", kind, org, org_role)
        yield app
    forget_engines()


@pytest.fixture
def server(soak_app, tmp_path):
    """Run gunicorn on the app's database, configured by environment variables as in production."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": soak_app.config["SQLALCHEMY_DATABASE_URI"],
        "MATCHMAKER_DATA_DIR": soak_app.config["DATA_DIR"],
        "SECRET_KEY": "soak",
        "MATCHMAKER_MIN_SCORE": "0",  # propose every top-k pair, so curators always have work
    }
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        *("--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS), "--threads", str(THREADS), "--timeout", "120"),
        "matchmaker:create_app()",
    ]
    log = (tmp_path / "gunicorn.log").open("w")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for(f"http://127.0.0.1:{port}/auth/login", process)
        yield f"http://127.0.0.1:{port}", tmp_path / "gunicorn.log"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        log.close()


def _wait_for(url: str, process: subprocess.Popen) -> None:
    """Wait until the server answers, or fail if it exits or takes over two minutes.

    A worker's first answer may take longer than one probe waits on a loaded machine: a probe that times out
    is tried again, like one that finds nobody listening yet.
    """
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, "gunicorn exited at start"
        try:
            requests.get(url, timeout=5)
            return
        except (requests.ConnectionError, requests.Timeout):  # a worker still warming up (gunicorn.conf.py)
            time.sleep(0.1)
    pytest.fail("gunicorn did not answer within two minutes")


@pytest.mark.slow
def test_soak_no_server_errors_and_every_success_is_stored(soak_app, server):
    base, server_log = server
    tally = Tally()
    deadline = time.monotonic() + SECONDS
    people = [
        threading.Thread(
            target=_work,
            args=(
                Person(base, f"{ROLES[n % len(ROLES)]}{n}@soak.example", tally, soak_app),
                ROLES[n % len(ROLES)],
                deadline,
            ),
        )
        for n in range(USERS)
    ]
    for person in people:
        person.start()
    for person in people:
        person.join(timeout=SECONDS + 300)
    requests_made = sum(tally.statuses.values())
    print(
        f"\nsoak: {USERS} people, {SECONDS:.0f} s, {requests_made} requests ({requests_made / SECONDS:.1f}/s), "
        f"statuses {dict(sorted(tally.statuses.items()))}, {len(tally.postings)} postings, {len(tally.steps)} steps"
    )
    assert not any(person.is_alive() for person in people)
    assert tally.server_errors == [], server_log.read_text()[-3000:]
    assert tally.postings and requests_made > USERS * 5  # the soak did real work
    with soak_app.app_context():
        for kind, model in (("demand", Demand), ("offering", Offering)):
            titles = [title for k, title in tally.postings if k == kind]
            stored = (
                db.session.scalar(sa.select(sa.func.count(model.id)).where(model.title.in_(titles))) if titles else 0
            )
            assert stored == len(titles), kind
        events = Counter(
            db.session.execute(
                sa.select(MatchEvent.match_id, MatchEvent.action, User.email).join(User, MatchEvent.actor_id == User.id)
            ).all()
        )
        for step, times in Counter(tally.steps).items():
            assert events[tuple(step)] >= times, step
