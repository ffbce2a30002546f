"""Steward's models: sentiment, sentence encoder, micro-batcher, language detection.

This package imports nothing from ``bot`` or ``handlers``.
"""
