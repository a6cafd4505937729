"""Proposals: publishing proposes the best counterparts, with reasons; never duplicated or re-proposed."""

import sqlalchemy as sa

from matchmaker.extensions import db
from matchmaker.matching.explain import reason_text
from matchmaker.matching.service import propose_for_demand, top_offerings
from matchmaker.models import Demand, Match, MatchStatus, Offering

from .factories import matches_of, publish, seed_offerings, textile_demand


def test_simplified_demand_finds_traditional_and_english_offerings(app):
    with app.app_context():
        offerings = seed_offerings()
        demand = textile_demand()
        top_two = {m.offering_id for m in matches_of(demand)[:2]}
        assert top_two == {offerings["紡織面料瑕疵AI視覺檢測"].id, offerings["Fabric defect detection"].id}


def test_proposals_keep_score_breakdown_and_readable_reasons(app):
    with app.app_context():
        offerings = seed_offerings()
        demand = textile_demand()
        best = next(m for m in matches_of(demand) if m.offering_id == offerings["紡織面料瑕疵AI視覺檢測"].id)
        assert best.status is MatchStatus.PROPOSED and best.source == "engine"
        assert {"dense", "lexical", "scenario", "budget", "region", "deployment", "total"} <= set(best.breakdown)
        texts = " | ".join(reason_text(r) for r in best.reasons)
        assert "Visual inspection" in texts  # shared scenario
        assert "瑕疵" in texts  # a key term found in both texts
        assert "fits price" in texts and "Serves 佛山" in texts and "edge deployment" in texts


def test_misfits_are_explained(app):
    with app.app_context():
        publish(
            Offering,
            "HK Textile AI",
            "紡織面料瑕疵AI視覺檢測",
            "布面跳紗、破洞偵測",
            regions=["Hong Kong"],
            price_min=900000,
            price_max=1200000,
            deployment_modes=["cloud"],
        )
        demand = textile_demand()
        reasons = " | ".join(reason_text(r) for r in matches_of(demand)[0].reasons)
        assert "Does not list 佛山" in reasons and "vs price" in reasons and "offers cloud" in reasons


def test_proposals_are_never_duplicated(app):
    with app.app_context():
        app.config["MATCHMAKER_MIN_SCORE"] = 0.0
        seed_offerings()
        demand = textile_demand()
        first = len(matches_of(demand))
        assert first == app.config["MATCHMAKER_TOP_K"]
        assert propose_for_demand(demand) == []
        assert len(matches_of(demand)) == first


def test_declined_pair_is_never_proposed_again(app):
    with app.app_context():
        offerings = seed_offerings()
        demand = textile_demand()
        declined = next(m for m in matches_of(demand) if m.offering_id == offerings["Fabric defect detection"].id)
        declined.status = MatchStatus.DECLINED
        db.session.commit()
        assert offerings["Fabric defect detection"].id not in {c.id for c in top_offerings(demand)}
        propose_for_demand(demand)
        pairs = db.session.scalars(
            sa.select(Match).where(
                Match.demand_id == demand.id, Match.offering_id == offerings["Fabric defect detection"].id
            )
        ).all()
        assert [m.status for m in pairs] == [MatchStatus.DECLINED]


def test_publishing_an_offering_proposes_it_where_it_ranks_top_k(app):
    with app.app_context():
        app.config["MATCHMAKER_TOP_K"] = 2
        demand = textile_demand()
        kiln = publish(Demand, "Zhaoqing Ceramics", "窑炉温度异常", "窑炉温度一波动就出废品，想提前知道烧嘴故障。")
        assert matches_of(demand) == []
        offering = publish(
            Offering,
            "Loom Vision",
            "Fabric defect detection",
            "Find holes and broken picks on woven fabric automatically.",
        )
        assert [m.offering_id for m in matches_of(demand)] == [offering.id]
        publish(Offering, "Kiln Watch", "窑炉故障预警", "采集窑炉温度曲线，提前预警烧嘴故障。")
        kiln_matches = matches_of(kiln)
        assert kiln_matches and kiln_matches[0].offering.title == "窑炉故障预警"


def test_weak_pairs_are_ranked_but_not_proposed(app):
    with app.app_context():
        offerings = seed_offerings()
        demand = textile_demand()
        ranked = {c.id: c.score for c in top_offerings(demand)}
        erp = offerings["ERP 财务软件"].id
        assert erp in ranked and ranked[erp] < app.config["MATCHMAKER_MIN_SCORE"]
        proposed = {m.offering_id for m in matches_of(demand)}
        assert erp not in proposed and proposed == {i for i, s in ranked.items() if s >= 0.6}


def test_an_offering_is_never_proposed_to_its_own_organization(app):
    with app.app_context():
        offering = publish(Offering, "Dual Corp", "Fabric defect detection", "Find holes in fabric.")
        demand = Demand(
            title="布面瑕疵检测", description="布面破洞检测", organization=offering.organization, status=offering.status
        )
        db.session.add(demand)
        db.session.commit()
        assert propose_for_demand(demand) == []


def test_decline_penalty_lowers_a_vendor_for_that_scenario(app):
    with app.app_context():
        offerings = seed_offerings()
        demand = textile_demand()
        target = offerings["Fabric defect detection"]
        before = next(c.score for c in top_offerings(demand) if c.id == target.id)
        for number in range(3):
            other = publish(
                Demand,
                f"Factory {number}",
                f"布面瑕疵检测 {number}",
                "布面破洞、跳纱检测",
                scenarios=["visual_inspection"],
            )
            match = db.session.scalar(
                sa.select(Match).where(Match.demand_id == other.id, Match.offering_id == target.id)
            )
            match = match or Match(demand_id=other.id, offering_id=target.id)
            match.status = MatchStatus.DECLINED
            db.session.add(match)
        db.session.commit()
        after = next(c for c in top_offerings(demand) if c.id == target.id)
        assert after.score < before and after.breakdown["feedback_penalty"] > 0


def test_publishing_in_the_ui_shows_proposals_with_reasons(app, client, auth, personas):
    with app.app_context():
        publish(Offering, "HK Textile AI", "紡織面料瑕疵AI視覺檢測", "以線掃相機即時偵測布面跳紗、破洞。")
    auth.login_as("manufacturer")
    response = client.post(
        "/demands/new",
        data={
            "title": "布面瑕疵检测",
            "description": "布面上的跳纱、破洞全靠老师傅肉眼看",
            "industry": "17",
            "city": "佛山",
            "publish": "1",
        },
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Published" in page
    assert "Proposed matches" in page and "紡織面料瑕疵AI視覺檢測" in page
    assert "Shared scenarios" in page and "Visual inspection" in page
    with app.app_context():
        demand_id = db.session.scalar(sa.select(Demand.id).where(Demand.title == "布面瑕疵检测"))
    auth.logout()
    auth.login_as("intruder")
    assert "Proposed matches" not in client.get(f"/demands/{demand_id}").get_data(as_text=True)
