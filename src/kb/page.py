"""The kb page (Streamlit): search precedent practices, browse and manage the knowledge base.

A thin shell over the library: every decision (ranking, grouping, highlighting, uploads,
indexing) is made by kb's modules; this file lays it out, in Chinese, for CPPCC staff.
Run it with `kb serve` (or `streamlit run app.py`).
"""

from __future__ import annotations

import html
import math
import secrets
import threading
from pathlib import Path

import streamlit as st

from kb import audit
from kb.admin import Access, Attempts, access
from kb.config import Settings
from kb.corpus import add_and_index, remove_document
from kb.embedding import Embedder
from kb.indexer import IndexReport, index_paths, last_run
from kb.ingest import LOADERS
from kb.practices import Catalogue, card_markdown, matching
from kb.records import Hit, SearchResponse
from kb.search import QueryError, Searcher, group_by_document, term_spans
from kb.store import StoreError

MODES = {"混合": "hybrid", "语义": "semantic", "关键词": "keyword"}
FACETS = {"unit": "发文单位", "unit_type": "单位类型", "year": "年份", "doc_type": "文件类型"}
EXAMPLE = "哪个县组织委员帮农民打造大米品牌？"
STAGES = {"reading": "读取文件", "embedding": "计算向量", "writing vectors": "写入向量索引"}


@st.cache_resource(show_spinner="正在加载语义模型（每个服务进程一次）…")
def _embedder(settings_json: str) -> Embedder:
    embedder = Embedder(Settings.model_validate_json(settings_json))
    _ = embedder.model  # load the weights now (a bare expression would be drawn by Streamlit magic)
    return embedder


@st.cache_resource(show_spinner=False)
def _searcher(settings_json: str) -> tuple[Searcher, threading.Lock]:
    """One searcher per process; it follows new index generations by itself."""
    return Searcher(Settings.model_validate_json(settings_json), _embedder(settings_json)), threading.Lock()


@st.cache_resource(show_spinner=False)
def _attempts() -> Attempts:
    """Wrong passwords counted across every session of this server process."""
    return Attempts()


def _session_tag() -> str:
    return st.session_state.setdefault("session_tag", secrets.token_hex(4))


def _manager(settings: Settings) -> str | None:
    """Who manages in this session (for the audit log), or None while this session may only search."""
    mode = access(settings.admin_password_hash, st.get_option("server.address"))
    if mode is Access.CLOSED:
        st.info("本页面面向网络提供检索与浏览。上传、删除和重建索引需要管理员密码："
                "请管理员在服务器上运行 `kb admin set-password` 后重启 `kb serve`。")
        return None
    if mode is Access.LOOPBACK:
        st.caption("未设置管理员密码：页面只在本机地址上提供，管理功能对本机开放。")
        return f"本机会话 {_session_tag()}"
    if st.session_state.get("admin"):
        st.button("退出管理", key="logout", on_click=st.session_state.pop, args=("admin", None))
        return f"管理员会话 {_session_tag()}"
    attempts = _attempts()
    with st.form("login", clear_on_submit=True):
        password = st.text_input("管理员密码", type="password", key="password")
        submitted = st.form_submit_button("登录管理")
    if submitted:
        wait = attempts.wait_seconds()
        if wait:
            st.error(f"密码错误次数过多，请 {math.ceil(wait)} 秒后再试。")
        elif attempts.try_password(password, settings.admin_password_hash):
            st.session_state["admin"] = True
            audit.record(settings.index_dir, [audit.entry(f"管理员会话 {_session_tag()}", "login", "page", "done")])
            st.rerun()
        else:
            audit.record(settings.index_dir, [audit.entry(f"会话 {_session_tag()}", "login", "page", "refused",
                                                          detail="wrong password")])
            st.error("密码不正确。")
    return None


def _progress_bar(label: str):
    bar = st.progress(0.0, text=label)

    def update(stage: str, done: int, total: int) -> None:
        bar.progress(min(done / total, 1.0) if total else 1.0, text=f"{STAGES.get(stage, stage)}：{done}/{total}")

    return bar, update


def _build_first_index(settings: Settings, settings_json: str) -> None:
    st.info(f"首次使用：正在从 {settings.corpus_dir} 建立索引，完成后即可检索。")
    bar, update = _progress_bar("准备中…")
    report = index_paths(settings, embedder=_embedder(settings_json), progress=update, wait=True,
                         actor="页面首次启动")
    bar.empty()
    _show_report(report)


