"""Helpers for matching tests: postings made straight through the models, and a second test encoder."""

import hashlib

import numpy as np
import sqlalchemy as sa

from matchmaker.domain.postings import announce
from matchmaker.extensions import db
from matchmaker.models import Demand, Organization, OrgKind, PostingStatus


def organization(name: str, kind: OrgKind) -> Organization:
    """Return the organisation with this name, creating it if needed."""
    org = db.session.scalar(sa.select(Organization).where(Organization.name == name))
    if org is None:
        org = Organization(name=name, kind=kind, city="Foshan", contact_email=f"hello@{abs(hash(name))}.example")
        db.session.add(org)
        db.session.commit()
    return org


def publish(model, org_name: str, title: str, description: str = "", **fields):
    """Create a published posting and announce it, as the domain layer does after commit."""
    kind = OrgKind.MANUFACTURER if model is Demand else OrgKind.VENDOR
    posting = model(
        title=title,
        description=description or title,
        organization=organization(org_name, kind),
        status=PostingStatus.PUBLISHED,
        **fields,
    )
    db.session.add(posting)
    db.session.commit()
    announce([posting])
    return posting


class HashingEncoder:
    """A deterministic bag-of-characters encoder: a second 'model' for model-change tests."""

    fingerprint = "test:hashing:64"
    dimension = 64

    def encode(self, texts, kind="document"):
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for char in text:
                vectors[row, int(hashlib.md5(char.encode()).hexdigest(), 16) % self.dimension] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)
