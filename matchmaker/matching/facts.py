"""Plain records of what ranking needs to know about a posting, from the database or from a file."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from .text import posting_text

if TYPE_CHECKING:
    from ..models import Demand, Offering

# Cities of the Greater Bay Area and the rest of Guangdong, as people write them.
GUANGDONG_CITIES = {
    "广州",
    "深圳",
    "佛山",
    "东莞",
    "中山",
    "珠海",
    "江门",
    "肇庆",
    "惠州",
    "汕头",
    "汕尾",
    "潮州",
    "揭阳",
    "湛江",
    "茂名",
    "阳江",
    "云浮",
    "韶关",
    "清远",
    "梅州",
    "河源",
    "顺德",
    "南海",
    "guangzhou",
    "shenzhen",
    "foshan",
    "dongguan",
    "zhongshan",
    "zhuhai",
    "jiangmen",
    "zhaoqing",
    "huizhou",
    "shantou",
    "shanwei",
    "chaozhou",
    "jieyang",
    "zhanjiang",
    "maoming",
    "yangjiang",
    "yunfu",
    "shaoguan",
    "qingyuan",
    "meizhou",
    "heyuan",
    "shunde",
    "nanhai",
}
HONG_KONG = {
    "香港",
    "hong kong",
    "hk",
    "kowloon",
    "九龙",
    "新界",
    "new territories",
    "sha tin",
    "沙田",
    "观塘",
    "kwun tong",
}
MACAU = {"澳门", "macau", "macao"}
GBA_ALIASES = {"greater bay area", "gba", "大湾区", "粤港澳大湾区", "粤港澳"}
GUANGDONG_ALIASES = {"guangdong", "广东", "广东省"}
NATIONWIDE = {"nationwide", "全国", "china", "中国", "mainland china", "全球", "global", "worldwide"}


@dataclass
class PostingFacts:
    """One posting's facets, in the form ranking compares them."""

    id: int
    kind: str
    ref: str = ""
    title: str = ""
    text: str = ""
    language: str = "en"
    organization_id: int | None = None
    scenarios: list[str] = field(default_factory=list)
    industries: list[str] = field(default_factory=list)
    city: str = ""
    regions: list[str] = field(default_factory=list)
    money_min: int | None = None
    money_max: int | None = None
    money_confidential: bool = False  # the amounts may score, but not appear in reasons the other side reads
    deployments: list[str] = field(default_factory=list)
    vouchers: list[str] = field(default_factory=list)
    capacity_left: int | None = None
    capacity: int | None = None  # an offering's new engagements in all, before those under way


@lru_cache(maxsize=4096)
def _clean(place: str) -> str:
    """Return a place name normalised for comparison."""
    from .text import normalize

    return normalize(place).strip().removesuffix("市").removesuffix(" city")


@lru_cache(maxsize=4096)
def region_of(place: str) -> frozenset[str]:
    """Return the areas a place lies in: its own name and any of guangdong, hong kong, macau, gba."""
    place = _clean(place)
    areas = {place}
    if place in GUANGDONG_ALIASES or any(city in place for city in GUANGDONG_CITIES):
        areas |= {"guangdong", "gba"}
    if place in HONG_KONG:
        areas |= {"hong kong", "gba"}
    if place in MACAU:
        areas |= {"macau", "gba"}
    return frozenset(areas)


def _covers(region: str, place_areas: set[str], place: str) -> bool:
    """Return whether one region served covers a place."""
    region = _clean(region)
    if region in NATIONWIDE:
        return True
    for aliases, area in (
        (GBA_ALIASES, "gba"),
        (GUANGDONG_ALIASES, "guangdong"),
        (HONG_KONG, "hong kong"),
        (MACAU, "macau"),
    ):
        if region in aliases:
            return area in place_areas
    return bool(region) and (region in place or place in region)


def serves(regions: list[str], city: str) -> bool | None:
    """Return whether the regions served cover a city; None when either side is unknown."""
    if not regions or not city:
        return None
    return _serves(tuple(regions), city)


@lru_cache(maxsize=16384)
def _serves(regions: tuple[str, ...], city: str) -> bool:
    """serves() for known regions and city; ranking asks the same few pairs for every candidate."""
    place_areas = region_of(city)
    return any(_covers(region, place_areas, _clean(city)) for region in regions)


def demand_facts(demand: Demand) -> PostingFacts:
    """Return the facts ranking compares for a demand."""
    return PostingFacts(
        id=demand.id,
        kind="demand",
        ref=demand.ref or "",
        title=demand.title,
        text=posting_text(demand.title, demand.description),
        language=demand.language or "en",
        organization_id=demand.organization_id,
        scenarios=demand.all_scenarios,
        industries=demand.industries,
        city=demand.city or "",
        money_min=demand.budget_min,
        money_max=demand.budget_max,
        money_confidential=bool(demand.budget_confidential),
        deployments=[demand.deployment] if demand.deployment else [],
        vouchers=list(demand.vouchers or []),
    )


def offering_facts(offering: Offering, capacity_left: int | None = None) -> PostingFacts:
    """Return the facts ranking compares for an offering."""
    return PostingFacts(
        id=offering.id,
        kind="offering",
        ref=offering.ref or "",
        title=offering.title,
        text=posting_text(offering.title, offering.description),
        language=offering.language or "en",
        organization_id=offering.organization_id,
        scenarios=offering.all_scenarios,
        industries=offering.industries,
        regions=list(offering.regions or []),
        money_min=offering.price_min,
        money_max=offering.price_max,
        deployments=list(offering.deployment_modes or []),
        capacity_left=capacity_left,
        capacity=offering.capacity,
    )
