"""Precheck items and the deterministic triggers that make them (or a run) fail.

A trigger is a case-insensitive substring of a connection's `dbHost` (and, for privileges, `dbUser`). The table
`TRIGGERS` is the single source of truth; docs/emulator.md lists the same words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# trigger word -> the check it fails (`src`/`dst` says whose host or user is looked at)
TRIGGERS: dict[str, str] = {
    "unreachable": "{end}Connect",
    "no-privilege": "{end}Privilege",
    "binlog-off": "srcBinlogFormat",
    "binlog-statement": "srcBinlogFormat",
    "row-image-minimal": "srcBinlogRowImage",
    "server-id-0": "srcServerId",
    "not-empty": "dstObjectConflict",
    "old-version": "{end}Version",
}
RUN_FAIL_TRIGGER = "run-fail"  # a host containing it makes `start` end in runFailed
CONFIG_FAIL_TRIGGER = "config-fail"  # a host containing it makes `config` end in configFailed

_DESCRIPTIONS: dict[str, str] = {
    "srcConnect": "Check whether the data transmission server can connect to the source database.",
    "dstConnect": "Check whether the data transmission server can connect to the destination database.",
    "srcVersion": "Check whether the version of the source database is supported.",
    "dstVersion": "Check whether the version of the destination database is supported.",
    "srcPrivilege": "Check whether the source database account has the privileges the migration needs.",
    "dstPrivilege": "Check whether the destination database account has the privileges the migration needs.",
    "srcBinlogFormat": "Check whether binlog is enabled on the source and binlog_format is ROW.",
    "srcBinlogRowImage": "Check whether binlog_row_image of the source is FULL.",
    "srcServerId": "Check whether server_id of the source is set to a value greater than 0.",
    "dstObjectConflict": "Check whether the destination already has objects with the names to be migrated.",
    "srcObjectExist": "Check whether the objects to be migrated exist in the source database.",
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


def _text(conn: Mapping[str, Any], *keys: str) -> str:
    return " ".join(str(conn.get(k) or "") for k in keys).lower()


def failing_checks(src: Mapping[str, Any], dst: Mapping[str, Any]) -> set[str]:
    """Names of the checks that the triggers in these connections make fail."""
    failed: set[str] = set()
    for end, conn in (("src", src), ("dst", dst)):
        host = _text(conn, "dbHost")
        host_and_user = _text(conn, "dbHost", "dbUser")
        for word, check in TRIGGERS.items():
            haystack = host_and_user if word == "no-privilege" else host
            if word not in haystack:
                continue
            name = check.format(end=end)
            if name.startswith(end):
                failed.add(name)
    return failed


def is_mysql(conn: Mapping[str, Any]) -> bool:
    return str(conn.get("dbType") or "").lower() == "mysql"


def build_items(doc: Mapping[str, Any]) -> list[dict[str, str]]:
    """The check items of a precheck of this task, in the order the console shows them."""
    src: Mapping[str, Any] = doc.get("srcConnection") or {}
    dst: Mapping[str, Any] = doc.get("dstConnection") or {}
    data_type: Sequence[str] = doc.get("dataType") or []
    mapping: Sequence[Mapping[str, Any]] = doc.get("schemaMapping") or []
    names = ["srcConnect", "dstConnect", "srcVersion", "dstVersion", "srcPrivilege", "dstPrivilege"]
    if is_mysql(src) and "increment" in data_type:
        names += ["srcBinlogFormat", "srcBinlogRowImage", "srcServerId"]
    names += ["srcObjectExist"]
    if "schema" in data_type or "base" in data_type:
        names += ["dstObjectConflict"]
    failed = failing_checks(src, dst)
    missing = [str(m.get("src") or "") for m in mapping if "missing" in str(m.get("src") or "").lower()]
    if missing:
        failed.add("srcObjectExist")
    objects = ", ".join(str(m.get("dst") or m.get("src") or "") for m in mapping) or "(instance)"
    items: list[dict[str, str]] = []
    for name in names:
        conn = src if name.startswith("src") else dst
        if name in failed:
            message = _FAILURES[name].format(
                host=conn.get("dbHost") or "",
                port=conn.get("dbPort") or "",
                user=conn.get("dbUser") or "",
                objects=", ".join(missing) if name == "srcObjectExist" else objects,
            )
            status = "failed"
        else:
            message, status = "", "pass"
        items.append({"name": name, "status": status, "message": message, "subscription": _DESCRIPTIONS[name]})
    return items


def trigger_in(doc: Mapping[str, Any], word: str) -> bool:
    """Whether either end's host names this trigger word."""
    return any(word in _text(doc.get(end) or {}, "dbHost") for end in ("srcConnection", "dstConnection"))