def _show_report(report: IndexReport) -> None:
    st.success(
        f"索引完成：新增 {report.added}，更新 {report.changed}，删除 {report.removed}，改名 {report.renamed}，"
        f"未变 {report.unchanged}；新计算向量 {report.chunks_embedded} 段，复用 {report.chunks_reused} 段；"
        f"用时 {report.seconds:.1f} 秒。"
    )
    for failure in report.failed:
        st.error(f"未能导入：{failure.reason}")


def _highlighted(text: str, terms: list[str]) -> str:
    pieces, last = [], 0
    for start, end in term_spans(text, terms):
        pieces += [html.escape(text[last:start]), f"<mark>{html.escape(text[start:end])}</mark>"]
        last = end
    pieces.append(html.escape(text[last:]))
    return "".join(pieces).replace("\n", "<br>")


def _why(hit: Hit) -> str:
    parts = [f"融合得分 {hit.score:.4f}"]
    if hit.semantic:
        parts.append(f"语义排名 #{hit.semantic.rank}（相似度 {hit.semantic.score:.3f}）")
    if hit.keyword:
        parts.append(f"关键词排名 #{hit.keyword.rank}（BM25 {hit.keyword.score:.2f}）")
    if hit.matched_terms:
        parts.append("命中词：" + "、".join(hit.matched_terms[:8]))
    return " · ".join(parts)


def _render_hit(searcher: Searcher, lock: threading.Lock, hit: Hit, rank: int, catalogue: Catalogue) -> None:
    card = catalogue.card_for_chunk(hit.chunk_id)
    with st.container(border=True):
        where = " › ".join(hit.heading_path[1:] if len(hit.heading_path) > 1 else hit.heading_path)
        if hit.page:
            where += f"（第 {hit.page} 页）"
        st.markdown(f"**{rank}. {html.escape(hit.unit or '—')}** · {html.escape(where)}")
        st.markdown(f"<div class='kb-hit'>{_highlighted(hit.text, hit.matched_terms)}</div>", unsafe_allow_html=True)
        st.caption(_why(hit))
        with st.expander("上下文与全文"):
            with lock:
                neighbours = searcher.neighbours(hit.chunk_id, 1, 1)
                section = searcher.section_text(hit.chunk_id)
            for row in neighbours:
                if row["chunk_id"] == hit.chunk_id:
                    st.markdown(f"**▶ {html.escape(row['text'])}**")
                else:
                    st.caption(row["text"])
            st.markdown("**所在章节全文**")
            st.text(section)
        if card:
            with st.expander(f"方法卡片：{card.name}"):
                st.markdown(card_markdown(card))
        st.button("相似段落", key=f"similar-{rank}-{hit.chunk_id}", on_click=_show_similar, args=(hit.chunk_id,))


def _show_similar(chunk_id: int) -> None:
    st.session_state["similar_to"] = chunk_id


def _render_response(searcher: Searcher, lock: threading.Lock, response: SearchResponse, mode: str) -> None:
    if not response.hits:
        other = "语义" if mode == "keyword" else "关键词"
        st.warning(f"没有找到结果。可以换个说法，或切换到「{other}」模式再试。")
        return
    st.caption(f"「{response.query}」共 {len(response.hits)} 条结果，用时 {response.seconds * 1000:.0f} 毫秒"
               f"（索引第 {response.generation} 代）")
    with lock:
        catalogue = searcher.catalogue()
    rank = 0
    for document, hits in group_by_document(response.hits):
        st.subheader(document)
        for hit in hits:
            rank += 1
            _render_hit(searcher, lock, hit, rank, catalogue)


def _search_view(settings: Settings, searcher: Searcher, lock: threading.Lock) -> None:
    with st.sidebar:
        st.header("检索设置")
        mode_label = st.radio("检索方式", list(MODES), horizontal=True, key="mode")
        mode = MODES[mode_label]
        weight = st.slider(
            "语义权重（混合模式）", 0.0, 1.0, 0.5, 0.1, key="weight", disabled=mode != "hybrid",
            help="0 只看关键词，1 只看语义；两路结果按倒数排名融合。",
        )
        top_k = st.number_input("结果数", 1, 50, settings.top_k, key="top_k")
        st.header("筛选")
        with lock:
            facets = searcher.facets()
            themes = searcher.catalogue().themes
        filters: dict[str, list[str]] = {}
        if themes:
            chosen_themes = st.multiselect(
                "主题（创新实践）", [t.name for t in themes], key="facet-theme", placeholder="不限",
                help="按内容相近的实践分组，组名取自组内共同的关键词；选中后只检索这些实践。",
            )
            if chosen_themes:
                filters["theme"] = chosen_themes
        for field, label in FACETS.items():
            counts = facets.get(field, {})
            if not counts:
                continue
            chosen = st.multiselect(
                label, list(counts), key=f"facet-{field}", placeholder="不限",
                format_func=lambda v, c=counts: f"{v}（{c[v]}）",
            )
            if chosen:
                filters[field] = chosen
    _search_results(settings.model_dump_json(), mode, weight, int(top_k), filters)


