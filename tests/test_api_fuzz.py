"""Fuzz the JSON API against its own OpenAPI document with schemathesis, in process, with real tokens.

Every operation gets generated requests, valid by the document (positive) and not (negative), on rows
that exist and on made-up ids, and one known-good request; no answer may be a server error, and every
answer must have a status, a content type and a body the document declares. Bounded by the number of
examples per operation, so that the whole run takes well under two minutes; the long version:
`API_FUZZ_EXAMPLES=300 .venv/bin/python -m pytest -p no:cacheprovider tests/test_api_fuzz.py`.
"""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from matchmaker.domain.curation import add_note
from matchmaker.domain.tokens import create_token
from matchmaker.extensions import db
from matchmaker.models import Demand, MatchStatus, Offering, PostingStatus

from .factories import make_match, make_pair, persona, publish

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Examples per operation and mode: 10 valid and 5 invalid in CI; API_FUZZ_EXAMPLES=300 searches far longer.
POSITIVE_EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "10"))
EXAMPLES = {GenerationMode.POSITIVE: POSITIVE_EXAMPLES, GenerationMode.NEGATIVE: max(1, POSITIVE_EXAMPLES // 2)}
# Who calls each resource: the owners of its rows, and a curator for matches and the rest.
CALLER = {"demands": "manufacturer", "offerings": "vendor"}
# A request each operation must answer with success, besides the generated ones.
GOOD_REQUESTS = {
    ("POST", "/api/v1/demands/"): {"body": {"title": "Kiln fault warning", "description": "Warn.", "budget_min": 1}},
    ("POST", "/api/v1/offerings/"): {"body": {"title": "Vibration analytics", "description": "Faults.", "capacity": 2}},
    ("PATCH", "/api/v1/demands/{posting_id}"): {"body": {"city": "Foshan"}},
    ("PATCH", "/api/v1/offerings/{posting_id}"): {"body": {"regions": ["Guangdong"]}},
    ("POST", "/api/v1/matches/{match_id}/transitions"): {"body": {"action": "pilot_started"}},
    ("GET", "/api/v1/search"): {"query": {"q": "fabric defects"}},
}

pytestmark = pytest.mark.slow


@pytest.fixture
def app_config(app_config):
    # Hundreds of generated requests in a minute: the rate limit is tested in test_api.py, not here.
    return {**app_config, "MATCHMAKER_API_RATE_LIMIT": "100000 per minute"}


@pytest.fixture
def world(app, personas):
    """Postings of every state and a connected match with a curator's note; a token for each caller."""
    with app.app_context():
        publish(Demand, "Foshan Weave", "布面瑕疵检测", "布面上的跳纱、破洞全靠肉眼看。", city="佛山")
        publish(Offering, "Loom Vision", "Fabric defect detection", "Line-scan cameras find holes.")
        match = make_match(MatchStatus.CONNECTED)
        add_note(persona("curator"), match, "Both sides want a pilot in May.")
        demand, offering = make_pair(PostingStatus.DRAFT)
        tokens = {name: create_token(persona(name), "fuzz")[1] for name in ("manufacturer", "vendor", "curator")}
        return {"tokens": tokens, "posting_id": {"demands": demand.id, "offerings": offering.id}, "match_id": match.id}


def test_api_conforms_to_its_openapi_document(app, world):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 17
    for operation in operations:
        resource = operation.path.split("/")[3]
        headers = {"Authorization": f"Bearer {world['tokens'][CALLER.get(resource, 'curator')]}"}
        existing = _existing_ids(operation.path, resource, world)
        case = operation.Case(
            path_parameters=existing, **GOOD_REQUESTS.get((operation.method.upper(), operation.path), {})
        )
        assert case.call_and_validate(headers=headers, checks=CHECKS).status_code < 300, operation.label
        for mode, examples in EXAMPLES.items():
            _fuzz(app, operation.as_strategy(generation_mode=mode), examples, headers)
            if existing:
                _fuzz(app, operation.as_strategy(generation_mode=mode, path_parameters=existing), examples, headers)


def _existing_ids(path: str, resource: str, world: dict) -> dict:
    """Return path parameters naming rows that exist, for an operation on one row."""
    if "{posting_id}" in path:
        return {"posting_id": world["posting_id"][resource]}
    if "{match_id}" in path:
        return {"match_id": world["match_id"]}
    return {}


def _fuzz(app, strategy, examples: int, headers: dict) -> None:
    """Run the generated cases of one strategy and check every answer."""

    @settings(
        max_examples=examples, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    @given(case=strategy)
    def run(case):
        case.call_and_validate(headers=headers, checks=CHECKS)
        with app.app_context():
            db.session.remove()

    run()
