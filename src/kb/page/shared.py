"""What every tab of the page shares: the searcher opened once per server process, the model loaded
in the background, the wrong-password counter, progress bars and index reports."""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
from pathlib import Path

import streamlit as st

from kb.config import Settings
from kb.index.report import IndexReport
from kb.model.embedder import Embedder
from kb.office.admin import Attempts
from kb.office.indexing import index_files
from kb.practices import warm as warm_practices
from kb.search import Searcher
from kb.text import markdown_text
from kb.tokenize import tokenize

log = logging.getLogger(__name__)

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STAGES = {"reading": "读取文件", "OCR": "识别扫描页", "embedding": "计算向量", "writing vectors": "写入向量索引"}


class ModelLoader:
    """Loads the model in a thread of the server process: the page opens at once and keyword search
    works meanwhile; semantic and hybrid search join when it is ready. `kb serve` starts it before
    the first visitor arrives."""

    def __init__(self, settings_json: str):
        self.started = time.monotonic()
        self.embedder: Embedder | None = None
        self.error: Exception | None = None
        self._done = threading.Event()
        threading.Thread(target=self._load, args=(settings_json,), name="kb-model-loader", daemon=True).start()

    def _load(self, settings_json: str) -> None:
        try:
            tokenize("预热")  # jieba's dictionary, which keyword search needs first
            embedder = Embedder(Settings.model_validate_json(settings_json))
            embedder.warm()
            self.embedder = embedder
            warm_practices()  # the 学习 tab's catalogue is built at the first visit
        except Exception as exc:  # shown on the page; keyword search goes on working
            log.exception("the model could not be loaded")
            self.error = exc
        finally:
            self._done.set()

    @property
    def ready(self) -> bool:
        return self.embedder is not None

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started

    def wait(self) -> Embedder:
        self._done.wait()
        if self.error is not None:
            raise self.error
        return self.embedder


_loaders: dict[str, ModelLoader] = {}
_loaders_lock = threading.Lock()


def model_loader(settings_json: str) -> ModelLoader:
    """The one loader of these settings in this process (started on first call)."""
    with _loaders_lock:
        if settings_json not in _loaders:
            _loaders[settings_json] = ModelLoader(settings_json)
        return _loaders[settings_json]


@st.cache_resource(show_spinner=False)
def cached_searcher(settings_json: str) -> tuple[Searcher, threading.Lock]:
    """One searcher per process; it follows new index generations by itself and gets the model
    when the loader has it (`with_model`)."""
    return Searcher(Settings.model_validate_json(settings_json)), threading.Lock()


def with_model(searcher: Searcher, lock: threading.Lock, loader: ModelLoader) -> bool:
    """Hands the loaded model to the searcher; True when semantic search is available."""
    if loader.ready and not searcher.has_model:
        with lock:
            searcher.use_embedder(loader.embedder)
    return searcher.has_model


@st.cache_resource(show_spinner=False)
def password_attempts() -> Attempts:
    """Wrong passwords counted across every session of this server process."""
    return Attempts()


def session_tag() -> str:
    """This browser session, for the change log: a random tag, and the client's address where the server
    knows it (behind a proxy, the proxy's; 本机 for a browser on this machine, whose loopback address
    Streamlit does not give)."""
    tag = st.session_state.setdefault("session_tag", secrets.token_hex(4))
    address = st.context.ip_address or ("本机" if st.context.headers.get("Host") else None)
    return f"{tag}（{address}）" if address else tag


def progress_bar(label: str):
    bar = st.progress(0.0, text=label)

    def update(stage: str, done: int, total: int) -> None:
        bar.progress(min(done / total, 1.0) if total else 1.0, text=f"{STAGES.get(stage, stage)}：{done}/{total}")

    return bar, update


def build_first_index(settings: Settings, loader: ModelLoader) -> None:
    st.info(f"首次使用：正在从 {settings.corpus_dir} 建立索引，完成后即可检索。")
    bar, update = progress_bar("正在加载语义模型…")
    report = index_files(settings, embedder=loader.wait(), progress=update, wait=True, actor="页面首次启动")
    bar.empty()
    show_report(report)


def show_report(report: IndexReport) -> None:
    st.success(f"索引完成：{report.summary_in_chinese()}。")
    for failure in report.failed:
        st.error(markdown_text(f"未能导入 {Path(failure.path).name}：{failure.chinese()}"))
    for note in report.notes:
        st.warning(markdown_text(f"{Path(note.path).name}：{note.chinese()}"))
    if report.skipped:
        st.info("跳过了不是 kb 读取的类型的文件：" + "、".join(Path(s.path).name for s in report.skipped[:20])
                + (f" 等 {len(report.skipped)} 个" if len(report.skipped) > 20 else ""))


def carry_theme_choice(key: str, catalogue) -> None:
    """A theme chosen before a re-index stays chosen: a name it had before becomes its name now (a
    theme that no longer exists is dropped, as Streamlit would), before the widget is drawn."""
    chosen = st.session_state.get(key)
    if not chosen:
        return
    values = chosen if isinstance(chosen, list) else [chosen]
    current = [theme.name for value in values if (theme := catalogue.find_theme(value)) is not None]
    if current != values:
        st.session_state[key] = list(dict.fromkeys(current)) if isinstance(chosen, list) else (current or [None])[0]


def download_name(text: str, suffix: str) -> str:
    """A download's file name every system accepts: no path or reserved characters, not too long."""
    return re.sub(r'[\\/:*?"<>|\s]+', "_", text)[:60] + suffix
