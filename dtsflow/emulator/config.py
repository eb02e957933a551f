"""Fixed values of the emulator: development keys, port and limits.

No imports at all: `dtsflow --help` loads this package (for `dtsflow emulator`'s options), so it must stay free.
"""

from __future__ import annotations

# Development credentials. They protect nothing (they are printed at start-up and written here); they exist so
# that clients exercise the real signing path against the emulator exactly as against the cloud.
DEV_ACCESS_KEY = "dtsflow-emulator-ak"
DEV_SECRET_KEY = "dtsflow-emulator-sk-0123456789abcdef"

DEFAULT_PORT = 8470
MAX_BODY_BYTES = 1 << 20  # a DTS request body is a few kB; refuse anything absurd
FUTURE_SKEW_SECONDS = 15 * 60  # a signature dated further ahead than this is RequestExpired

# Operation names: the keys of `/_emulator/stats` "requests" and of the per-operation fault rules.
OPERATIONS = (
    "create",
    "get",
    "list",
    "listWithPage",
    "config",
    "precheck",
    "getPrecheck",
    "skipPrecheck",
    "start",
    "pause",
    "shutdown",
    "delete",
    "rename",
    "resize",
    "assignTags",
    "schema",
    "vpc",
    "rollbackConfig",
    "rollbackPrecheck",
    "rollbackCheck",
    "rollback",
)

ADMIN_TOKEN_HEADER = "X-Dtsflow-Emulator-Token"
"""The admin endpoints' token header; the token is printed at start-up (`RunningEmulator.admin_token`)."""
