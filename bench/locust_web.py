"""The simulated people of bench/bench_web.py, for locust: factories, vendors and curators, signed in, CSRF on.

Started by bench_web.py as `locust -f bench/locust_web.py --headless …`; it reads the accounts from the
JSON file named by BENCH_WEB_USERS ([{"email", "password", "role"}]) and appends one line per request
to BENCH_WEB_SAMPLES: [group, name, milliseconds, status, outcome, finished at], outcome being "ok", "conflict" (a
review step someone else took first: 409, the page's own answer to a race) or "error" (anything else:
a 5xx, an unexpected 4xx, a refused or cut connection).

Each person browses as a person would: the ids they open and act on come from the pages they were shown.
Groups: "pages" (dashboard, lists, posting and match pages, the curation queue), "search", "actions"
(curators' shortlist/introduce/reject, parties' accept/decline, by JSON with the page's CSRF token) and
"auth" (signing in, once per person at start).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import threading
import time
from pathlib import Path

from locust import between, events, task
from locust.contrib.fasthttp import FastHttpUser

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
MATCH_LINK = re.compile(r'href="/matches/(\d+)"')
CURATION_LINK = re.compile(r'href="/curation/matches/(\d+)"')
POSTING_LINK = re.compile(r'href="/(demands|offerings)/(\d+)"')
QUERIES = [
    "布面瑕疵视觉检测",
    "注塑參數優化",
    "預測性維護",
    "能耗优化",
    "defect detection",
    "Kiln fault early warning",
    "Compressor energy saving",
    "质检",
    "倉儲機器人",
    "vision inspection of welds",
]
DECLINE_REASONS = ["not_relevant", "budget", "timing", "capacity"]
REJECT_REASONS = ["poor_fit", "scenario_mismatch", "duplicate"]

ACCOUNTS = json.loads(Path(os.environ["BENCH_WEB_USERS"]).read_text(encoding="utf-8"))
THINK = [float(x) for x in os.environ.get("BENCH_WEB_THINK", "1-3").split("-")]
_samples = open(os.environ["BENCH_WEB_SAMPLES"], "a", encoding="utf-8", buffering=1)  # noqa: SIM115 (for the run)
_write = threading.Lock()
_next_account = itertools.count()


def record(group: str, name: str, ms: float, status: int, outcome: str) -> None:
    with _write:
        _samples.write(json.dumps([group, name, round(ms, 2), status, outcome, round(time.time(), 3)]) + "\n")


@events.request.add_listener
def _on_request(request_type, name, response_time, response_length, response, context, exception, **_):
    status = getattr(response, "status_code", 0) or 0
    if exception is None and status < 400:
        outcome = "ok"
    elif status == 409 and context.get("group") == "actions":
        outcome = "conflict"
    else:
        outcome = "error"
    record(context.get("group", "pages"), name, response_time, status, outcome)


class Person(FastHttpUser):
    """One signed-in person; their role decides the mix of what they do."""

    wait_time = between(*THINK) if len(THINK) == 2 else between(THINK[0], THINK[0])
    connection_timeout = 60.0
    network_timeout = 120.0

    def on_start(self):
        account = ACCOUNTS[next(_next_account) % len(ACCOUNTS)]
        self.role, self.token = account["role"], ""
        self.postings: list[tuple[str, str]] = []
        self.matches: list[str] = []
        self.get("/auth/login", "auth", "/auth/login")
        with self.client.post(
            "/auth/login",
            data={"email": account["email"], "password": account["password"], "csrf_token": self.token},
            allow_redirects=False,
            catch_response=True,
            context={"group": "auth"},
        ) as response:
            if response.status_code != 302 or "/auth/login" in response.headers.get("Location", ""):
                response.failure(f"sign-in refused for {account['email']}: {response.status_code}")

    # ------------------------------------------------------------ helpers

    def get(self, path: str, group: str = "pages", name: str | None = None) -> str:
        with self.client.get(path, name=name or path, context={"group": group}, catch_response=True) as response:
            text = response.text or ""
            found = CSRF.search(text)
            self.token = found.group(1) if found else self.token
            if response.status_code == 200:
                response.success()
            return text

    def act(self, path: str, name: str, body: dict) -> None:
        """Take a match step by JSON, as the pages' buttons do, with the CSRF token of the page it came from."""
        with self.client.post(
            path,
            json=body,
            headers={"X-CSRFToken": self.token, "Accept": "application/json"},
            name=name,
            context={"group": "actions"},
            catch_response=True,
        ) as response:
            if response.status_code == 409:
                response.success()  # another person took this step first: the page's own answer, not an error

    def remember(self, text: str) -> None:
        self.postings = (POSTING_LINK.findall(text) + self.postings)[:40]

    # ------------------------------------------------------------ what everyone does

    @task(3)
    def dashboard(self):
        self.get("/dashboard")

    @task(4)
    def lists(self):
        kind = random.choice(["demands", "offerings"])
        page = random.randint(1, 5)
        self.remember(self.get(f"/{kind}/?page={page}", name=f"/{kind}/?page=N"))

    @task(4)
    def posting_page(self):
        if not self.postings:
            return self.lists()
        kind, number = random.choice(self.postings)
        self.get(f"/{kind}/{number}", name=f"/{kind}/<id>")

    @task(3)
    def search(self):
        self.get(f"/search/?q={random.choice(QUERIES)}", "search", "/search/?q=…")

    @task(2)
    def notifications(self):
        self.get("/notifications/")

    # ------------------------------------------------------------ by role

    @task(6)
    def review(self):
        if self.role == "curator":
            self.curate()
        else:
            self.answer()

    def curate(self):
        status = random.choice(["proposed", "shortlisted", ""])
        text = self.get(f"/curation/?status={status}" if status else "/curation/", name="/curation/?status=…")
        ids = CURATION_LINK.findall(text)
        if not ids:
            return
        match_id = random.choice(ids)
        self.get(f"/curation/matches/{match_id}", name="/curation/matches/<id>")
        action = random.choices(["shortlist", "introduce", "reject"], weights=[3, 4, 1])[0]
        body = {"action": action}
        if action == "reject":
            body["reason"] = random.choice(REJECT_REASONS)
        self.act(f"/matches/{match_id}/review", f"POST /matches/<id>/review {action}", body)

    def answer(self):
        text = self.get("/matches/?status=introduced", name="/matches/?status=introduced")
        ids = MATCH_LINK.findall(text)
        if not ids:
            self.get("/matches/")
            return
        match_id = random.choice(ids)
        self.get(f"/matches/{match_id}", name="/matches/<id>")
        if random.random() < 0.75:
            self.act(f"/matches/{match_id}/accept", "POST /matches/<id>/accept", {})
        else:
            reason = random.choice(DECLINE_REASONS)
            self.act(f"/matches/{match_id}/decline", "POST /matches/<id>/decline", {"reason": reason})
