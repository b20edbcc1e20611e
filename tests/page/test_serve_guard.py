"""What a hostile page or visitor can do to `kb serve` over the network: name another host (DNS
rebinding), open the page's websocket from another site, and send files to Streamlit's upload endpoint
from a session that may not manage. Each against a real server over a real socket."""

from __future__ import annotations

import http.client
import urllib.parse

import pytest
from support import kb_serve, page_session
from websockets.exceptions import InvalidStatus

from kb.office.admin import hash_password
from kb.office.hosts import HostRule


@pytest.mark.parametrize("host, allowed", [
    ("localhost:8501", True), ("127.0.0.1:8501", True), ("[::1]:8501", True), ("192.168.3.20:8501", True),
    ("KB.ZX.LAN:8501", True), ("kb.zx.lan.", True), ("app.localhost", True), (None, True),
    ("evil.example", False), ("evil.example:8501", False), ("localhost.evil.example", False),
    ("127.0.0.1.nip.io:8501", False), ("", False),
])
def test_names_that_cannot_be_rebound_are_answered(host, allowed):
    assert HostRule(["kb.zx.lan"]).allows_host(host) is allowed


@pytest.mark.parametrize("origin, host, allowed", [
    ("http://127.0.0.1:8501", "127.0.0.1:8501", True), ("http://kb.zx.lan", "192.168.3.20:8501", True),
    (None, "127.0.0.1:8501", True),
    ("http://evil.example", "127.0.0.1:8501", False), ("http://127.0.0.1:9999", "127.0.0.1:8501", False),
    ("http://192.168.3.99:8501", "127.0.0.1:8501", False), ("null", "127.0.0.1:8501", False),
])
def test_a_websocket_or_change_comes_from_kbs_own_page(origin, host, allowed):
    assert HostRule(["kb.zx.lan"]).allows_origin(origin, host) is allowed


def test_a_star_turns_the_name_check_over_to_a_proxy():
    rule = HostRule(["*"])
    assert rule.allows_host("evil.example") and rule.allows_origin("http://evil.example", "kb:8501")


def _request(url: str, method: str = "GET", path: str = "/", host: str | None = None, body: bytes = b"",
             headers: dict | None = None) -> tuple[int, str, http.client.HTTPMessage]:
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    sent = {"Host": host} if host else {}
    connection.request(method, path, body=body or None, headers={**sent, **(headers or {})})
    response = connection.getresponse()
    text = response.read().decode("utf-8", "replace")
    connection.close()
    return response.status, text, response.headers


@pytest.fixture(scope="module")
def served_with_a_password(seed_index):
    """The page as an office serves it to its network: a password set, nobody logged in."""
    env = {"KB_INDEX_DIR": str(seed_index.index_dir), "KB_CORPUS_DIR": str(seed_index.corpus_dir),
           "KB_ADMIN_PASSWORD_HASH": hash_password("office-secret-1"), "KB_ALLOWED_HOSTS": "kb.zx.lan"}
    with kb_serve(env, "--host", "0.0.0.0") as url:
        yield url


def test_a_rebound_name_gets_nothing_from_the_page(served_with_a_password):
    url = served_with_a_password
    port = urllib.parse.urlsplit(url).port
    status, text, _ = _request(url, host=f"evil.example:{port}")
    assert status == 403 and "allowed_hosts" in text and "<html" not in text
    assert _request(url, path="/_stcore/health", host=f"evil.example:{port}")[0] == 403
    assert _request(url, host=f"kb.zx.lan:{port}")[0] == 200
    assert _request(url, host=f"127.0.0.1:{port}")[0] == 200


def test_another_sites_page_cannot_open_the_pages_websocket(served_with_a_password):
    with pytest.raises(InvalidStatus) as refused, page_session(served_with_a_password, origin="http://evil.example"):
        pass
    assert refused.value.response.status_code == 403
    port = urllib.parse.urlsplit(served_with_a_password).port
    with page_session(served_with_a_password, origin=f"http://127.0.0.1:{port}") as session_id:
        assert session_id


def test_a_visitor_cannot_send_files_to_the_server(served_with_a_password):
    """A live session of a visitor who has not logged in, with the XSRF cookie and header its browser
    has: Streamlit would keep the PUT in memory."""
    url = served_with_a_password
    cookies = _request(url, path="/_stcore/health")[2].get_all("Set-Cookie") or []
    xsrf = next(c.split(";")[0].split("=", 1)[1] for c in cookies if c.startswith("_streamlit_xsrf="))
    boundary = "kbboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n"
            f"Content-Type: text/plain\r\n\r\n{'政协' * 20000}\r\n--{boundary}--\r\n").encode()
    with page_session(url) as session_id:
        status, text, _ = _request(url, "PUT", f"/_stcore/upload_file/{session_id}/file-1", body=body,
                                   headers={"Content-Type": f"multipart/form-data; boundary={boundary}",
                                            "Cookie": f"_streamlit_xsrf={xsrf}", "X-Xsrftoken": xsrf})
    assert status == 403 and "manages" in text, text


def _status(app, method: str, path: str, length: int = 0) -> int:
    """One request through an ASGI app, as the server hands it on: the status it answers."""
    import asyncio

    scope = {"type": "http", "method": method, "path": path, "headers": [(b"content-length", str(length).encode())]}
    answered = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            answered.append(message["status"])

    asyncio.run(app(scope, receive, send))
    return answered[0]


def test_a_managing_session_holds_no_more_than_its_cap():
    from kb.page.gate import UploadGate, guard_uploads

    async def streamlit(scope, receive, send):
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    gate, held = UploadGate(), {"admin": 150 * 2**20}
    gate.enrol("admin")
    guarded = guard_uploads(streamlit, gate, lambda session: held.get(session, 0), 200 * 2**20)
    route = "/_stcore/upload_file/{}/file-1"
    assert _status(guarded, "PUT", route.format("admin"), 40 * 2**20) == 204
    assert _status(guarded, "PUT", route.format("admin"), 60 * 2**20) == 413
    assert _status(guarded, "PUT", route.format("visitor"), 10) == 403
    assert _status(guarded, "DELETE", route.format("visitor")) == 204  # letting go is never refused
    gate.withdraw("admin")  # logged out
    assert _status(guarded, "PUT", route.format("admin"), 10) == 403
