"""`kb serve`: the page in this very process, so that the model starts loading before the first
visitor arrives, behind a page shell that greets that visitor in Chinese while Streamlit starts."""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path

from kb.config import Settings
from kb.page.gate import protect_streamlit
from kb.page.shared import model_loader

log = logging.getLogger(__name__)

TITLE = "kb · 政协创新工作知识库"
# Inside React's root element: shown from the first byte of the page until the app draws itself over it.
_LOADING = ('<div id="root"><div style="font-family:sans-serif;padding:3rem 4rem;color:#31333f">'
            f'<h2 style="font-weight:600">{TITLE}</h2><p>正在打开知识库，请稍候…</p></div></div>')


def chinese_shell(cache_dir: Path) -> Path | None:
    """A copy of Streamlit's static folder (links, but for index.html) whose page says, in Chinese,
    that it is loading; None where Streamlit's page is not the one this was written for."""
    import streamlit
    from streamlit import file_util

    source = Path(file_util.get_static_dir())
    page = (source / "index.html").read_text(encoding="utf-8")
    if '<div id="root"></div>' not in page or "<title>Streamlit</title>" not in page:
        log.warning("Streamlit %s's page shell is not the expected one; it stays as it is", streamlit.__version__)
        return None
    target = cache_dir / f"streamlit-static-{streamlit.__version__}"
    target.mkdir(parents=True, exist_ok=True)
    for entry in source.iterdir():
        link = target / entry.name
        if entry.name != "index.html" and not link.exists():
            link.symlink_to(entry, target_is_directory=entry.is_dir())
    shell = page.replace("<title>Streamlit</title>", f"<title>{TITLE}</title>")
    # Streamlit's stylesheet sits in <head>, where the browser paints nothing until it has arrived from
    # a server that is busy loading the model: after the loading line, it no longer holds that line back.
    styles = re.findall(r'<link rel="stylesheet"[^>]*>', shell)
    for style in styles:
        shell = shell.replace(style, "")
    shell = shell.replace('<div id="root"></div>', _LOADING + "".join(styles))
    partial = target / "index.html.partial"
    partial.write_text(shell.replace('<html lang="en">', '<html lang="zh-CN">'), encoding="utf-8")
    partial.replace(target / "index.html")
    return target


def no_network_lookups() -> None:
    """kb serves offline: Streamlit would ask checkip.amazonaws.com for this machine's external address
    (for its start-up banner and its allowed-origin list) when bound to every interface, and find its
    own address by routing a socket to 8.8.8.8. Both answer "none" here, so starting `kb serve --host
    0.0.0.0` reaches for nowhere (the page still answers its own origin, by address or by name)."""
    from streamlit import net_util

    net_util.get_external_ip = lambda: None
    net_util.get_internal_ip = lambda: None


def serve(settings: Settings, host: str, port: int, cache_dir: Path) -> None:
    """Runs Streamlit on kb's page until stopped (the process's environment already names the index,
    corpus and config, as the page reads them)."""
    from streamlit import file_util
    from streamlit.web.cli import main as streamlit_main

    import kb.page

    try:
        shell = chinese_shell(cache_dir)
    except OSError as exc:
        log.warning("the Chinese page shell could not be written to %s (%s); Streamlit's is used", cache_dir, exc)
        shell = None
    if shell is not None:
        file_util.get_static_dir = lambda: str(shell)
    no_network_lookups()
    protect_streamlit(settings, host)
    # The very settings the page will read from the environment: the page finds this loader running.
    model_loader(Settings.load().model_dump_json())
    sys.argv = [
        "streamlit", "run", kb.page.__file__,
        "--server.address", host, "--server.port", str(port), "--server.headless", "true",
        "--server.maxUploadSize", str(settings.max_file_mb), "--browser.gatherUsageStats", "false",
        # "minimal": no menu of Streamlit's own (English) entries.
        "--global.developmentMode", "false", "--client.toolbarMode", "minimal",
        # A served page never reloads its own source; polling every module file costs CPU per session.
        "--server.fileWatcherType", "none", "--server.runOnSave", "false",
        # Streamlit collects garbage after every run; a full collection holds the GIL for a while,
        # which every search of every user then waits for (bench/load.py).
        "--runner.postScriptGC", "false",
    ]
    streamlit_main()
