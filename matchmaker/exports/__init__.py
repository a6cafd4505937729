"""Exports of demands, offerings and matches to CSV and XLSX, labelled in the reader's language."""
