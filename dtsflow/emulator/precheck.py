"""Precheck items and the deterministic triggers that make them (or a run) fail.

Item names follow the service's documented pattern, side + database + check (`srcOracleConnect`): here the side
(`src`/`dst`), the end's `dbType` capitalised, and the check, e.g. `srcMysqlBinlogFormat`, `dstKafkaConnect`.

A trigger is a case-insensitive substring of a connection's `dbHost` (and, for privileges, `dbUser`). The table
`TRIGGERS` is the single source of truth; docs/emulator.md lists the same words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# trigger word -> the check it fails and whose connection is looked at (`src`, `dst` or both)
TRIGGERS: dict[str, tuple[tuple[str, ...], str]] = {
    "unreachable": (("src", "dst"), "Connect"),
    "no-privilege": (("src", "dst"), "Privilege"),
    "binlog-off": (("src",), "BinlogFormat"),
    "binlog-statement": (("src",), "BinlogFormat"),
    "row-image-minimal": (("src",), "BinlogRowImage"),
    "server-id-0": (("src",), "ServerId"),
    "not-empty": (("dst",), "ObjectConflict"),
    "old-version": (("src", "dst"), "Version"),
}
RUN_FAIL_TRIGGER = "run-fail"  # a host containing it makes `start` end in runFailed
CONFIG_FAIL_TRIGGER = "config-fail"  # a host containing it makes `config` end in configFailed

_SIDES = {"src": "source", "dst": "destination"}
_DESCRIPTIONS: dict[str, str] = {
    "Connect": "Check whether the data transmission server can connect to the {side} database.",
    "Version": "Check whether the version of the {side} database is supported.",
    "Privilege": "Check whether the {side} database account has the privileges the migration needs.",
    "BinlogFormat": "Check whether binlog is enabled on the source and binlog_format is ROW.",
    "BinlogRowImage": "Check whether binlog_row_image of the source is FULL.",
    "ServerId": "Check whether server_id of the source is set to a value greater than 0.",
    "ObjectConflict": "Check whether the destination already has objects with the names to be migrated.",
    "ObjectExist": "Check whether the objects to be migrated exist in the source database.",
}

_FAILURES: dict[str, str] = {
    "srcConnect": "cannot connect to the source database {host}:{port}: connection timed out",
    "dstConnect": "cannot connect to the destination database {host}:{port}: connection timed out",
    "srcVersion": "the source database version is not supported (5.5 or later is required)",
    "dstVersion": "the destination database version is not supported",
    "srcPrivilege": "account {user} lacks privileges on the source: REPLICATION SLAVE, REPLICATION CLIENT, SELECT",
    "dstPrivilege": "account {user} lacks privileges on the destination: CREATE, INSERT, UPDATE, DELETE, ALTER",
    "srcBinlogFormat": "binlog_format of the source is not ROW (binlog disabled or STATEMENT); set binlog_format=ROW",
    "srcBinlogRowImage": "binlog_row_image of the source is MINIMAL; set binlog_row_image=FULL",
    "srcServerId": "server_id of the source is 0; set server_id to a positive value",
    "dstObjectConflict": "the destination already contains objects with the same names: {objects}",
    "srcObjectExist": "objects not found in the source: {objects}",
}
"""Failure messages by side and check (the item's name without its database)."""


def _text(conn: Mapping[str, Any], *keys: str) -> str:
    return " ".join(str(conn.get(k) or "") for k in keys).lower()


def database_word(conn: Mapping[str, Any]) -> str:
    """The database part of a check name: the end's `dbType`, capitalised (`mysql` -> `Mysql`)."""
    letters = "".join(c for c in str(conn.get("dbType") or "") if c.isalnum())
    return letters[:1].upper() + letters[1:].lower()


def check_name(end: str, conn: Mapping[str, Any], check: str) -> str:
    """The service's pattern: side + database + check, e.g. `srcMysqlConnect`, `dstKafkaPrivilege`."""
    return f"{end}{database_word(conn)}{check}"


def failing_checks(src: Mapping[str, Any], dst: Mapping[str, Any]) -> set[str]:
    """The checks (side + check, e.g. `srcConnect`) that the triggers in these connections make fail."""
    failed: set[str] = set()
    for end, conn in (("src", src), ("dst", dst)):
        host = _text(conn, "dbHost")
        host_and_user = _text(conn, "dbHost", "dbUser")
        for word, (ends, check) in TRIGGERS.items():
            haystack = host_and_user if word == "no-privilege" else host
            if end in ends and word in haystack:
                failed.add(end + check)
    return failed


def is_mysql(conn: Mapping[str, Any]) -> bool:
    return str(conn.get("dbType") or "").lower() == "mysql"


def build_items(doc: Mapping[str, Any]) -> list[dict[str, str]]:
    """The check items of a precheck of this task, in the order the console shows them."""
    src: Mapping[str, Any] = doc.get("srcConnection") or {}
    dst: Mapping[str, Any] = doc.get("dstConnection") or {}
    data_type: Sequence[str] = doc.get("dataType") or []
    mapping: Sequence[Mapping[str, Any]] = doc.get("schemaMapping") or []
    checks = ["srcConnect", "dstConnect", "srcVersion", "dstVersion", "srcPrivilege", "dstPrivilege"]
    if is_mysql(src) and "increment" in data_type:
        checks += ["srcBinlogFormat", "srcBinlogRowImage", "srcServerId"]
    checks += ["srcObjectExist"]
    if "schema" in data_type or "base" in data_type:
        checks += ["dstObjectConflict"]
    failed = failing_checks(src, dst)
    missing = [str(m.get("src") or "") for m in mapping if "missing" in str(m.get("src") or "").lower()]
    if missing:
        failed.add("srcObjectExist")
    objects = ", ".join(str(m.get("dst") or m.get("src") or "") for m in mapping) or "(instance)"
    items: list[dict[str, str]] = []
    for sided in checks:
        end, check = sided[:3], sided[3:]
        conn = src if end == "src" else dst
        if sided in failed:
            message = _FAILURES[sided].format(
                host=conn.get("dbHost") or "",
                port=conn.get("dbPort") or "",
                user=conn.get("dbUser") or "",
                objects=", ".join(missing) if sided == "srcObjectExist" else objects,
            )
            status = "failed"
        else:
            message, status = "", "pass"
        description = _DESCRIPTIONS[check].format(side=_SIDES[end])
        items.append(
            {"name": check_name(end, conn, check), "status": status, "message": message, "subscription": description}
        )
    return items


def trigger_in(doc: Mapping[str, Any], word: str) -> bool:
    """Whether either end's host names this trigger word."""
    return any(word in _text(doc.get(end) or {}, "dbHost") for end in ("srcConnection", "dstConnection"))
