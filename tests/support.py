"""What tests share besides fixtures: where the repository's data lies, the seed questions, and the
`kb` command run as a user runs it (in this process, or as a real one), with servers started and stopped.
A plain module, imported by name (conftest.py holds the fixtures and is never imported)."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
SEED = CORPUS / "2022-哈尔滨市政协系统创新工作综述.md"
SHARED = ROOT.parent / "shared"
DATA = ROOT / "tests" / "data"
# The full STARD dev set where ../shared lies beside the checkout (CI); a small sample of it otherwise, so
# that a clone of the project alone passes too (tests/data/stard-sample/SOURCE.md).
FULL_STARD = (SHARED / "data" / "stard" / "reconstructed" / "corpus.jsonl").exists()
STARD = SHARED / "data" / "stard" / "reconstructed" if FULL_STARD else DATA / "stard-sample"
FIXTURE_LAWS = ("人民调解法(2010-08-28).md", "非物质文化遗产法(2011-02-25).md")




def seed_queries() -> list[tuple[str, str]]:
    """The 56 staff questions about the seed's practices, each with the unit whose practice answers it."""
    with open(DATA / "seed_queries.tsv", encoding="utf-8") as handle:
        return [(row["query"], row["unit"]) for row in csv.DictReader(handle, delimiter="\t")]


def paraphrase_queries() -> list[tuple[str, str]]:
    """60 questions about the seed's practices (three each) in other words than the text's, with the unit."""
    with open(DATA / "paraphrase_queries.tsv", encoding="utf-8") as handle:
        return [(row["query"], row["unit"]) for row in csv.DictReader(handle, delimiter="\t")]


def out_of_domain() -> list[str]:
    """Questions from other worlds (cookery, sports…), which must find nothing strong."""
    lines = (DATA / "out_of_domain.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


# The `kb` command as a real process, for what only a process shows (start-up, exit on a signal, another
# user, the terminal's encoding, servers): those tests start it with subprocess and an environment of their own.
KB = [sys.executable, "-m", "kb"]


@dataclasses.dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def kb(*args: str, index_dir: Path | None = None, cwd: Path | None = None, check: bool = True,
       env_extra: dict[str, str] | None = None) -> Ran:
    """The `kb` command run in this process by click's runner: the same command line, exit code,
    stdout and stderr as a user gets, without a new interpreter's start-up (about 70 tests run it)."""
    from click.testing import CliRunner

    from kb.cli import main

    env = {"KB_INDEX_DIR": str(index_dir) if index_dir is not None else None, **(env_extra or {})}
    with contextlib.chdir(cwd or Path.cwd()):
        result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        # What a process would print: the traceback of an exception the command did not handle.
        import traceback

        trace = "".join(traceback.format_exception(result.exception))
        return _checked(Ran(1, result.stdout, result.stderr + trace), args, check)
    return _checked(Ran(result.exit_code, result.stdout, result.stderr), args, check)


def _checked(result: Ran, args, check: bool) -> Ran:
    if check and result.returncode != 0:
        raise AssertionError(f"kb {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def kb_serve(env_extra: dict[str, str], *args: str):
    """`kb serve` as a user starts it, on a free port, until its page answers; stopped after.
    Streamlit takes a port number, not 0: when another process took the port meanwhile, the server
    ends at once and the next free port is tried."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(HF_HUB_OFFLINE="1", **env_extra)
    for _ in range(3):
        port = free_port()
        process = subprocess.Popen([*KB, "serve", "--port", str(port), *args], env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        url = f"http://127.0.0.1:{port}/"
        if _answers(url + "_stcore/health", process, deadline=time.monotonic() + 120):
            break
        output = process.stdout.read()
        if "already in use" not in output:
            pytest.fail("kb serve did not answer within 120 s:\n" + output)
    try:
        yield url
    finally:
        stop(process)


def _answers(url: str, process: subprocess.Popen, deadline: float) -> bool:
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if urllib.request.urlopen(url, timeout=2).status == 200:
                return True
        except OSError:
            time.sleep(0.2)
    process.kill()
    return False


def stop(process: subprocess.Popen) -> None:
    """Ask a server to stop, then make it."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@contextlib.contextmanager
def page_session(url: str, origin: str | None = None):
    """The page's websocket, opened as a browser's first visit opens it: yields the session id the
    server gave it once the page's first run has finished, and keeps the session live until the end."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from websockets.sync.client import connect

    socket_url = url.replace("http://", "ws://") + "_stcore/stream"
    with connect(socket_url, origin=origin, subprotocols=["streamlit"], max_size=None, open_timeout=20) as ws:
        rerun = BackMsg()
        rerun.rerun_script.query_string = ""
        ws.send(rerun.SerializeToString())
        session_id = None
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            message = ForwardMsg()
            message.ParseFromString(ws.recv(timeout=180))
            if message.HasField("new_session"):
                session_id = message.new_session.initialize.session_id
            if message.WhichOneof("type") == "script_finished" and session_id:
                yield session_id
                return
    raise AssertionError(f"the page at {url} gave no session within 180 s")
