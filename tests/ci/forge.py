"""A fake GitHub and GitLab REST API on a real socket: just the calls the CI recipes make.

The recipes' scripts talk HTTP to whatever `GITHUB_API_URL` / `CI_API_V4_URL` says; here that is this server.
It keeps comments (notes) per pull request, which commit merged which pull request, the successful plan runs,
and the artifacts the jobs uploaded, so that a test can follow a pull request from its first plan to its apply.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

BOT = "github-actions[bot]"
GITLAB_BOT_ID = 4242


@dataclass
class Forge:
    token: str = "forge-token"
    comments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # "owner/repo#7" or "gl:1!7"
    merges: dict[str, dict[str, Any]] = field(default_factory=dict)  # merge commit sha -> pull request
    runs: list[dict[str, Any]] = field(default_factory=list)  # {"id", "workflow", "head_sha", "event", "status"}
    artifacts: dict[tuple[str, str], dict[str, bytes]] = field(default_factory=dict)  # (run id | ref, name) -> files
    requests: list[str] = field(default_factory=list)
    url: str = ""
    _next_id: int = 100

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def store(self, key: tuple[str, str], files: dict[str, bytes]) -> None:
        self.artifacts[key] = files

    def bodies(self, thread: str) -> list[str]:
        return [c["body"] for c in self.comments.get(thread, [])]


def _route(forge: Forge, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
    one = {k: v[0] for k, v in query.items()}
    # --- GitHub -------------------------------------------------------------------------------------------
    if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/(\d+)/comments", path):
        thread = f"{m[1]}#{m[2]}"
        if method == "GET":
            page, per = int(one.get("page", 1)), int(one.get("per_page", 30))
            return 200, forge.comments.get(thread, [])[(page - 1) * per : page * per]
        if method == "POST":
            comment = {"id": forge.new_id(), "body": body["body"], "user": {"login": BOT, "type": "Bot"}}
            forge.comments.setdefault(thread, []).append(comment)
            return 201, comment
    if (m := re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/comments/(\d+)", path)) and method == "PATCH":
        for comments in forge.comments.values():
            for comment in comments:
                if comment["id"] == int(m[2]):
                    comment["body"] = body["body"]
                    return 200, comment
        return 404, {"message": "Not Found"}
    if (m := re.fullmatch(r"/repos/([^/]+/[^/]+)/commits/([0-9a-f]+)/pulls", path)) and method == "GET":
        pull = forge.merges.get(m[2])
        return 200, [pull] if pull else []
    if (m := re.fullmatch(r"/repos/([^/]+/[^/]+)/actions/workflows/([^/]+)/runs", path)) and method == "GET":
        runs = [
            r
            for r in reversed(forge.runs)
            if r["workflow"] == m[2]
            and r["head_sha"] == one.get("head_sha")
            and r["event"] == one.get("event")
            and r["status"] == one.get("status")
        ]
        return 200, {"total_count": len(runs), "workflow_runs": runs[: int(one.get("per_page", 30))]}
    # --- GitLab -------------------------------------------------------------------------------------------
    if path == "/api/v4/user" and method == "GET":
        return 200, {"id": GITLAB_BOT_ID, "username": "project_1_bot"}
    if m := re.fullmatch(r"/api/v4/projects/(\d+)/merge_requests/(\d+)/notes", path):
        thread = f"gl:{m[1]}!{m[2]}"
        if method == "GET":
            page, per = int(one.get("page", 1)), int(one.get("per_page", 20))
            return 200, forge.comments.get(thread, [])[(page - 1) * per : page * per]
        if method == "POST":
            note = {"id": forge.new_id(), "body": body["body"], "author": {"id": GITLAB_BOT_ID}}
            forge.comments.setdefault(thread, []).append(note)
            return 201, note
    if (m := re.fullmatch(r"/api/v4/projects/(\d+)/merge_requests/(\d+)/notes/(\d+)", path)) and method == "PUT":
        for note in forge.comments.get(f"gl:{m[1]}!{m[2]}", []):
            if note["id"] == int(m[3]):
                note["body"] = body["body"]
                return 200, note
        return 404, {"message": "404 Not found"}
    if (m := re.fullmatch(r"/api/v4/projects/(\d+)/repository/commits/([0-9a-f]+)/merge_requests", path)) and (
        method == "GET"
    ):
        merge = forge.merges.get(m[2])
        return 200, [merge] if merge else []
    if (m := re.fullmatch(r"/api/v4/projects/(\d+)/jobs/artifacts/([^/]+)/raw/(.+)", path)) and method == "GET":
        files = forge.artifacts.get((unquote(m[2]), one.get("job", "")), {})
        if m[3] in files:
            return 200, files[m[3]]
        return 404, {"message": "404 Not found"}
    return 404, {"message": f"fake forge: no route for {method} {path}"}


class _Handler(BaseHTTPRequestHandler):
    forge: Forge

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        forge = self.server.forge  # type: ignore[attr-defined]
        split = urlsplit(self.path)
        raw_path = split.path
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        forge.requests.append(f"{self.command} {raw_path}")
        auth = self.headers.get("Authorization", "") + self.headers.get("PRIVATE-TOKEN", "")
        if forge.token not in auth:
            status, answer = 401, {"message": "Bad credentials"}
        else:
            # the raw path: an encoded slash (refs%2Fmerge-requests%2F7%2Fhead) stays inside its segment
            status, answer = _route(forge, self.command, raw_path, parse_qs(split.query), body)
        data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
        self.send_response(status)
        self.send_header(
            "Content-Type", "application/octet-stream" if isinstance(answer, bytes) else "application/json"
        )
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = _serve


@contextmanager
def running_forge() -> Iterator[Forge]:
    forge = Forge()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.forge = forge  # type: ignore[attr-defined]
    forge.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield forge
    finally:
        server.shutdown()
        server.server_close()


def read_files(root: Path, paths: list[str]) -> dict[str, bytes]:
    return {p: (root / p).read_bytes() for p in paths if (root / p).is_file()}
