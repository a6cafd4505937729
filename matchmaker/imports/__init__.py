"""Spreadsheet imports in the web UI (curators and admins): upload, map, check, commit, in background jobs."""
