"""The `seed` command: loads the demo data, can run twice, and refuses broken files without writing anything."""

import json
import shutil
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from matchmaker.cli.seed import DEFAULT_SEED_DIR
from matchmaker.extensions import db
from matchmaker.models import Demand, Match, Offering, Organization, OrgKind, PostingStatus, User
from matchmaker.seeding import FILES, load_seed


def snapshot(app) -> dict[str, list]:
    """Return every row of every table, so two snapshots differ if anything was added or changed."""
    with app.app_context():
        return {
            table.name: sorted(map(tuple, db.session.execute(sa.select(table)).all()), key=repr)
            for table in db.metadata.sorted_tables
        }


def counts(app) -> dict[str, int]:
    """Return the number of rows in every table."""
    return {name: len(rows) for name, rows in snapshot(app).items()}


@pytest.fixture
def seed_copy(tmp_path):
    """Copy the shipped seed files somewhere a test may break them."""
    target = tmp_path / "seed"
    target.mkdir()
    for name in FILES:
        shutil.copy(DEFAULT_SEED_DIR / name, target / name)
    return target


def edit_rows(path, change) -> None:
    """Rewrite a seed file after applying change(rows)."""
    rows = json.loads(path.read_text("utf-8"))
    change(rows)
    path.write_text(json.dumps(rows, ensure_ascii=False), "utf-8")


@pytest.mark.slow
def test_seed_loads_and_runs_twice_without_changes(app, runner):
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    assert "Loading demands.json" in result.output and "Created" in result.output
    first = snapshot(app)
    assert len(first["organization"]) >= 15 and len(first["demand"]) >= 40 and len(first["offering"]) >= 60

    with app.app_context():
        # Every published posting, and only those, is embedded and indexed; every published demand gets proposals.
        for model in (Demand, Offering):
            embedded = set(db.session.scalars(sa.select(model.id).where(model.embedding.is_not(None))))
            published = set(db.session.scalars(sa.select(model.id).where(model.status == PostingStatus.PUBLISHED)))
            assert embedded == published and len(published) >= 40
        proposed = set(db.session.scalars(sa.select(Match.demand_id).distinct()))
        published_demands = set(
            db.session.scalars(sa.select(Demand.id).where(Demand.status == PostingStatus.PUBLISHED))
        )
        assert proposed == published_demands
        d001 = db.session.scalar(sa.select(Demand).where(Demand.ref == "D-001"))
        assert d001.expires_on == date.today() + timedelta(days=120)
        assert d001.published_at is not None and d001.organization.kind.value == "manufacturer"
        user = db.session.scalar(sa.select(User).where(User.email == "factory@matchmaker.test"))
        assert user.password_hash != "demo-password" and user.check_password("demo-password")

    again = runner.invoke(args=["seed"])
    assert again.exit_code == 0, again.output
    assert "Created 0 organizations, 0 users, 0 demands, 0 offerings." in again.output
    assert snapshot(app) == first


def test_seeded_demo_account_can_log_in(app, client, seed_copy):
    """Log in with a seeded account, using a trimmed seed so no posting needs matching."""
    for name in ("demands.json", "offerings.json"):
        (seed_copy / name).write_text("[]", "utf-8")
    with app.app_context():
        assert load_seed(seed_copy, echo=lambda message: None)["users"] >= 5
    response = client.post("/auth/login", data={"email": "vendor@matchmaker.test", "password": "demo-password"})
    assert response.status_code == 302


def test_seed_announces_its_postings_once_as_the_web_does(app, seed_copy):
    """The seed tells the engine through the same signal as a web publish, with every published posting."""
    from matchmaker.signals import postings_saved

    for name in ("demands.json", "offerings.json"):
        edit_rows(seed_copy / name, lambda rows: rows.__setitem__(slice(3, None), []))
    seen = []
    with app.app_context(), postings_saved.connected_to(lambda sender, postings, **_: seen.append(postings)):
        load_seed(seed_copy, echo=lambda message: None)
        published = {
            (model, ref)
            for model in (Demand, Offering)
            for ref in db.session.scalars(sa.select(model.ref).where(model.status == PostingStatus.PUBLISHED))
        }
        assert len(seen) == 1 and {(type(p), p.ref) for p in seen[0]} == published and len(published) >= 4
        assert db.session.scalar(sa.select(sa.func.count(Match.id))) > 0


