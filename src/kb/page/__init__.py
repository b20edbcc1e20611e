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
from kb.page.learn import learn_view
from kb.page.manage import manage_view
from kb.page.search import search_view
from kb.page.shared import build_first_index, cached_searcher
from kb.search import QueryError


def main() -> None:
    st.set_page_config(page_title="kb · 政协创新工作知识库", page_icon="📚", layout="wide")
    st.markdown("<style>.kb-hit mark{background:#ffe08a;padding:0 1px}</style>", unsafe_allow_html=True)
    st.title("kb · 政协创新工作知识库")
    st.caption("离线语义检索：查找各级政协的创新做法与相关法律法规，按意思和关键词同时检索。")
    settings = Settings.load()
    settings_json = settings.model_dump_json()
    try:
        searcher, lock = cached_searcher(settings_json)
    except (StoreError, QueryError):  # no index yet, or one never committed
        if not Path(settings.corpus_dir).exists():
            st.error(f"没有索引，也找不到文档目录 {settings.corpus_dir}。请先运行 `kb index`。")
            return
        build_first_index(settings, settings_json)
        searcher, lock = cached_searcher(settings_json)
    search_tab, learn_tab, manage_tab = st.tabs(["检索", "学习", "管理"])
    with search_tab:
        search_view(settings, searcher, lock)
    with learn_tab:
        learn_view(searcher, lock)
    with manage_tab:
        manage_view(settings, settings_json, searcher, lock)


if __name__ == "__main__":
    main()
