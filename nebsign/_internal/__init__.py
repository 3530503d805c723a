"""Helpers that are not API."""
