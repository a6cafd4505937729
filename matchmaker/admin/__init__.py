"""Administration: people, organisations and curator approvals."""
