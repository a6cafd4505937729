"""The curator workspace: review queue, manual pairing, notes, history, batch assignment and statistics."""
