"""Switchyard's security baseline as a pulumi-policy pack (``policy/__main__.py`` serves it)."""
