from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("STEWARD_") or key == "BOT_TOKEN":
            monkeypatch.delenv(key)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_loads_with_token_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123456:TEST")
    settings = load_settings(ROOT / "config.example.toml")
    assert settings.require_token() == "123456:TEST"
    assert settings.telegram.mode == "polling"
    assert settings.community.timezone == "UTC"


def test_environment_overrides_single_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[telegram]\ntoken = "1:abc"\n[database]\npath = "a.db"\n[community]\nlanguage = "ru"\n')
    monkeypatch.setenv("STEWARD_DATABASE__PATH", "/tmp/other.db")
    monkeypatch.setenv("STEWARD_TELEGRAM__API_BASE", "http://127.0.0.1:9/")
    settings = load_settings(path)
    assert str(settings.database.path) == "/tmp/other.db"
    assert settings.telegram.api_base == "http://127.0.0.1:9"
    assert settings.community.language == "ru"  # untouched keys keep the file's value


def test_steward_config_env_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "[managers]\nids = [42, 43]\n")
    monkeypatch.setenv("STEWARD_CONFIG", str(path))
    assert load_settings().managers.ids == [42, 43]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[telegram]\ntokn = "1:a"\n', "telegram.tokn: unknown key"),
        ('[databse]\npath = "x"\n', "databse: unknown key"),
        ('[community]\ntimezone = "Mars/Olympus"\n', "community.timezone: unknown IANA timezone"),
        ('[managers]\nids = ["alice"]\n', "managers.ids.0"),
        ('[telegram]\ntoken = "not a token"\n', "telegram.token: does not look like a bot token"),
        ('[telegram]\nmode = "webhook"\n', "telegram: webhook_url is required"),
        (
            '[telegram]\nmode = "webhook"\nwebhook_url = "https://x.org"\nwebhook_secret = "short-secret"\n',
            "telegram.webhook_secret: is too short: use at least 16 characters",
        ),
        ('[access]\ncommunities = "everyone"\n', "access.communities"),
        ("[database]\nretain_days = -1\n", "database.retain_days"),
        ("[telegram\n", "is not valid TOML"),
    ],
)
def test_bad_config_is_one_line_naming_the_key(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text))
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message


def test_token_value_is_never_echoed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, '[telegram]\ntoken = "123:secret value"\n'))
    assert "secret" not in str(caught.value)


def test_missing_token_is_reported_when_needed(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "[telegram]\n"))
    with pytest.raises(ConfigError, match=r"telegram\.token: missing"):
        settings.require_token()


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    base = {k: v for k, v in os.environ.items() if not k.startswith("STEWARD_") and k != "BOT_TOKEN"}
    base.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=ROOT, env=base, capture_output=True, text=True, timeout=120
    )


def test_cli_bad_config_exits_2_with_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[community]\ntimezone = "Nowhere/Land"\n')
    result = run_cli("run", "--config", str(path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "community.timezone" in lines[0]
    assert "Traceback" not in result.stderr


def test_cli_missing_token_exits_2(tmp_path: Path) -> None:
    result = run_cli("run", "--config", str(ROOT / "config.example.toml"))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "steward: config error: telegram.token: missing; set it in the config file, "
        "STEWARD_TELEGRAM__TOKEN or BOT_TOKEN"
    )
