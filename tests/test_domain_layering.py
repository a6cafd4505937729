"""The domain layer builds no URLs and no emails: it records each step and announces it; others tell people."""

import ast
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

import matchmaker
from matchmaker.domain import memberships
from matchmaker.domain.accounts import Registration, register_user
from matchmaker.extensions import db
from matchmaker.models import JoinRequest, Notification, OutboundEmail, User
from matchmaker.notifications.memberships import on_membership_changed
from matchmaker.signals import membership_changed
from matchmaker.vocabulary import MembershipStep

DOMAIN = Path(matchmaker.__file__).parent / "domain"

# Names whose use means building a URL, a message for people, or an email, and the modules that do so.
FORBIDDEN_NAMES = {"url_for", "force_locale", "Notification", "OutboundEmail", "EmailMessage", "BuildError"}
FORBIDDEN_MODULES = ("matchmaker.mailer", "matchmaker.notifications", "smtplib", "email", "werkzeug.routing")
# Settings only links in emails need: absolute links are the notifications package's to build.
FORBIDDEN_SETTINGS = {"MATCHMAKER_BASE_URL"}


def _absolute_module(node: ast.ImportFrom, path: Path) -> str:
    """Return the dotted module an ImportFrom names, resolving relative imports against the file."""
    if not node.level:
        return node.module or ""
    package = ["matchmaker", *path.relative_to(DOMAIN.parent).parent.parts]
    base = package[: len(package) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def _problems(path: Path, source: str | None = None) -> list[str]:
    """Return each place in a domain module that imports or uses something the domain must not."""
    problems = []
    for node in ast.walk(ast.parse(path.read_text("utf-8") if source is None else source)):
        modules, names = [], []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = _absolute_module(node, path)
            modules = [module, *(f"{module}.{alias.name}" for alias in node.names)]
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.Name):
            names = [node.id]
        elif isinstance(node, ast.Attribute):
            names = [node.attr]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in FORBIDDEN_SETTINGS:
            problems.append(f"{path.name}:{node.lineno} reads {node.value}")
        for module in modules:
            if any(module == bad or module.startswith(bad + ".") for bad in FORBIDDEN_MODULES):
                problems.append(f"{path.name}:{node.lineno} imports {module}")
        problems += [f"{path.name}:{node.lineno} uses {name}" for name in names if name in FORBIDDEN_NAMES]
    return problems


@pytest.mark.parametrize("path", sorted(DOMAIN.glob("*.py")), ids=lambda p: p.name)
def test_the_domain_builds_no_urls_and_no_emails(path):
    assert _problems(path) == []


def test_the_check_sees_relative_imports_and_uses():
    source = (
        "from flask import url_for\nfrom .. import mailer\nfrom ..models import OutboundEmail\nimport smtplib\n"
        "base = current_app.config['MATCHMAKER_BASE_URL']\n"
    )
    assert _problems(DOMAIN / "probe.py", source) == [
        "probe.py:1 uses url_for",
        "probe.py:2 imports matchmaker.mailer",
        "probe.py:3 uses OutboundEmail",
        "probe.py:4 imports smtplib",
        "probe.py:5 reads MATCHMAKER_BASE_URL",
    ]


# ---------------------------------------------------------------- memberships announce, the notifications module tells

OTHER_PASSWORD = "a long enough pw"


@contextmanager
def only_recording(steps: list):
    """Let a recorder, instead of the notifications module, hear `membership_changed` for a while."""

    def record(organization, *, step, actor, user, **details):
        steps.append((step, organization.name, actor and actor.email, user and user.email, details))

    membership_changed.disconnect(on_membership_changed)
    membership_changed.connect(record)
    try:
        yield
    finally:
        membership_changed.disconnect(record)
        membership_changed.connect(on_membership_changed, weak=False)


def _ask_to_join(email: str) -> JoinRequest:
    user = register_user(Registration(email, OTHER_PASSWORD, "", "Foshan Weave Textiles", "manufacturer"))
    return memberships.pending_join_request(user)


def test_membership_steps_are_announced_and_the_domain_tells_nobody_itself(app, personas):
    steps = []
    with app.app_context(), only_recording(steps):
        maker, admin = db.session.get(User, personas["manufacturer"]), db.session.get(User, personas["admin"])
        memberships.approve_join_request(maker, _ask_to_join("asker@example.org"))
        memberships.decline_join_request(admin, _ask_to_join("declined@example.org"))
        withdrawn = _ask_to_join("withdrawn@example.org").user
        memberships.withdraw_join_request(withdrawn)
        invitation, token = memberships.invite(maker, "hire@example.org")
        memberships.register_invited(memberships.InvitedRegistration(token, "hire@example.org", OTHER_PASSWORD, ""))
        _, second_token = memberships.invite(maker, "withdrawn@example.org")
        memberships.accept_invitation(withdrawn, second_token)
        memberships.remove_member(maker, withdrawn)

        factory = "Foshan Weave Textiles"
        assert [step[:4] for step in steps] == [
            (MembershipStep.JOIN_REQUESTED, factory, "asker@example.org", "asker@example.org"),
            (MembershipStep.JOIN_APPROVED, factory, maker.email, "asker@example.org"),
            (MembershipStep.JOIN_REQUESTED, factory, "declined@example.org", "declined@example.org"),
            (MembershipStep.JOIN_DECLINED, factory, admin.email, "declined@example.org"),
            (MembershipStep.JOIN_REQUESTED, factory, "withdrawn@example.org", "withdrawn@example.org"),
            (MembershipStep.JOIN_WITHDRAWN, factory, "withdrawn@example.org", "withdrawn@example.org"),
            (MembershipStep.INVITED, factory, maker.email, None),
            (MembershipStep.JOINED_BY_INVITATION, factory, "hire@example.org", "hire@example.org"),
            (MembershipStep.INVITED, factory, maker.email, None),
            (MembershipStep.JOINED_BY_INVITATION, factory, "withdrawn@example.org", "withdrawn@example.org"),
            (MembershipStep.REMOVED, factory, maker.email, "withdrawn@example.org"),
        ]
        # an invitation carries its token, for the link, though only its hash is stored
        assert steps[6][4] == {"invitation": invitation, "token": token}
        assert steps[8][4]["token"] == second_token
        assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count(OutboundEmail.id))) == 0
