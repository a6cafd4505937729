"""Drive an installed matchmaker the way a deployment would, and write down what it saw.

tests/test_packaging.py copies this script into an empty folder and runs it there, with only the
installed wheel and its dependencies on the path; the test makes the assertions. Usage:

    python installed_app_probe.py REPORT.json
"""

import json
import re
import sys

FACTORY_EMAIL = "factory@matchmaker.test"
DEMO_PASSWORD = "demo-password"
CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def page(client, path: str) -> dict:
    """Return a GET's status and body."""
    response = client.get(path)
    return {"status": response.status_code, "body": response.get_data(as_text=True)}


def run_command(runner, args: list[str]) -> dict:
    """Return a CLI command's exit code, output and any error it raised."""
    result = runner.invoke(args=args)
    error = repr(result.exception) if result.exit_code and result.exception else None
    return {"exit_code": result.exit_code, "output": result.output, "error": error}


def log_in(client, email: str, password: str) -> int:
    """Log in through the real form, CSRF token and all; return the response status."""
    login_page = client.get("/auth/login").get_data(as_text=True)
    token = CSRF_FIELD.search(login_page)
    data = {"email": email, "password": password, "csrf_token": token.group(1) if token else ""}
    return client.post("/auth/login", data=data).status_code


def proposed_demand(db) -> dict:
    """Return the demo factory's first demand with proposals, and the titles of what was proposed."""
    import sqlalchemy as sa

    from matchmaker.models import Demand, Match, User

    factory = db.session.scalar(sa.select(User).where(User.email == FACTORY_EMAIL))
    matches = db.session.scalars(
        sa.select(Match).join(Demand).where(Demand.organization_id == factory.organization_id).order_by(Match.id)
    ).all()
    if not matches:
        return {}
    demand = matches[0].demand
    offerings = [m.offering.title for m in matches if m.demand_id == demand.id]
    return {"id": demand.id, "title": demand.title, "offerings": offerings}


def evaluation_sets() -> dict:
    """Return each shipped evaluation set's folder, files and size as the package finds them."""
    from matchmaker.matching.evaluation import builtin_sets, load_set

    found = {}
    for name, folder in builtin_sets().items():
        loaded = load_set(folder)
        found[name] = {
            "folder": str(folder),
            "files": sorted(p.name for p in folder.iterdir()),
            "demands": len(loaded.demands),
            "offerings": len(loaded.offerings),
            "judged": sum(len(grades) for grades in loaded.qrels.values()),
        }
    return found


def probe() -> dict:
    """Migrate, seed and browse the installed app; return what each step gave."""
    import sqlalchemy as sa

    import matchmaker
    from matchmaker import create_app
    from matchmaker.extensions import db
    from matchmaker.models import Demand, PostingStatus

    report: dict = {"package": matchmaker.__file__, "sys_path": sys.path}
    app = create_app()  # configured from the environment, as a deployment is
    report["data_dir"] = app.config["DATA_DIR"]
    runner = app.test_cli_runner()
    report["upgrade"] = run_command(runner, ["db", "upgrade"])
    report["seed"] = run_command(runner, ["seed"])
    with app.app_context():
        report["database"] = db.engine.dialect.name
        report["revision"] = db.session.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        published = sa.select(sa.func.count()).select_from(Demand).where(Demand.status == PostingStatus.PUBLISHED)
        report["published_demands"] = db.session.scalar(published)
        report["demand"] = proposed_demand(db)
    client = app.test_client()
    report["pages"] = {path: page(client, path) for path in ("/", "/auth/login", "/static/style.css")}
    report["login_status"] = log_in(client, FACTORY_EMAIL, DEMO_PASSWORD)
    if report["demand"]:
        report["pages"]["demand"] = page(client, f"/demands/{report['demand']['id']}")
    report["evaluation_sets"] = evaluation_sets()
    return report


def main(report_path: str) -> None:
    """Probe the installed app and write the report as JSON."""
    with open(report_path, "w", encoding="utf-8") as handle:
        json.dump(probe(), handle, ensure_ascii=False)


if __name__ == "__main__":
    main(sys.argv[1])
