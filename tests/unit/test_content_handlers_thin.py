"""The content handlers (posts, feeds, growth) are thin: no storage imports, no reaching into a service's
repository, and settings change only through CommunitySettingsService."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

HANDLERS = Path(__file__).resolve().parents[2] / "handlers"
CONTENT = sorted(
    [*HANDLERS.glob("posts*.py"), HANDLERS / "feeds.py", HANDLERS / "growth.py", HANDLERS / "settings_reply.py"]
)


@pytest.mark.parametrize("path", CONTENT, ids=lambda p: p.name)
def test_a_content_handler_uses_services_only(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = [
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert not [m for m in imported if m and m.startswith("bot.storage")], "handlers never import bot.storage"
    reached = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    forbidden = {"repo", "update_settings", "set_timezone", "invalidate"}
    assert not reached & forbidden, f"{path.name} reaches into {sorted(reached & forbidden)}"


@pytest.mark.parametrize("name", ["posts.py", "posts_cards.py", "posts_dialog.py", "posts_ui.py"])
def test_no_post_handler_module_is_over_600_lines(name: str) -> None:
    assert len((HANDLERS / name).read_text(encoding="utf-8").splitlines()) <= 600
