"""Manufacturers' demands for AI scenarios."""
