"""Where the LLM is: the endpoint and key of a campaign, from its config and the environment."""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlsplit

from lawloop.agent.errors import ConfigError

__all__ = ["LOCAL_API_KEY", "endpoint_from_env"]

LOCAL_API_KEY = "not-needed"
"""Placeholder key for a local server that checks none (the SDK wants one)."""


def endpoint_from_env(
    config_base_url: str | None, config_api_key_env: str | None
) -> tuple[str, str]:
    """Resolve the LLM endpoint and key from the campaign config and the environment.

    The base URL is `config_base_url` when set, else `OPENAI_BASE_URL`. The key
    is read from the variable named by `config_api_key_env` (default
    `OPENAI_API_KEY`); a local server (loopback host) needs none and gets
    `LOCAL_API_KEY`.

    Args:
        config_base_url: `llm_base_url` from the campaign config, or None.
        config_api_key_env: `llm_api_key_env` from the campaign config, or None.

    Returns:
        `(base_url, api_key)`.

    Raises:
        ConfigError: when no endpoint is configured, the URL is not http(s), or
            a remote endpoint has no key.
    """
    base_url = (config_base_url or "").strip()
    source = "`llm_base_url`"
    if not base_url:
        base_url = os.environ.get("OPENAI_BASE_URL", "").strip()
        source = "`OPENAI_BASE_URL`"
    if not base_url:
        msg = (
            "No LLM endpoint is configured: set OPENAI_BASE_URL or `llm_base_url` in "
            "the campaign config (e.g. `http://127.0.0.1:8080/v1` for a local server)."
        )
        raise ConfigError(msg)
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        msg = (
            f"{source} must be an http(s) URL such as `http://127.0.0.1:8080/v1`; "
            f"got `{base_url}`."
        )
        raise ConfigError(msg)
    key_env = (config_api_key_env or "").strip() or "OPENAI_API_KEY"
    api_key = os.environ.get(key_env, "").strip()
    if api_key:
        return base_url, api_key
    if _is_local(parts.hostname):
        return base_url, LOCAL_API_KEY
    msg = (
        f"The LLM endpoint `{base_url}` needs an API key but `{key_env}` is not set. "
        f"Export `{key_env}`, or name another variable with `llm_api_key_env`."
    )
    raise ConfigError(msg)


def _is_local(host: str) -> bool:
    """Whether `host` is this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
