"""What every tab of the page shares: the model and searcher loaded once per server process, the
wrong-password counter, progress bars and index reports."""

from __future__ import annotations

import secrets
import threading

import streamlit as st

from kb.config import Settings
from kb.index.indexer import IndexReport, index_paths
from kb.model.embedder import Embedder
from kb.office.admin import Attempts
from kb.search import Searcher

STAGES = {"reading": "读取文件", "embedding": "计算向量", "writing vectors": "写入向量索引"}


@st.cache_resource(show_spinner="正在加载语义模型（每个服务进程一次）…")
def cached_embedder(settings_json: str) -> Embedder:
    embedder = Embedder(Settings.model_validate_json(settings_json))
    embedder.warm()  # load the weights now, not at the first visitor's search
    return embedder


@st.cache_resource(show_spinner=False)
def cached_searcher(settings_json: str) -> tuple[Searcher, threading.Lock]:
    """One searcher per process; it follows new index generations by itself."""
    return Searcher(Settings.model_validate_json(settings_json), cached_embedder(settings_json)), threading.Lock()


@st.cache_resource(show_spinner=False)
def password_attempts() -> Attempts:
    """Wrong passwords counted across every session of this server process."""
    return Attempts()


def session_tag() -> str:
    return st.session_state.setdefault("session_tag", secrets.token_hex(4))


def progress_bar(label: str):
    bar = st.progress(0.0, text=label)

    def update(stage: str, done: int, total: int) -> None:
        bar.progress(min(done / total, 1.0) if total else 1.0, text=f"{STAGES.get(stage, stage)}：{done}/{total}")

    return bar, update


def build_first_index(settings: Settings, settings_json: str) -> None:
    st.info(f"首次使用：正在从 {settings.corpus_dir} 建立索引，完成后即可检索。")
    bar, update = progress_bar("准备中…")
    report = index_paths(settings, embedder=cached_embedder(settings_json), progress=update, wait=True,
                         actor="页面首次启动")
    bar.empty()
    show_report(report)


def show_report(report: IndexReport) -> None:
    st.success(
        f"索引完成：新增 {report.added}，更新 {report.changed}，删除 {report.removed}，改名 {report.renamed}，"
        f"未变 {report.unchanged}；新计算向量 {report.chunks_embedded} 段，复用 {report.chunks_reused} 段；"
        f"用时 {report.seconds:.1f} 秒。"
    )
    for failure in report.failed:
        st.error(f"未能导入：{failure.reason}")
