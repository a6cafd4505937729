"""Property-based tests (hypothesis): text normalisation and segmentation, import parsing, the match lifecycle.

CI runs the `ci` profile (a few dozen examples each, well under 20 s per test). For a long run:
`HYPOTHESIS_PROFILE=long .venv/bin/python -m pytest -p no:cacheprovider tests/test_properties.py`
(profiles are registered in tests/conftest.py).
"""

import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import event, example, given
from hypothesis import strategies as st

from matchmaker.domain import workflow
from matchmaker.domain.errors import DomainError
from matchmaker.domain.importing import COLUMNS, KINDS, ImportFailed, import_postings
from matchmaker.extensions import db
from matchmaker.matching.text import detect_language, normalize, to_simplified, tokenize
from matchmaker.models import Demand, Match, MatchEvent, MatchStatus

from .apps import app_with_schema, base_config
from .factories import PERSONAS, make_match, make_user, persona

S = MatchStatus

# Characters people put in postings: both Chinese scripts, full-width forms, Latin, digits, punctuation.
HANZI = "布面瑕疵檢測视觉检测窯爐窑炉故障預警预警注塑參數参数優化优化電機电机數據数据質量质量機器人机器人"
text = st.text(
    alphabet=st.one_of(st.characters(codec="utf-8"), st.sampled_from(HANZI + "ＡＢＣ１２３，。！ ")), max_size=80
)


# ---------------------------------------------------------------- text


@given(text)
def test_normalize_is_idempotent(value):
    assert normalize(normalize(value)) == normalize(value)


@given(text)
def test_tokens_are_non_empty_words_and_the_same_for_the_normalised_text(value):
    tokens = tokenize(value)
    assert all(token and not token.isspace() and token == token.strip() for token in tokens)
    assert tokenize(normalize(value)) == tokens


@given(st.text(alphabet=st.sampled_from(HANZI + " ab"), max_size=40))
def test_chinese_in_either_script_gives_the_same_tokens(value):
    assert tokenize(value) == tokenize(to_simplified(value))


@given(text)
def test_detected_language_is_known_and_simplified_text_is_never_traditional(value):
    assert detect_language(value) in {"en", "zh-Hant", "zh-Hans"}
    assert detect_language(to_simplified(value)) in {"en", "zh-Hans"}


# ---------------------------------------------------------------- import parsing


@pytest.fixture(scope="module")
def domain_app(tmp_path_factory):
    """One app and its personas for this module's examples; each example makes its own rows."""
    with app_with_schema(base_config(tmp_path_factory.mktemp("properties"))) as app:
        with app.app_context():
            for spec in PERSONAS.values():
                make_user(*spec)
        yield app


DEMAND_FIELDS = [COLUMNS.get(f, f) for f in KINDS["demand"][1].__dataclass_fields__]
DEMAND_COLUMNS = [
    "ref",
    "title",
    "description",
    "organization",
    *(f for f in DEMAND_FIELDS if f not in {"title", "description"}),
]
cell = st.one_of(text, st.sampled_from(["", "17", "13", "99", "-5", "1,000", "2099-01-31", "2001-01-01", "a;b"]))


words = st.text(alphabet=HANZI + "abc ", min_size=1, max_size=30).filter(str.strip)


@st.composite
def plausible_row(draw, width: int) -> list[str]:
    """Return a row with a ref, a title and a description, then any cells."""
    ref = draw(st.from_regex(r"P[0-9]{1,4}", fullmatch=True))
    rest = st.lists(cell | st.just(""), min_size=max(0, width - 3), max_size=width)
    return [ref, draw(words), draw(words), *draw(rest)]


