"""Whose API keys pay for a run on a shared deployment.

On the local one-person tool the keys in the environment or secrets.toml are the user's own. On
a shared deployment (logins or visitor mode) they are the owner's: people use them only when the
owner says so (WAYPOINT_SHARE_KEYS); otherwise each person brings a key for their session, asked
by the settings panel and kept in that session only, and the deployment's keys stay unused.
"""

from __future__ import annotations

from agent.settings import Settings


def settings_for(settings: Settings, shared: bool) -> Settings:
    """The settings one person's runs use: without the deployment's keys unless they are shared."""
    if not shared or settings.share_keys:
        return settings
    return settings.with_overrides(openai_api_key=None, tavily_api_key=None)
