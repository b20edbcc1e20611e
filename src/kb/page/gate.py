"""What reaches the page's server before Streamlit sees it.

Streamlit takes a file at ``PUT /_stcore/upload_file/<session>/<file>`` from any session of its own,
whether or not the page shows that session an uploader, and keeps it in memory until the session ends.
On a page served to the network that is memory any visitor can fill. kb's page shows the uploader
only to who may manage, so the server takes files only from those sessions (the page enrols each
such session as it draws the 管理 tab), and never more than ``max_upload_session_mb`` held at once.
In front of that sits the host rule (kb.office.hosts).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from kb.config import Settings
from kb.office.hosts import Asgi, HostRule, guard_hosts, refuse

UPLOAD_ROUTE = "/_stcore/upload_file/"


class UploadGate:
    """The sessions of this server process that may send files: one set, shared by the page's script
    runs (which enrol and withdraw) and the server (which asks)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._sessions: set[str] = set()

    def enrol(self, session_id: str) -> None:
        with self._lock:
            self._sessions.add(session_id)

    def withdraw(self, session_id: str) -> None:
        with self._lock:
            self._sessions.discard(session_id)

    def admits(self, session_id: str) -> bool:
        with self._lock:
            return session_id in self._sessions


GATE = UploadGate()


def enrol_this_session(may_manage: bool) -> None:
    """Called as the 管理 tab is drawn: this session may send files exactly while it may manage."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    context = get_script_run_ctx()
    if context is not None:
        (GATE.enrol if may_manage else GATE.withdraw)(context.session_id)


def guard_uploads(app: Asgi, gate: UploadGate, held_bytes: Callable[[str], int], cap_bytes: int) -> Asgi:
    """``app`` taking uploads only from sessions ``gate`` admits, while what the session holds
    (``held_bytes``) and what it sends (its Content-Length) stay within ``cap_bytes``. A body without a
    length can pass the cap by one file, which Streamlit's own per-file limit bounds."""

    async def guarded(scope: dict, receive, send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or UPLOAD_ROUTE not in path or scope.get("method") in ("DELETE", "OPTIONS"):
            return await app(scope, receive, send)
        session_id = path.split(UPLOAD_ROUTE, 1)[1].split("/", 1)[0]
        if not gate.admits(session_id):
            return await refuse(send, 403, "uploads are for a session that manages kb (管理, after logging in)")
        sent = next((int(value) for key, value in scope.get("headers", ())
                     if key.lower() == b"content-length" and value.isdigit()), 0)
        if held_bytes(session_id) + sent > cap_bytes:
            return await refuse(send, 413, f"this session already holds files up to its limit of "
                                            f"{cap_bytes // 2**20} MB: index or remove them first")
        return await app(scope, receive, send)

    return guarded


def protect_streamlit(settings: Settings, bound_host: str) -> None:
    """Puts the host rule and the upload gate in front of the Starlette app Streamlit is about to make.
    Streamlit has no hook for this: its server module's factory is wrapped, and a Streamlit whose
    server is made differently stops `kb serve` here rather than serving unguarded."""
    try:
        from streamlit.web.server.starlette import starlette_server
        make_app = starlette_server.create_starlette_app
    except (ImportError, AttributeError) as exc:
        raise RuntimeError("this Streamlit makes its server in a way kb cannot guard; "
                           "install the version pyproject.toml names") from exc
    rule = HostRule([*settings.allowed_hosts, bound_host])
    cap = settings.max_upload_session_mb * 2**20

    def guarded_app(runtime):
        storage = runtime.uploaded_file_mgr.file_storage

        def held_bytes(session_id: str) -> int:
            return sum(len(record.data) for record in list(storage.get(session_id, {}).values()))

        uploads = guard_uploads(make_app(runtime), GATE, held_bytes, cap)
        return guard_hosts(uploads, rule, check_origin=True)

    starlette_server.create_starlette_app = guarded_app
