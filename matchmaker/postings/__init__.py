"""Manufacturers' demands and AI vendors' offerings: one set of views serving both kinds."""
