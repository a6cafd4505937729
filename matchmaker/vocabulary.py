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
    OrgKind.MANUFACTURER: _l("廠商 Manufacturer"),
    OrgKind.VENDOR: _l("AI 供應商 Vendor"),
    OrgKind.AGENCY: _l("推廣機構 Agency"),
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
POSTING_KIND_LABELS = {DEMAND: _l("需求 Demand"), OFFERING: _l("方案 Offering")}


class PostingStatus(str, enum.Enum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CLOSED = "closed"


POSTING_STATUS_LABELS = {
    PostingStatus.DRAFT: _l("草稿 Draft"),
    PostingStatus.PUBLISHED: _l("已發佈 Published"),
    PostingStatus.CLOSED: _l("已關閉 Closed"),
}

DEPLOYMENT_LABELS = {
    "on_premises": _l("本地部署 On-premises"),
    "edge": _l("邊緣部署 Edge"),
    "cloud": _l("雲端 Cloud"),
}
DEPLOYMENT_MODES = tuple(DEPLOYMENT_LABELS)

VOUCHER_LABELS = {
    "compute": _l("算力券 Compute voucher"),
    "model": _l("模型券 Model voucher"),
    "training": _l("訓練券 Training voucher"),
}
VOUCHER_KINDS = tuple(VOUCHER_LABELS)

# Regions an offering may list; it may name cities besides, which are kept as written.
REGION_LABELS = {
    "Guangdong": _l("廣東 Guangdong"),
    "Hong Kong": _l("香港 Hong Kong"),
    "Macau": _l("澳門 Macau"),
    "Greater Bay Area": _l("大灣區 Greater Bay Area"),
    "Nationwide": _l("全國 Nationwide"),
}
REGIONS = tuple(REGION_LABELS)

# ---------------------------------------------------------------- languages

# A posting's text language is a BCP 47 tag, as the matching engine detects it; the interface's locale is a
# Babel locale name. The two spell the same languages differently, so this is the one place that pairs them.
LOCALE_OF_LANGUAGE = {"zh-Hant": "zh_Hant", "zh-Hans": "zh_Hans", "en": "en"}
LANGUAGE_OF_LOCALE = {locale: language for language, locale in LOCALE_OF_LANGUAGE.items()}

TEXT_LANGUAGES = tuple(LOCALE_OF_LANGUAGE)
DETECT_LANGUAGE = ""  # a posting whose language is left for the engine to detect
TEXT_LANGUAGE_LABELS = {
    DETECT_LANGUAGE: _l("Detect automatically"),
    "zh-Hant": _l("繁體中文"),
    "zh-Hans": _l("简体中文"),
    "en": _l("English"),
}

DEFAULT_LOCALE = "en"
# In the order a browser's equally preferred languages are settled in.
UI_LOCALES = (DEFAULT_LOCALE, "zh_Hant", "zh_Hans")


def locale_of_language(language: str) -> str:
    """Return the UI locale that shows a text language, or the default locale for an unknown one."""
    return LOCALE_OF_LANGUAGE.get(language, DEFAULT_LOCALE)


def language_of_locale(locale: str) -> str:
    """Return the text language a UI locale writes, or English for an unknown one."""
    return LANGUAGE_OF_LOCALE.get(str(locale), LANGUAGE_OF_LOCALE[DEFAULT_LOCALE])


# ---------------------------------------------------------------- matches


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
    MatchStatus.PROPOSED: _l("已提議 Proposed"),
    MatchStatus.SHORTLISTED: _l("已入圍 Shortlisted"),
    MatchStatus.REJECTED: _l("已否決 Rejected"),
    MatchStatus.INTRODUCED: _l("已引薦 Introduced"),
    MatchStatus.DECLINED: _l("已婉拒 Declined"),
    MatchStatus.EXPIRED: _l("已過期 Expired"),
    MatchStatus.CONNECTED: _l("已對接 Connected"),
    MatchStatus.PILOT_STARTED: _l("試點中 Pilot started"),
    MatchStatus.CONTRACT_SIGNED: _l("已簽約 Contract signed"),
    MatchStatus.NO_DEAL: _l("未成交 No deal"),
}

# Why a party declined an introduction; the ranking learns from these.
DECLINE_REASON_LABELS = {
    "not_relevant": _l("與需求無關 Not relevant to us"),
    "budget": _l("預算不符 Budget does not fit"),
    "timing": _l("時間不符 Timing does not fit"),
    "capacity": _l("暫無產能 No capacity at the moment"),
    "capability": _l("能力不足 Capability gap"),
    "deployment": _l("部署或地點不符 Deployment or location does not fit"),
    "already_engaged": _l("已有合作方 Already working with someone else"),
    "other": _l("其他 Other"),
}
DECLINE_REASONS = tuple(DECLINE_REASON_LABELS)

# Why a curator set a proposal aside.
REJECT_REASON_LABELS = {
    "poor_fit": _l("匹配度低 Poor fit"),
    "scenario_mismatch": _l("場景不符 Scenario mismatch"),
    "incomplete_posting": _l("資料不完整 Posting is incomplete"),
    "duplicate": _l("重複 Duplicate"),
    "conflict_of_interest": _l("利益衝突 Conflict of interest"),
    "other": _l("其他 Other"),
}
REJECT_REASONS = tuple(REJECT_REASON_LABELS)

# Why a connected pair did not sign.
NO_DEAL_REASON_LABELS = {
    "price": _l("價格 Price"),
    "technical_fit": _l("技術不符 Technical fit"),
    "data": _l("數據不足 Data not available"),
    "timing": _l("時間 Timing"),
    "priorities": _l("優先次序改變 Changed priorities"),
    "other": _l("其他 Other"),
}
NO_DEAL_REASONS = tuple(NO_DEAL_REASON_LABELS)
