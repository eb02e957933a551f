"""Secret references: `${secret:NAME}` (an environment variable) or `${secret:file:/path}` (a file's content).

Manifests only ever hold references. `SecretPolicy.resolve` reads the value; apply hands it to the request-body
builders of `dtsflow.client.wire`, which call it while they build a create or config request (and apply's
secret pre-flight calls it once per reference before the first request, to fail before anything is sent).
Errors name the reference, never a value.

Which secrets a manifest may name is the operator's choice, never the manifest's (a merged manifest could otherwise
send the CI's own cloud key, or any readable file, to a host it controls as a database password):
  * environment secrets: any name except the credentials dtsflow itself uses (`BCE_*`, `DTSFLOW_*`);
  * file secrets: only files that, after every symlink is resolved, lie under a directory the operator named
    (`--secret-dir DIR`, repeatable, and `DTSFLOW_SECRET_DIRS`, a `:`-separated list; when neither is given,
    `~/.dtsflow/secrets/`), never the cloud credentials file, and only regular files (a FIFO must not block).
`SecretPolicy.problem` says why a reference is refused without reading anything, so that `validate` refuses it with
a located error; `resolve` checks again (the file system may have changed) before it reads.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dtsflow.errors import ConfigError
from dtsflow.manifest.grammar import SECRET_REF

MAX_SECRET_FILE_BYTES = 64 * 1024
SECRET_DIRS_ENV = "DTSFLOW_SECRET_DIRS"
DEFAULT_SECRET_DIR = "~/.dtsflow/secrets"
# Environment variables that hold dtsflow's own credentials and settings: never a database password.
RESERVED_SECRET_PREFIXES = ("BCE_", "DTSFLOW_")


def is_secret_ref(value: object) -> bool:
    """True for a well-formed `${secret:NAME}` / `${secret:file:/path}` reference."""
    return isinstance(value, str) and SECRET_REF.fullmatch(value) is not None


def _credentials_files() -> tuple[str, ...]:
    """The cloud credentials file (`~/.bce/config.json`), resolved: never a secret, whatever the directories."""
    return (os.path.realpath(os.path.expanduser("~/.bce/config.json")),)


def _inside(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


@dataclass(frozen=True, slots=True)
class SecretPolicy:
    """Where file secrets may come from (resolved directories), as the operator said outside the manifests."""

    dirs: tuple[str, ...]

    @classmethod
    def from_operator(cls, flags: Iterable[str] = (), env: Mapping[str, str] | None = None) -> SecretPolicy:
        """`--secret-dir` values plus `DTSFLOW_SECRET_DIRS`; `~/.dtsflow/secrets` when neither names one."""
        env = os.environ if env is None else env
        named = [d for d in flags if d] + [d for d in env.get(SECRET_DIRS_ENV, "").split(os.pathsep) if d]
        if not named:
            named = [DEFAULT_SECRET_DIR]
        return cls(tuple(dict.fromkeys(os.path.realpath(os.path.expanduser(d)) for d in named)))

    def describe_dirs(self) -> str:
        return ", ".join(self.dirs)

    def problem(self, ref: str) -> str | None:
        """Why this reference may not be used (no file is read), or None."""
        match = SECRET_REF.fullmatch(ref) if isinstance(ref, str) else None
        if match is None:
            return "not a secret reference (expected ${secret:NAME} or ${secret:file:/path})"
        name, path = match.group("name"), match.group("path")
        if name is not None:
            if name.upper().startswith(RESERVED_SECRET_PREFIXES):
                return (
                    f"secret({name!r}) is refused: names starting with "
                    f"{' or '.join(RESERVED_SECRET_PREFIXES)} hold dtsflow's own credentials and settings"
                )
            return None
        assert path is not None
        real = os.path.realpath(os.path.expanduser(path))
        if real in _credentials_files():
            return f"secret('file:{path}') is refused: it is the cloud credentials file"
        if not any(_inside(real, d) for d in self.dirs):
            return (
                f"secret('file:{path}') is refused: file secrets are read only under the secret directories "
                f"({self.describe_dirs()}; name others with --secret-dir or {SECRET_DIRS_ENV})"
            )
        return None

    def resolve(self, ref: str) -> str:
        """The value a reference points to. A file's content loses one trailing newline (as `echo x > f` adds)."""
        refused = self.problem(ref)
        if refused is not None:
            raise ConfigError(f"secret {ref}: {refused}" if is_secret_ref(ref) else refused)
        match = SECRET_REF.fullmatch(ref)
        assert match is not None
        name, path = match.group("name"), match.group("path")
        if name is not None:
            value = os.environ.get(name)
            if value is None:
                raise ConfigError(f"secret {ref}: environment variable {name} is not set")
            return value
        assert path is not None
        data = _read_regular_file(ref, os.path.realpath(os.path.expanduser(path)))
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"secret {ref}: the file is not UTF-8 text") from None
        return text[:-1] if text.endswith("\n") else text


def _read_regular_file(ref: str, real: str) -> bytes:
    """Read a resolved path without following a link planted since, and without blocking on a FIFO or device."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(real, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ConfigError(f"secret {ref}: the file became a symbolic link; refused") from None
        raise ConfigError(f"secret {ref}: cannot read the file ({exc.strerror or type(exc).__name__})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ConfigError(f"secret {ref}: not a regular file; refused")
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_SECRET_FILE_BYTES:
            chunk = os.read(fd, MAX_SECRET_FILE_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise ConfigError(f"secret {ref}: cannot read the file ({exc.strerror or type(exc).__name__})") from None
    finally:
        os.close(fd)
    if size > MAX_SECRET_FILE_BYTES:
        raise ConfigError(f"secret {ref}: the file is larger than {MAX_SECRET_FILE_BYTES // 1024} KiB")
    return b"".join(chunks)


def resolve_secret(ref: str) -> str:
    """`SecretPolicy.resolve` with the operator's settings from the environment (no `--secret-dir`)."""
    return SecretPolicy.from_operator().resolve(ref)
