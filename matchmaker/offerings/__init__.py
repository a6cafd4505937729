"""AI vendors' offerings."""
