"""Steward: a self-hosted assistant for community managers on Telegram."""

__version__ = "0.1.0"
