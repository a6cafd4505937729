"""The search box: signed-in users find published postings in any of the three languages."""

import pytest

from matchmaker.models import Demand, Offering

from .factories import publish


@pytest.fixture
def postings(app):
    with app.app_context():
        return {
            "fabric": publish(
                Offering,
                "Loom Vision",
                "Fabric defect detection",
                "Line-scan cameras find holes and broken picks on woven fabric.",
            ).id,
            "kiln": publish(Offering, "Kiln Watch", "窯爐故障預警", "以溫度曲線提前預警燒嘴故障。").id,
            "energy": publish(Demand, "Dongguan Metal", "空压机能耗太高", "空压机耗电占全厂四成，想做能耗管理。").id,
        }


@pytest.mark.parametrize(
    "query, expected",
    [
        ("布面破洞检测", "fabric"),  # Simplified → English
        ("窑炉故障", "kiln"),  # Simplified → Traditional
        ("compressor energy saving", "energy"),  # English → Simplified
    ],
)
def test_search_across_languages(client, auth, personas, postings, query, expected):
    auth.login_as("vendor")
    response = client.get("/search/", query_string={"q": query}, headers={"Accept": "application/json"})
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert results and results[0]["id"] == postings[expected]


def test_search_page_renders_hits_and_filters_by_kind(client, auth, personas, postings):
    auth.login_as("manufacturer")
    page = client.get("/search/", query_string={"q": "布面瑕疵", "kind": "offerings"}).get_data(as_text=True)
    assert "Fabric defect detection" in page and "空压机能耗太高" not in page


def test_search_explains_bad_input(client, auth, personas, postings):
    auth.login_as("manufacturer")
    page = client.get("/search/", query_string={"q": "x" * 600, "kind": "bogus"}).get_data(as_text=True)
    assert "Unknown kind of posting" in page and "cut to 500 characters" in page


def test_search_needs_sign_in(client, postings):
    response = client.get("/search/", query_string={"q": "fabric"})
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert (
        client.get("/search/", query_string={"q": "fabric"}, headers={"Accept": "application/json"}).status_code == 403
    )


def test_scenario_filter_includes_scenarios_tagged_from_the_text(client, postings):
    page = client.get("/offerings/", query_string={"scenario": "visual_inspection"}).get_data(as_text=True)
    assert "Fabric defect detection" in page and "窯爐故障預警" not in page


def test_search_skips_postings_gone_behind_the_index(app, client, auth, personas, postings):
    """A row removed without the change log (raw SQL, a restore) must not break the page or show up."""
    import sqlalchemy as sa

    from matchmaker.extensions import db

    auth.login_as("vendor")
    client.get("/search/", query_string={"q": "fabric"})  # the engine indexes the three postings
    with app.app_context():
        db.session.execute(sa.delete(Offering.__table__).where(Offering.__table__.c.id == postings["fabric"]))
        db.session.commit()
    page = client.get("/search/", query_string={"q": "fabric defect"})
    assert page.status_code == 200
    results = client.get("/search/", query_string={"q": "fabric defect"}, headers={"Accept": "application/json"})
    assert postings["fabric"] not in [hit["id"] for hit in results.get_json()["results"] if hit["kind"] == "offering"]


def test_a_search_waits_for_a_sync_in_progress_instead_of_reading_the_index_as_it_changes(app, postings):
    """faiss and the BM25 model must not be read while another thread's sync changes them (engine.signals)."""
    import threading

    from matchmaker.matching import service
    from matchmaker.matching.engine import get_engine

    with app.app_context():
        engine = get_engine(app)
        engine.sync = lambda: 0  # as if caught up, so only the search itself can wait for the lock
    held, release, finished = threading.Event(), threading.Event(), threading.Event()

    def sync_in_progress():
        with engine._lock:
            held.set()
            release.wait(10)

    def run():
        with app.app_context():
            service.search("fabric defect")
        finished.set()

    syncing = threading.Thread(target=sync_in_progress)
    syncing.start()
    held.wait(10)
    searching = threading.Thread(target=run)
    searching.start()
    try:
        assert not finished.wait(1.0), "searched the index while a sync held it"
    finally:
        release.set()
        syncing.join()
        searching.join(10)
    assert finished.is_set()