@st.composite
def csv_bytes(draw) -> bytes:
    """Return a CSV file: the real header and cells (some broken), or bytes of any kind."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=300))
    others = st.lists(st.sampled_from(DEMAND_COLUMNS[3:]), max_size=6, unique=True)
    header = [*(DEMAND_COLUMNS[:3] if draw(st.booleans()) else []), *draw(others)] or ["ref"]
    any_row = st.one_of(st.lists(cell, max_size=len(header) + 1), plausible_row(len(header)))
    rows = draw(st.lists(plausible_row(len(header)), min_size=1, max_size=4) | st.lists(any_row, max_size=4))
    lines = [",".join(header)] + [",".join(f'"{c.replace(chr(34), chr(34) * 2)}"' for c in row) for row in rows]
    encoded = "\n".join(lines).encode("utf-8", "surrogatepass")
    return encoded if draw(st.booleans()) else encoded.replace(b"\n", draw(st.sampled_from([b"\r\n", b"\r", b"\x00"])))


def _demand_count() -> int:
    return db.session.scalar(sa.select(sa.func.count(Demand.id)))


@given(data=csv_bytes(), suffix=st.sampled_from([".csv", ".json", ".xlsx"]))
@example(data=b"\xef\xbb\xbf", suffix=".csv")  # a byte-order mark alone: no header line to read
@example(data=b"\xef\xbb\xbf\r\n \r\n", suffix=".csv")
@example(data=b"1", suffix=".json")  # JSON, but neither a list nor an object
def test_any_file_imports_whole_or_is_refused_cleanly(domain_app, data, suffix):
    with domain_app.app_context(), tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"demands{suffix}"
        path.write_bytes(data)
        before = _demand_count()
        try:
            result = import_postings("demand", path, propose=False)
        except ImportFailed as refusal:
            assert refusal.problems and all(isinstance(p, str) and p for p in refusal.problems)
            assert _demand_count() == before  # a refused file writes nothing
        else:
            event("imported")
            assert len(result.created) + len(result.updated) == len(result.postings) >= 1
            assert _demand_count() == before + len(result.created)
        finally:
            db.session.remove()


# ---------------------------------------------------------------- the match lifecycle

ACTORS = ["manufacturer", "vendor", "curator", "admin", "intruder", "vendor_intruder", "system"]
REASONS = ["", "poor_fit", "capacity", "budget", "other", "nonsense"]
step = st.tuples(
    st.sampled_from([*workflow.TRANSITIONS, "teleport"]), st.sampled_from(ACTORS), st.sampled_from(REASONS)
)


def _snapshot(match: Match) -> tuple:
    events = db.session.scalar(sa.select(sa.func.count(MatchEvent.id)).where(MatchEvent.match_id == match.id))
    return match.status, match.demand_response, match.offering_response, events


def _check_step(action: str, before: tuple, after: tuple, succeeded: bool) -> None:
    """A refused step changes nothing; an applied one goes where the table says, from a state it allows."""
    if not succeeded:
        assert after == before
        return
    transition = workflow.TRANSITIONS[action]
    assert before[0] in transition.sources and after[3] == before[3] + 1
    if action == "accept" and after[0] is S.INTRODUCED:  # the first of the two acceptances
        assert "accepted" in after[1:3] and "pending" in after[1:3]
    else:
        assert after[0] is transition.target


@given(steps=st.lists(step, max_size=12), direct_interest=st.booleans())
def test_random_steps_by_random_people_only_take_the_lifecycle_s_own_steps(domain_app, steps, direct_interest):
    domain_app.config["MATCHMAKER_DIRECT_INTEREST"] = direct_interest
    with domain_app.app_context():
        match = make_match(S.PROPOSED)
        for action, who, reason in steps:
            before = _snapshot(match)
            try:
                workflow.apply(match, action, persona(who), reason=reason, note="why" if reason == "other" else "")
                succeeded = True
            except DomainError:
                db.session.rollback()
                succeeded = False
            match = db.session.get(Match, match.id)
            _check_step(action, before, _snapshot(match), succeeded)
        if match.status in workflow.CONTACT_STATES:
            assert match.demand_response == match.offering_response == "accepted"
        trail = db.session.scalars(sa.select(MatchEvent).where(MatchEvent.match_id == match.id).order_by(MatchEvent.id))
        status = S.PROPOSED.value
        for event in trail:
            assert event.from_status == status  # no step skipped, none taken from a state already left
            status = event.to_status
        assert status == match.status.value
        db.session.remove()
