"""How well the sentiment model serves each language, and what to tell managers when it is weak."""

from __future__ import annotations

# Macro-recall of the bundled default model per language on held-out test sets
# (see models/README.md for the commands that measured them). Below WEAK the
# managers are told once, and `steward check` warns.
DEFAULT_MODEL_QUALITY: dict[str, float] = {}
WEAK = 0.60
BETTER_HUB_MODEL = "cardiffnlp/twitter-xlm-roberta-base-sentiment"


def weak_language_note(language: str, model: str) -> str | None:
    if model != "default":
        return None
    quality = DEFAULT_MODEL_QUALITY.get(language)
    if quality is not None and quality >= WEAK:
        return None
    measured = f"macro-recall {quality:.2f}" if quality is not None else "not measured"
    return (
        f"the bundled sentiment model is weak for '{language}' ({measured}); "
        f"set sentiment.model = \"{BETTER_HUB_MODEL}\" to serve it better (downloads from the hub)"
    )
