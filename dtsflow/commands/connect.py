"""Build the API client a command uses, from its `ApiOptions`: `with open_client(args.api) as client: ...`.

- Endpoint: `--endpoint`, else `DTSFLOW_ENDPOINT`, else `https://dts.baidubce.com`; never from a manifest (a
  manifest in a pull request must not be able to send signed requests elsewhere).
- Plain `http://` only to a loopback address, unless `--allow-insecure-http`.
- `--emulator`: start the embedded emulator on an ephemeral loopback port with its state in
  `.dtsflow/emulator.sqlite3` of the current directory (directory mode 0700) and its development keys; it stops
  when the block ends.
- Credentials: `dtsflow.client.credentials` (environment, then a `~/.bce/config.json` profile).

httpx and the emulator are imported only when a client is actually built, so `dtsflow --help` stays fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from dtsflow.client.loopback import is_loopback_host
from dtsflow.commands.args import ApiOptions
from dtsflow.errors import ConfigError

if TYPE_CHECKING:
    from dtsflow.client.http import HttpDtsClient

DEFAULT_ENDPOINT = "https://dts.baidubce.com"
ENV_ENDPOINT = "DTSFLOW_ENDPOINT"
STATE_DIR = ".dtsflow"
EMULATOR_STATE = "emulator.sqlite3"
EMULATOR_LABEL = "embedded emulator"  # the endpoint a saved plan records for --emulator (its port changes)


def check_endpoint(url: str, *, allow_insecure_http: bool = False) -> str:
    """The endpoint as a base URL (`scheme://host[:port]`), or a `ConfigError` saying what is wrong with it."""
    text = url.strip()
    if "://" not in text:
        text = "https://" + text  # a bare host name, as the Go SDK accepts ("dts.baidubce.com")
        host = urlsplit(text).hostname or ""
        print(
            f"note: endpoint {url!r} has no scheme; using {text}"
            + (" (a local emulator speaks plain HTTP: write http://...)" if is_loopback_host(host) else ""),
            file=sys.stderr,
        )
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ConfigError(f"endpoint {url!r} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"endpoint {url!r} must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise ConfigError("endpoint must not contain user information (user:password@)")
    if parts.query or parts.fragment or parts.path not in ("", "/"):
        raise ConfigError(f"endpoint {url!r} must be a scheme and host only, without a path or query")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname) and not allow_insecure_http:
        raise ConfigError(
            f"endpoint {url!r} uses plain http to a host that is not loopback: signed requests could be read or "
            "replayed on the way; use https, or pass --allow-insecure-http if you really mean it"
        )
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}"


def resolve_endpoint(api: ApiOptions, env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    raw = api.endpoint or env.get(ENV_ENDPOINT) or DEFAULT_ENDPOINT
    return check_endpoint(raw, allow_insecure_http=api.allow_insecure_http)


def _say_throttled() -> None:
    """Said once per run, at the first 429."""
    print(
        "note: the DTS API is limiting the request rate (HTTP 429); dtsflow slows the whole run down and goes on. "
        "Pass --rate-limit RPS to stay under your quota from the start.",
        file=sys.stderr,
    )


def _state_dir(cwd: Path) -> Path:
    """`.dtsflow/` in `cwd`, created 0700 (it holds emulator state and the journal)."""
    from dtsflow.apply.statedir import check_state_file, ensure_state_dir

    path = ensure_state_dir(cwd / STATE_DIR)
    check_state_file(path / EMULATOR_STATE)
    return path


@contextmanager
def open_client(
    api: ApiOptions, *, cwd: str | os.PathLike[str] | None = None, **client_options: Any
) -> Iterator[HttpDtsClient]:
    """The client for a command; with `--emulator`, also the embedded emulator for the block's lifetime."""
    from dtsflow.client.credentials import Credentials, require_credentials
    from dtsflow.client.http import HttpDtsClient

    rate_limit = api.rate_limit
    if rate_limit is not None and rate_limit <= 0:
        raise ConfigError("--rate-limit must be a positive number of requests per second")
    if rate_limit is not None:
        client_options.setdefault("rate_limit", rate_limit)
    client_options.setdefault("on_throttled", _say_throttled)

    if api.realism != "plain" and not api.emulator:
        raise ConfigError("--realism applies to the embedded emulator only: add --emulator")
    if api.emulator:
        if api.endpoint:
            raise ConfigError("--emulator and --endpoint cannot be used together")
        from dtsflow.emulator import start_in_thread

        state = _state_dir(Path(cwd) if cwd is not None else Path.cwd()) / EMULATOR_STATE
        with start_in_thread(state_path=str(state), realism=api.realism) as emulator:
            credentials = Credentials(emulator.access_key, emulator.secret_key, source="embedded emulator")
            client = HttpDtsClient(
                emulator.url, credentials, trust_env=False, endpoint_label=EMULATOR_LABEL, **client_options
            )
            try:
                yield client
            finally:
                client.close()
        return

    endpoint = resolve_endpoint(api)
    credentials = require_credentials(api.profile)
    loopback = is_loopback_host(urlsplit(endpoint).hostname or "")
    client = HttpDtsClient(endpoint, credentials, trust_env=not loopback, **client_options)
    try:
        yield client
    finally:
        client.close()