def test_invalid_row_names_file_and_row_and_writes_nothing(app, runner, seed_copy):
    def break_fifth_budget(rows):
        rows[4]["budget_min"], rows[4]["budget_max"] = 900_000, 1_000

    edit_rows(seed_copy / "demands.json", break_fifth_budget)
    result = runner.invoke(args=["seed", "--dir", str(seed_copy)])
    assert result.exit_code == 1
    assert "demands.json, row 5" in result.output and "'budget_max'" in result.output
    assert "Nothing was loaded" in result.output
    assert "Traceback" not in result.output
    assert set(counts(app).values()) == {0}


@pytest.mark.parametrize(
    ("filename", "change", "message"),
    [
        (
            "users.json",
            lambda rows: rows[2].update(organization="No Such Org Ltd"),
            "users.json, row 3: unknown organization",
        ),
        ("offerings.json", lambda rows: rows[0].update(scenarios=["telepathy"]), "offerings.json, row 1: 'scenarios'"),
        ("offerings.json", lambda rows: rows[6].pop("title"), "offerings.json, row 7: 'title' is required"),
        ("demands.json", lambda rows: rows[1].update(industry="99"), "demands.json, row 2: 'industry'"),
        ("demands.json", lambda rows: rows[2].update(city="X" * 81), "demands.json, row 3: 'city': At most 80"),
        ("demands.json", lambda rows: rows[0].update(status="archived"), "demands.json, row 1"),
        ("demands.json", lambda rows: rows.append(dict(rows[0])), "duplicate key 'D-001'"),
        ("organizations.json", lambda rows: rows[0].update(kind="bank"), "organizations.json, row 1: unknown kind"),
    ],
)
def test_other_invalid_rows(app, runner, seed_copy, filename, change, message):
    edit_rows(seed_copy / filename, change)
    result = runner.invoke(args=["seed", "--dir", str(seed_copy)])
    assert result.exit_code == 1 and message in result.output
    assert set(counts(app).values()) == {0}


def test_vendor_may_not_post_demands_in_seed(app, runner, seed_copy):
    vendor = next(
        row["name"]
        for row in json.loads((seed_copy / "organizations.json").read_text("utf-8"))
        if row["kind"] == "vendor"
    )
    edit_rows(seed_copy / "demands.json", lambda rows: rows[0].update(organization=vendor))
    result = runner.invoke(args=["seed", "--dir", str(seed_copy)])
    assert result.exit_code == 1 and "demands.json, row 1: Only manufacturers may post demands." in result.output


@pytest.mark.parametrize("broken", ["missing", "not json", "not a list"])
def test_unreadable_file_is_refused(app, runner, seed_copy, broken):
    path = seed_copy / "offerings.json"
    if broken == "missing":
        path.unlink()
    else:
        path.write_text("{oops" if broken == "not json" else '{"ref": "O-1"}', "utf-8")
    result = runner.invoke(args=["seed", "--dir", str(seed_copy)])
    assert result.exit_code == 1 and "offerings.json" in result.output
    assert set(counts(app).values()) == {0}


def test_existing_rows_are_left_alone(app, runner, seed_copy):
    """A row whose key already exists keeps what the database holds."""
    for name in ("users.json", "demands.json", "offerings.json"):
        (seed_copy / name).write_text("[]", "utf-8")
    first = json.loads((seed_copy / "organizations.json").read_text("utf-8"))[0]
    with app.app_context():
        db.session.add(Organization(name=first["name"], kind=OrgKind(first["kind"]), city="Edited city"))
        db.session.commit()
    result = runner.invoke(args=["seed", "--dir", str(seed_copy)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        org = db.session.scalar(sa.select(Organization).where(Organization.name == first["name"]))
        assert org.city == "Edited city"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Organization)) == len(
            json.loads((seed_copy / "organizations.json").read_text("utf-8"))
        )


def test_seeded_accounts_are_active_members_of_their_organizations(app, seed_copy):
    for name in ("demands.json", "offerings.json"):
        (seed_copy / name).write_text("[]", "utf-8")
    with app.app_context():
        load_seed(seed_copy, echo=lambda message: None)
        users = db.session.scalars(sa.select(User)).all()
        assert users and all(user.organization_id is not None and user.is_active for user in users)
