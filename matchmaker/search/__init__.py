"""Free-text semantic search over published postings."""
