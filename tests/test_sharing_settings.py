"""The sharing settings: the exposure guard, the key policy, the per-user run limit."""

from __future__ import annotations

import pytest

from agent.exposure import exposure_problem, is_local
from agent.key_policy import settings_for
from agent.settings import Settings, load_settings


def test_sharing_settings_read_from_environment_and_secrets(tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text("WAYPOINT_VISITORS = true\nWAYPOINT_VISITOR_HOURS = 2\n")
    settings = load_settings(
        {"WAYPOINT_RUNS_PER_HOUR": "5", "WAYPOINT_SHARE_KEYS": "yes"}, secrets_file=secrets
    )
    assert settings.visitors and settings.share_keys and not settings.allow_open
    assert settings.visitor_hours == 2.0
    assert settings.runs_per_hour == 5
    defaults = load_settings({}, secrets_file=tmp_path / "none.toml")
    assert (defaults.visitors, defaults.share_keys, defaults.runs_per_hour) == (False, False, None)


@pytest.mark.parametrize(
    ("name", "raw", "says"),
    [
        ("WAYPOINT_VISITORS", "maybe", "set it to true or false"),
        ("WAYPOINT_RUNS_PER_HOUR", "0", "at least 1"),
        ("WAYPOINT_RUNS_PER_HOUR", "many", "at least 1"),
        ("WAYPOINT_VISITOR_HOURS", "-3", "at least 0.01"),
    ],
)
def test_bad_sharing_setting_is_one_clear_sentence(tmp_path, name, raw, says):
    with pytest.raises(ValueError, match=says) as caught:
        load_settings({name: raw}, secrets_file=tmp_path / "none.toml")
    assert name in str(caught.value)


def test_non_local_address_without_login_is_refused_unless_chosen():
    plain = Settings()
    assert is_local("127.0.0.1") and is_local("localhost") and is_local("[::1]")
    assert not is_local("0.0.0.0") and not is_local("") and not is_local(None)
    assert exposure_problem("127.0.0.1", auth_configured=False, settings=plain) is None
    problem = exposure_problem("0.0.0.0", auth_configured=False, settings=plain)
    assert problem is not None and "WAYPOINT_ALLOW_OPEN" in problem and "[auth]" in problem
    assert exposure_problem("", auth_configured=False, settings=plain) is not None
    assert exposure_problem("0.0.0.0", auth_configured=True, settings=plain) is None
    assert exposure_problem("0.0.0.0", False, plain.with_overrides(visitors=True)) is None
    assert exposure_problem("0.0.0.0", False, plain.with_overrides(allow_open=True)) is None


def test_deployment_keys_reach_shared_users_only_when_the_owner_allows():
    owner = Settings(openai_api_key="sk-owner", tavily_api_key="tvly-owner")
    assert settings_for(owner, shared=False).openai_api_key == "sk-owner"
    kept_back = settings_for(owner, shared=True)
    assert kept_back.openai_api_key is None and kept_back.tavily_api_key is None
    assert kept_back.default_provider == "demo" and kept_back.default_search == "offline"
    shared = settings_for(owner.with_overrides(share_keys=True), shared=True)
    assert shared.openai_api_key == "sk-owner" and shared.tavily_api_key == "tvly-owner"