@st.fragment
def _search_results(settings_json: str, mode: str, weight: float, top_k: int, filters: dict[str, list[str]]) -> None:
    """A fragment: a new query reruns only this, not the 学习 and 管理 tabs, which keeps each search
    cheap for the server when many people search at once (bench/load.py)."""
    searcher, lock = _searcher(settings_json)
    query = st.text_input("输入问题或关键词，按回车检索", placeholder=f"例如：{EXAMPLE}", key="query", max_chars=2000)
    similar_to = st.session_state.get("similar_to")
    if similar_to is not None:
        st.info("与所选段落相似的内容")
        st.button("返回检索结果", on_click=st.session_state.pop, args=("similar_to", None))
        with lock:
            try:
                response = searcher.more_like_this(similar_to, top_k)
            except QueryError as exc:
                st.error(str(exc))
                return
        _render_response(searcher, lock, response, "semantic")
        return
    if not query.strip():
        st.caption("可以用一句话描述想找的做法，例如“律师委员怎样提供公益法律服务”，也可以输入单位名称或关键词。")
        return
    with lock:
        try:
            response = searcher.search(
                query, mode=mode, k=top_k, filters=filters,
                semantic_weight=2 * weight, keyword_weight=2 * (1 - weight),
            )
        except QueryError as exc:
            st.error(f"无法检索：{exc}")
            return
    _render_response(searcher, lock, response, mode)


def _learn_view(searcher: Searcher, lock: threading.Lock) -> None:
    with lock:
        catalogue: Catalogue = searcher.catalogue()
    if not catalogue.practices:
        st.info("索引中还没有创新实践。综述文章里以单位名称开头的小节（如“五常市政协 发挥协商优势 …”）会列在这里。")
        return
    units = list(dict.fromkeys(p.unit for p in catalogue.practices))
    st.caption(
        f"{len(catalogue.practices)} 项创新实践，来自 {len(units)} 个单位。按单位或主题浏览；"
        "展开一项可看关键数字、关键词和“谁还做过类似的”。"
    )
    left, right = st.columns(2)
    unit = left.selectbox("单位", units, index=None, placeholder="全部单位", key="learn-unit")
    sizes = {t.name: len(t.practice_ids) for t in catalogue.themes}
    theme = right.selectbox("主题", list(sizes), index=None, placeholder="全部主题", key="learn-theme",
                            format_func=lambda name: f"{name}（{sizes[name]} 项）")
    chosen = matching(catalogue.practices, unit, theme)
    for practice in chosen:
        with st.expander(f"{practice.unit}：{practice.title}"):
            _render_practice(catalogue, practice)
    st.subheader("方法卡片")
    st.caption("文中定义的编号模式（如“45721”）及各数字对应的内容，只取自原文；原文没有说明的数字会注明。")
    for card in catalogue.cards:
        with st.container(border=True):
            st.markdown(card_markdown(card))


def _render_practice(catalogue: Catalogue, practice) -> None:
    st.caption(f"{practice.document_title} · {practice.year or '年份不详'} · {practice.unit_type or '—'} · 主题：{practice.theme}")
    st.markdown(practice.lead)
    if practice.figures:
        st.markdown("**关键数字**\n" + "\n".join(f"- {html.escape(f.text)}" for f in practice.figures))
    st.markdown(f"**关键词** {'、'.join(practice.keywords)}")
    similar = catalogue.similar(practice.practice_id, 3)
    if similar:
        lines = []
        for other in similar:
            shared = f"（共同关键词：{'、'.join(other.shared_keywords)}）" if other.shared_keywords else ""
            lines.append(f"- {html.escape(other.unit)}：{html.escape(other.title)}{shared}")
        st.markdown("**谁还做过类似的**\n" + "\n".join(lines))
    for card in catalogue.cards:
        if card.practice_id == practice.practice_id:
            st.markdown(card_markdown(card))
    if st.checkbox("显示全文", key=f"full-{practice.practice_id}"):
        st.text(practice.text)


