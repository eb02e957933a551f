"""Credential sources, their order, file permissions and secret masking."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dtsflow.client.credentials import Credentials, find_credentials, require_credentials
from dtsflow.errors import ConfigError

CANARY = "CANARY-sk-5f1e0d9c"


def write_config(tmp_path: Path, data: object, mode: int = 0o600) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    path.chmod(mode)
    return path


BCE_CLI_CONFIG = {
    "current": "work",
    "profiles": [
        {"name": "default", "mode": "AK", "access_key_id": "AK-default", "secret_access_key": CANARY},
        {
            "name": "work",
            "mode": "StsToken",
            "access_key_id": "AK-work",
            "secret_access_key": CANARY,
            "security_token": "tok-work",
        },
    ],
}


def test_environment_wins_over_the_config_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, BCE_CLI_CONFIG)
    env = {"BCE_ACCESS_KEY_ID": "AK-env", "BCE_SECRET_ACCESS_KEY": CANARY, "BCE_SECURITY_TOKEN": "tok-env"}
    creds = find_credentials(env=env, config_path=path)
    assert creds is not None
    assert (creds.access_key_id, creds.secret_access_key, creds.security_token) == ("AK-env", CANARY, "tok-env")
    assert creds.source == "environment"


def test_environment_without_token(tmp_path: Path) -> None:
    creds = find_credentials(
        env={"BCE_ACCESS_KEY_ID": "AK", "BCE_SECRET_ACCESS_KEY": "SK"}, config_path=tmp_path / "none.json"
    )
    assert creds == Credentials("AK", "SK", None, source="environment")


def test_half_set_environment_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="BCE_SECRET_ACCESS_KEY is not set"):
        find_credentials(env={"BCE_ACCESS_KEY_ID": "AK"}, config_path=tmp_path / "none.json")


def test_current_profile_of_bce_cli_config(tmp_path: Path) -> None:
    creds = find_credentials(env={}, config_path=write_config(tmp_path, BCE_CLI_CONFIG))
    assert creds is not None
    assert (creds.access_key_id, creds.security_token) == ("AK-work", "tok-work")
    assert "'work'" in creds.source


def test_named_profile_and_explicit_profile_beats_environment(tmp_path: Path) -> None:
    path = write_config(tmp_path, BCE_CLI_CONFIG)
    env = {"BCE_ACCESS_KEY_ID": "AK-env", "BCE_SECRET_ACCESS_KEY": "SK-env"}
    creds = find_credentials("default", env=env, config_path=path)
    assert creds is not None and creds.access_key_id == "AK-default" and creds.security_token is None


def test_unknown_profile_names_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no profile named 'prod' \(profiles: default, work\)"):
        find_credentials("prod", env={}, config_path=write_config(tmp_path, BCE_CLI_CONFIG))


def test_flat_short_key_format(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"current": {"ak": "AK-flat", "sk": CANARY, "sts": "tok"}})
    creds = find_credentials(env={}, config_path=path)
    assert creds is not None and (creds.access_key_id, creds.security_token) == ("AK-flat", "tok")


def test_sts_mode_without_token_is_refused(tmp_path: Path) -> None:
    data = {
        "current": "x",
        "profiles": [{"name": "x", "mode": "StsToken", "access_key_id": "A", "secret_access_key": "S"}],
    }
    with pytest.raises(ConfigError, match="StsToken mode but has no security_token"):
        find_credentials(env={}, config_path=write_config(tmp_path, data))


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660, 0o606, 0o610])
def test_group_or_other_permission_bits_are_refused(tmp_path: Path, mode: int) -> None:
    path = write_config(tmp_path, BCE_CLI_CONFIG, mode)
    with pytest.raises(ConfigError, match="too open") as info:
        find_credentials(env={}, config_path=path)
    assert "chmod 600" in str(info.value)
    assert CANARY not in str(info.value)


def test_owner_only_modes_are_accepted(tmp_path: Path) -> None:
    for mode in (0o600, 0o400):
        assert find_credentials(env={}, config_path=write_config(tmp_path, BCE_CLI_CONFIG, mode)) is not None


def test_broken_json_error_does_not_echo_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"current": {"ak": "A", "sk": "' + CANARY + '",,}}')
    path.chmod(0o600)
    with pytest.raises(ConfigError, match="not a readable JSON file") as info:
        find_credentials(env={}, config_path=path)
    assert CANARY not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_missing_credentials_mention_the_emulator(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--emulator") as info:
        require_credentials(env={}, config_path=tmp_path / "absent.json")
    assert "BCE_ACCESS_KEY_ID" in str(info.value)


def test_secret_and_token_are_masked_in_repr_and_str() -> None:
    creds = Credentials("AK-visible", CANARY, "TOKEN-CANARY", source="environment")
    for text in (repr(creds), str(creds), f"{creds}", repr([creds]), repr({"c": creds})):
        assert CANARY not in text and "TOKEN-CANARY" not in text
        assert "AK-visible" in text
