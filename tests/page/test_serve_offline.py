"""`kb serve --host 0.0.0.0` makes no network call: started, visited and stopped in a network namespace
of its own (only loopback; where this machine lets a test make one), with every attempt the server
process makes to resolve a name or reach an address recorded by a Python audit hook."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from support import ROOT

# Installed in the server process (via sitecustomize): each lookup or connection to anywhere but this
# machine is written to KB_NETWORK_LOG.
_HOOK = textwrap.dedent('''
    import json, os, sys
    _log = os.environ.get("KB_NETWORK_LOG")
    _HERE = {None, "", "localhost", "0.0.0.0", "::", "127.0.0.1", "::1"}

    def _host(event, args):
        if event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr"):
            return args[0]
        if event in ("socket.connect", "socket.sendto") and isinstance(args[1], tuple):
            return args[1][0]
        if event == "urllib.Request":
            return args[0]
        return None

    def _hook(event, args):
        if not event.startswith(("socket.", "urllib.")):
            return
        host = _host(event, args)
        if isinstance(host, bytes):
            host = host.decode("ascii", "replace")
        if host not in _HERE:
            with open(_log, "a", encoding="utf-8") as out:
                out.write(json.dumps([event, str(host)]) + "\\n")

    if _log:
        sys.addaudithook(_hook)
''')

# Run inside the namespace: the server, a visit to its page as a browser's first one, and the stop.
_VISIT = textwrap.dedent('''
    import sys
    sys.path.insert(0, sys.argv[1])
    import json
    from support import kb_serve, page_session

    with kb_serve(json.loads(sys.argv[2]), "--host", "0.0.0.0") as url:
        with page_session(url) as session:
            print("visited", session)
''')


def _namespace_prefix() -> list[str]:
    """`unshare --net` with loopback up, where the kernel lets this test make a namespace."""
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        return []
    return ["unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"]


def test_serving_on_every_interface_makes_no_network_call(seed_index, tmp_path):
    (tmp_path / "hook").mkdir()
    (tmp_path / "hook" / "sitecustomize.py").write_text(_HOOK, encoding="utf-8")
    (tmp_path / "visit.py").write_text(_VISIT, encoding="utf-8")
    calls = tmp_path / "network.log"
    env = {"KB_INDEX_DIR": str(seed_index.index_dir), "KB_CORPUS_DIR": str(seed_index.corpus_dir),
           "KB_NETWORK_LOG": str(calls), "PYTHONPATH": f"{tmp_path / 'hook'}:{ROOT / 'src'}"}
    namespace = _namespace_prefix()
    visit = subprocess.run([*namespace, sys.executable, str(tmp_path / "visit.py"), str(Path(__file__).parents[1]),
                            json.dumps(env)], check=False, capture_output=True, text=True, timeout=300)
    assert visit.returncode == 0 and "visited" in visit.stdout, visit.stdout + visit.stderr
    made = calls.read_text(encoding="utf-8").splitlines() if calls.exists() else []
    assert made == [], f"network calls ({'in' if namespace else 'without'} a namespace of its own): {made}"