def _manage_view(settings: Settings, settings_json: str, searcher: Searcher, lock: threading.Lock) -> None:
    with lock:
        stats = searcher.stats()
        documents = searcher.documents()
        manifest = searcher.manifest
    st.subheader("索引状态")
    cols = st.columns(4)
    cols[0].metric("文档", stats["documents"])
    cols[1].metric("段落", stats["chunks"])
    cols[2].metric("索引代数", manifest.generation)
    cols[3].metric("向量维度", manifest.model.dimension)
    st.caption(
        f"模型 {manifest.model.name}（{manifest.model.precision}，校验 {manifest.model.revision}）· "
        f"最近索引 {stats['last_indexed']} · 索引目录 {settings.index_dir}"
    )
    report = last_run(settings.index_dir)
    if report:
        st.caption(f"上次索引运行 {report.finished_at}：{report.summary()}")
    if report and report.failed:
        st.warning("上次索引有文件未能导入：")
        for failure in report.failed:
            st.text(failure.reason)

    st.subheader("文档列表")
    st.dataframe(
        [
            {"文档": d["doc_id"], "标题": d["title"], "单位": d["unit"], "年份": d["year"],
             "类型": d["doc_type"], "段落": d["chunks"], "索引时间": d["indexed_at"]}
            for d in documents
        ],
        hide_index=True, width="stretch",
    )

    st.subheader("管理")
    actor = _manager(settings)
    if actor is None:
        return

    st.subheader("上传文件")
    suffixes = sorted({s.lstrip(".") for s in LOADERS})
    uploads = st.file_uploader(
        f"支持 {'、'.join(suffixes)}，单个文件不超过 {settings.max_file_mb} MB；保存到 {settings.corpus_dir}/uploads/",
        type=suffixes, accept_multiple_files=True, key="uploads",
    )
    if st.button("导入并建立索引", disabled=not uploads, type="primary"):
        bar, update = _progress_bar("导入中…")
        added, report = add_and_index(
            settings, [(f.name, f.getvalue()) for f in uploads], progress=update, embedder=_embedder(settings_json),
            actor=actor,
        )
        bar.empty()
        for item in added.duplicates:
            st.warning(f"{item.name}：内容重复（{item.reason.replace('same content as', '与已有文件相同：')}），未导入")
        for item in added.refused:
            st.error(f"{item.name}：未导入（{item.reason}）")
        if report:
            _show_report(report)

    st.subheader("删除文档")
    doomed = st.selectbox("删除文档", [d["doc_id"] for d in documents], index=None, placeholder="选择要删除的文档",
                          label_visibility="collapsed")
    if doomed and st.button("删除所选文档", key="remove"):
        report = remove_document(settings, doomed, actor=actor)
        st.success(f"已删除 {doomed}（索引第 {report.generation} 代）")

    st.subheader("重新索引")
    st.caption(f"把 {settings.corpus_dir} 中新增、修改、删除的文件同步到索引；检索在索引期间照常可用。")
    if st.button("重新索引文档目录", key="reindex"):
        bar, update = _progress_bar("索引中…")
        report = index_paths(settings, embedder=_embedder(settings_json), progress=update, wait=True, actor=actor)
        bar.empty()
        _show_report(report)

    st.subheader("变更记录")
    rows = audit.entries(settings.index_dir, 200)
    if rows:
        st.dataframe(
            [{"时间": r.at, "操作者": r.actor, "操作": r.action, "对象": r.target,
              "内容哈希": r.content_hash[:12], "结果": r.result, "说明": r.detail} for r in rows],
            hide_index=True, width="stretch",
        )
    else:
        st.caption("还没有变更记录。")


def main() -> None:
    st.set_page_config(page_title="kb · 政协创新工作知识库", page_icon="📚", layout="wide")
    st.markdown("<style>.kb-hit mark{background:#ffe08a;padding:0 1px}</style>", unsafe_allow_html=True)
    st.title("kb · 政协创新工作知识库")
    st.caption("离线语义检索：查找各级政协的创新做法与相关法律法规，按意思和关键词同时检索。")
    settings = Settings.load()
    settings_json = settings.model_dump_json()
    try:
        searcher, lock = _searcher(settings_json)
    except (StoreError, QueryError):  # no index yet, or one never committed
        if not Path(settings.corpus_dir).exists():
            st.error(f"没有索引，也找不到文档目录 {settings.corpus_dir}。请先运行 `kb index`。")
            return
        _build_first_index(settings, settings_json)
        searcher, lock = _searcher(settings_json)
    search_tab, learn_tab, manage_tab = st.tabs(["检索", "学习", "管理"])
    with search_tab:
        _search_view(settings, searcher, lock)
    with learn_tab:
        _learn_view(searcher, lock)
    with manage_tab:
        _manage_view(settings, settings_json, searcher, lock)


if __name__ == "__main__":
    main()
