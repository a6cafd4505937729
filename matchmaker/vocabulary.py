"""The project's fixed vocabularies, each defined once: the keys code stores and compares, and their labels.

Every other module imports these. Labels are lazy so they are translated when shown, in the reader's locale.
"""

from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l

# ---------------------------------------------------------------- organizations and people


class OrgKind(str, enum.Enum):
    MANUFACTURER = "manufacturer"
    VENDOR = "vendor"
    AGENCY = "agency"


ORG_KIND_LABELS = {
    OrgKind.MANUFACTURER: _l("Manufacturer"),
    OrgKind.VENDOR: _l("AI vendor"),
    OrgKind.AGENCY: _l("Agency"),
}


class Role(str, enum.Enum):
    MEMBER = "member"
    CURATOR = "curator"
    ADMIN = "admin"


ROLE_LABELS = {Role.MEMBER: _l("Member"), Role.CURATOR: _l("Curator"), Role.ADMIN: _l("Administrator")}

# ---------------------------------------------------------------- memberships


class JoinStatus(str, enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


# What `memberships.invitation_status` says of an invitation; an accepted one reads "used".
INVITATION_STATUS_LABELS = {
    "open": _l("open"),
    "accepted": _l("used"),
    "revoked": _l("revoked"),
    "expired": _l("expired"),
}
INVITATION_STATUSES = tuple(INVITATION_STATUS_LABELS)


class MembershipStep(str, enum.Enum):
    """A step `signals.membership_changed` announces."""

    JOIN_REQUESTED = "join_requested"
    JOIN_APPROVED = "join_approved"
    JOIN_DECLINED = "join_declined"
    JOIN_WITHDRAWN = "join_withdrawn"
    INVITED = "invited"
    JOINED_BY_INVITATION = "joined_by_invitation"
    REMOVED = "removed"


# ---------------------------------------------------------------- postings

DEMAND, OFFERING = "demand", "offering"
POSTING_KINDS = (DEMAND, OFFERING)
POSTING_KIND_LABELS = {DEMAND: _l("Demand"), OFFERING: _l("Offering")}


class PostingStatus(str, enum.Enum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CLOSED = "closed"


POSTING_STATUS_LABELS = {
    PostingStatus.DRAFT: _l("Draft"),
    PostingStatus.PUBLISHED: _l("Published"),
    PostingStatus.CLOSED: _l("Closed"),
}

DEPLOYMENT_LABELS = {
    "on_premises": _l("On-premises"),
    "edge": _l("Edge"),
    "cloud": _l("Cloud"),
}
DEPLOYMENT_MODES = tuple(DEPLOYMENT_LABELS)
# The same modes as they read inside a sentence ("Offers edge deployment as wanted").
DEPLOYMENT_WORDS = {"on_premises": _l("on-premises"), "edge": _l("edge"), "cloud": _l("cloud")}

VOUCHER_LABELS = {
    "compute": _l("Compute voucher"),
    "model": _l("Model voucher"),
    "training": _l("Training voucher"),
}
VOUCHER_KINDS = tuple(VOUCHER_LABELS)

# Regions an offering may list; it may name cities besides, which are kept as written.
REGION_LABELS = {
    "Guangdong": _l("Guangdong"),
    "Hong Kong": _l("Hong Kong"),
    "Macau": _l("Macau"),
    "Greater Bay Area": _l("Greater Bay Area"),
    "Nationwide": _l("Nationwide"),
}
REGIONS = tuple(REGION_LABELS)

# Places people name in a city field or among the regions an offering serves, in each interface language:
# a name written in any of the three (any case, with or without 市) is shown in the reader's. Other places
# are shown as written.
PLACE_NAMES = {
    # English: (Simplified, Traditional)
    "Guangzhou": ("广州", "廣州"),
    "Shenzhen": ("深圳", "深圳"),
    "Zhuhai": ("珠海", "珠海"),
    "Shantou": ("汕头", "汕頭"),
    "Foshan": ("佛山", "佛山"),
    "Shaoguan": ("韶关", "韶關"),
    "Zhanjiang": ("湛江", "湛江"),
    "Zhaoqing": ("肇庆", "肇慶"),
    "Jiangmen": ("江门", "江門"),
    "Maoming": ("茂名", "茂名"),
    "Huizhou": ("惠州", "惠州"),
    "Meizhou": ("梅州", "梅州"),
    "Shanwei": ("汕尾", "汕尾"),
    "Heyuan": ("河源", "河源"),
    "Yangjiang": ("阳江", "陽江"),
    "Qingyuan": ("清远", "清遠"),
    "Dongguan": ("东莞", "東莞"),
    "Zhongshan": ("中山", "中山"),
    "Chaozhou": ("潮州", "潮州"),
    "Jieyang": ("揭阳", "揭陽"),
    "Yunfu": ("云浮", "雲浮"),
    "Hong Kong": ("香港", "香港"),
    "Macau": ("澳门", "澳門"),
    "Shanghai": ("上海", "上海"),
    "Beijing": ("北京", "北京"),
    "Guangdong": ("广东", "廣東"),
    "Southeast Asia": ("东南亚", "東南亞"),
}
_PLACE_KEYS = {
    name: english
    for english, chinese in PLACE_NAMES.items()
    for written in (english, *chinese)
    for name in (written.casefold(), f"{written}市")
}


def place_name(name: str | None, locale: str) -> str | None:
    """Return a known place's name in a UI locale (Foshan, 佛山市 → 佛山 for zh_Hans), or None for another place."""
    english = _PLACE_KEYS.get((name or "").strip().casefold())
    if english is None:
        return None
    if locale == "en":
        return english
    return PLACE_NAMES[english][0 if locale == "zh_Hans" else 1]


# The headings posting forms group the taxonomies under: scenarios by the stage of manufacturing they
# serve (the `stage` of each entry in data/scenarios.json), in this order.
SCENARIO_STAGE_LABELS = {
    "rd_design": _l("Research, development and design"),
    "production": _l("Production"),
    "quality": _l("Quality"),
    "operations": _l("Operations and management"),
    "supply_chain": _l("Supply chain"),
    "service": _l("Service"),
}
# Manufacturing divisions (GB/T 4754-2017 codes 13–43) by the sector they belong to: the first code of
# each group and its heading.
INDUSTRY_GROUPS = (
    ("13", _l("Food, textiles and consumer goods")),
    ("25", _l("Fuels, chemicals and materials")),
    ("33", _l("Machinery, vehicles and electronics")),
    ("41", _l("Other manufacturing, recycling and repair")),
)

# ---------------------------------------------------------------- languages

# A posting's text language is a BCP 47 tag, as the matching engine detects it; the interface's locale is a
# Babel locale name. The two spell the same languages differently, so this is the one place that pairs them.
LOCALE_OF_LANGUAGE = {"zh-Hant": "zh_Hant", "zh-Hans": "zh_Hans", "en": "en"}
LANGUAGE_OF_LOCALE = {locale: language for language, locale in LOCALE_OF_LANGUAGE.items()}

TEXT_LANGUAGES = tuple(LOCALE_OF_LANGUAGE)
DETECT_LANGUAGE = ""  # a posting whose language is left for the engine to detect
TEXT_LANGUAGE_LABELS = {
    DETECT_LANGUAGE: _l("Detect automatically"),
    "zh-Hant": "繁體中文",
    "zh-Hans": "简体中文",
    "en": "English",
}

DEFAULT_LOCALE = "en"
# In the order a browser's equally preferred languages are settled in.
UI_LOCALES = (DEFAULT_LOCALE, "zh_Hant", "zh_Hans")
# The language switch names each locale in its own language, so everyone finds theirs.
UI_LOCALE_NAMES = {"en": "English", "zh_Hant": "繁體中文", "zh_Hans": "简体中文"}


def locale_of_language(language: str) -> str:
    """Return the UI locale that shows a text language, or the default locale for an unknown one."""
    return LOCALE_OF_LANGUAGE.get(language, DEFAULT_LOCALE)


def language_of_locale(locale: str) -> str:
    """Return the text language a UI locale writes, or English for an unknown one."""
    return LANGUAGE_OF_LOCALE.get(str(locale), LANGUAGE_OF_LOCALE[DEFAULT_LOCALE])


# ---------------------------------------------------------------- matches

# Each side's answer to an introduction (Match.demand_response, Match.offering_response).
RESPONSE_LABELS = {
    "pending": _l("not answered yet"),
    "accepted": _l("accepted"),
    "declined": _l("declined"),
}


class MatchStatus(str, enum.Enum):
    PROPOSED = "proposed"
    SHORTLISTED = "shortlisted"
    REJECTED = "rejected"
    INTRODUCED = "introduced"
    DECLINED = "declined"
    EXPIRED = "expired"
    CONNECTED = "connected"
    PILOT_STARTED = "pilot_started"
    CONTRACT_SIGNED = "contract_signed"
    NO_DEAL = "no_deal"


MATCH_STATUS_LABELS = {
    MatchStatus.PROPOSED: _l("Proposed"),
    MatchStatus.SHORTLISTED: _l("Shortlisted"),
    MatchStatus.REJECTED: _l("Rejected"),
    MatchStatus.INTRODUCED: _l("Introduced"),
    MatchStatus.DECLINED: _l("Declined"),
    MatchStatus.EXPIRED: _l("Expired"),
    MatchStatus.CONNECTED: _l("Connected"),
    MatchStatus.PILOT_STARTED: _l("Pilot started"),
    MatchStatus.CONTRACT_SIGNED: _l("Contract signed"),
    MatchStatus.NO_DEAL: _l("No deal"),
}

# Where each side stands on an introduction (Match.demand_response / offering_response).
# Who proposed a match: the engine ranked it, or a curator paired it by hand.
MATCH_SOURCE_LABELS = {"engine": _l("Engine"), "curator": _l("Curator")}

# Why a party declined an introduction; the ranking learns from these.
DECLINE_REASON_LABELS = {
    "not_relevant": _l("Not relevant to us"),
    "budget": _l("Budget does not fit"),
    "timing": _l("Timing does not fit"),
    "capacity": _l("No capacity at the moment"),
    "capability": _l("Capability gap"),
    "deployment": _l("Deployment or location does not fit"),
    "already_engaged": _l("Already working with someone else"),
    "other": _l("Other"),
}
DECLINE_REASONS = tuple(DECLINE_REASON_LABELS)

# Why a curator set a proposal aside.
REJECT_REASON_LABELS = {
    "poor_fit": _l("Poor fit"),
    "scenario_mismatch": _l("Scenario mismatch"),
    "incomplete_posting": _l("Posting is incomplete"),
    "duplicate": _l("Duplicate"),
    "conflict_of_interest": _l("Conflict of interest"),
    "other": _l("Other"),
}
REJECT_REASONS = tuple(REJECT_REASON_LABELS)

# Why a connected pair did not sign.
NO_DEAL_REASON_LABELS = {
    "price": _l("Price"),
    "technical_fit": _l("Technical fit"),
    "data": _l("Data not available"),
    "timing": _l("Timing"),
    "priorities": _l("Changed priorities"),
    "other": _l("Other"),
}
NO_DEAL_REASONS = tuple(NO_DEAL_REASON_LABELS)

# The parts of a match's score, as the curator's decision page names them (matching/ranking.py computes them).
SCORE_PART_LABELS = {
    "dense": _l("Meaning"),
    "lexical": _l("Shared words"),
    "scenario": _l("Scenarios"),
    "industry": _l("Industry"),
    "region": _l("Region"),
    "budget": _l("Budget and price"),
    "deployment": _l("Deployment"),
    "capacity": _l("Capacity"),
}

# ---------------------------------------------------------------- imports

IMPORT_STATUS_LABELS = {
    "uploaded": _l("Waiting for its column mapping"),
    "checking": _l("Checking the rows"),
    "checked": _l("Checked: ready to import"),
    "refused": _l("Refused: fix the rows"),
    "importing": _l("Importing"),
    "done": _l("Imported"),
    "failed": _l("Failed: nothing was imported"),
}
IMPORT_PHASE_LABELS = {
    "queued": _l("Waiting for a worker"),
    "rows": _l("Reading and checking rows"),
    "embedding": _l("Embedding the texts"),
    "proposing": _l("Proposing matches"),
    "": "",
}
