from __future__ import annotations

import pytest

from bot.cli.main import build_parser, requested_command


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["run"], "run"),
        (["--config", "x.toml", "check"], "check"),
        (["-v", "--config", "run", "demo"], "demo"),  # a config file oddly named "run"
        (["--help"], None),
        ([], None),
    ],
)
def test_requested_command_skips_options(argv: list[str], command: str | None) -> None:
    assert requested_command(argv) == command


def test_every_feature_command_is_registered() -> None:
    parser = build_parser()
    choices = next(a for a in parser._actions if a.dest == "command").choices
    assert choices is not None
    assert {"run", "check", "demo", "analyze", "faq", "posts", "stats", "cases"} <= set(choices)


def test_config_may_follow_the_subcommand() -> None:
    args = build_parser(with_features=False).parse_args(["run", "--config", "a.toml", "-v"])
    assert str(args.config) == "a.toml" and args.verbose is True
