"""The kb page (Streamlit): search precedent practices, browse and manage the knowledge base.

A thin shell over the library: every decision (ranking, grouping, highlighting, uploads,
indexing) is made by kb's modules; this package lays it out, one module per tab, in Chinese, for CPPCC staff.
Run it with `kb serve` (or `streamlit run app.py`).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from kb.config import Settings
from kb.index.store import StoreError
from kb.milvus import MilvusError
from kb.page.learn import learn_view
from kb.page.manage import manage_view
from kb.page.search import search_view
from kb.page.shared import build_first_index, cached_searcher, model_loader, with_model
from kb.page.words import PAGE_CSS
from kb.search import QueryError


def main() -> None:
    st.set_page_config(page_title="kb · 政协创新工作知识库", page_icon="📚", layout="wide")
    st.markdown(PAGE_CSS, unsafe_allow_html=True)
    st.title("kb · 政协创新工作知识库")
    st.caption("离线语义检索：查找各级政协的创新做法与相关法律法规，按意思和关键词同时检索。")
    opening = st.empty()
    opening.info("正在打开知识库，请稍候…")
    settings = Settings.load()
    settings_json = settings.model_dump_json()
    loader = model_loader(settings_json)
    try:
        searcher, lock = cached_searcher(settings_json)
    except (StoreError, QueryError, MilvusError):  # no index yet, or one never committed
        if settings.search_backend == "milvus":
            opening.error(f"Milvus（{settings.milvus_uri}）上还没有可检索的索引，或暂时无法连接。"
                          "请在建索引的服务器上运行 kb index（search_backend = milvus），它会把索引发布到 Milvus。")
            return
        if not Path(settings.corpus_dir).exists():
            opening.error(f"没有索引，也找不到文档目录 {settings.corpus_dir}。请先在服务器上运行 kb index。")
            return
        opening.empty()
        build_first_index(settings, loader)
        searcher, lock = cached_searcher(settings_json)
    semantic = with_model(searcher, lock, loader)
    # One slot, drawn on every run, whether it holds the model's status or nothing: the tabs after it keep
    # their place in the page when the model is ready, so the rerun that follows replaces them where they
    # are instead of drawing a second set below the first until it ends.
    status = st.container()
    if loader.error is not None:
        status.warning("语义模型未能加载，目前只能按关键词检索。请管理员查看服务器日志。")
    elif not semantic:
        with status:
            _model_status(settings_json)
    search_tab, learn_tab, manage_tab = st.tabs(["检索", "学习", "管理"])
    with search_tab:
        search_view(settings, searcher, lock, semantic)
    # The search box works from here on: the banner goes now, not after the 学习 tab's catalogue and map
    # (seconds on a first visit) are drawn.
    opening.empty()
    with learn_tab:
        learn_view(settings, searcher, lock)
    with manage_tab:
        manage_view(settings, searcher, lock, loader)


@st.fragment(run_every=2)
def _model_status(settings_json: str) -> None:
    """Shown while the model loads; reruns the page once it is ready, so that every mode unlocks."""
    loader = model_loader(settings_json)
    if loader.ready or loader.error is not None:
        st.rerun()
    st.info(f"语义模型加载中（已用 {loader.seconds:.0f} 秒）。现在可以先按关键词检索，"
            "加载完成后自动启用语义和混合检索。")


if __name__ == "__main__":
    main()
