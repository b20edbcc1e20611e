"""The 管理 tab: index status and documents for everyone; uploads, removals, re-indexing and the
change log for whoever may manage."""

from __future__ import annotations

import math
import threading
from pathlib import Path

import streamlit as st

from kb.config import Settings
from kb.index import audit
from kb.index.runlog import last_run
from kb.ingest import LOADERS
from kb.office.admin import Access, access
from kb.office.indexing import index_files
from kb.office.uploads import add_and_index, remove_document
from kb.page.gate import enrol_this_session
from kb.page.shared import (
    ModelLoader,
    password_attempts,
    progress_bar,
    session_tag,
    show_report,
)
from kb.page.words import ACTIONS, PRECISIONS, RESULTS
from kb.reasons import Reason, chinese_reason
from kb.search import Searcher
from kb.text import local_time, markdown_text


def _may_manage(settings: Settings) -> bool:
    """Whether this session may manage, without asking: open on loopback, or an admin who logged in."""
    mode = access(settings.admin_password_hash, st.get_option("server.address"))
    return mode is Access.LOOPBACK or (mode is Access.PASSWORD and bool(st.session_state.get("admin")))


def _shown_path(path: str, manager: bool) -> str:
    """A file as this session may see it: the whole path for who manages, its name for a visitor."""
    return path if manager else Path(path).name


def _manager(settings: Settings) -> str | None:
    """Who manages in this session (for the audit log), or None while this session may only search."""
    mode = access(settings.admin_password_hash, st.get_option("server.address"))
    if mode is Access.CLOSED:
        st.info("本页面面向网络提供检索与浏览。上传、删除和重建索引需要管理员密码："
                "请管理员在服务器上运行 `kb admin set-password` 后重启 `kb serve`。")
        return None
    if mode is Access.LOOPBACK:
        st.caption("未设置管理员密码：页面只在本机地址上提供，管理功能对本机开放。")
        return f"本机会话 {session_tag()}"
    if st.session_state.get("admin"):
        st.button("退出管理", key="logout", on_click=st.session_state.pop, args=("admin", None))
        return f"管理员会话 {session_tag()}"
    attempts = password_attempts()
    with st.form("login", clear_on_submit=True):
        password = st.text_input("管理员密码", type="password", key="password")
        submitted = st.form_submit_button("登录管理")
    if submitted:
        wait = attempts.wait_seconds()
        if wait:
            audit.record(settings.index_dir, [audit.entry(f"会话 {session_tag()}", "login", "page", "refused",
                                                          reason=Reason(code="locked_out",
                                                                        facts={"seconds": str(math.ceil(wait))}))])
            st.error(f"密码错误次数过多，请 {math.ceil(wait)} 秒后再试。")
        elif attempts.try_password(password, settings.admin_password_hash):
            st.session_state["admin"] = True
            audit.record(settings.index_dir, [audit.entry(f"管理员会话 {session_tag()}", "login", "page", "done")])
            st.rerun()
        else:
            audit.record(settings.index_dir, [audit.entry(f"会话 {session_tag()}", "login", "page", "refused",
                                                          reason=Reason(code="wrong_password"))])
            st.error("密码不正确。")
    return None


def _documents(documents: list[dict], zone: str) -> None:
    st.subheader("文档列表")
    st.dataframe(
        [
            {"文档": d["doc_id"], "标题": d["title"], "单位": d["unit"], "年份": d["year"],
             "类型": d["doc_type"], "段落": d["chunks"], "索引时间": local_time(d["indexed_at"], zone)}
            for d in documents
        ],
        hide_index=True, width="stretch",
    )


def manage_view(settings: Settings, searcher: Searcher, lock: threading.Lock, loader: ModelLoader) -> None:
    zone = settings.timezone
    with lock:
        stats = searcher.stats()
        documents = searcher.documents()
        manifest = searcher.manifest
    st.subheader("索引状态")
    cols = st.columns(3)
    cols[0].metric("文档", stats["documents"])
    cols[1].metric("段落", stats["chunks"])
    cols[2].metric("索引版本", f"第 {manifest.generation} 版")
    model = manifest.model
    # Where the server keeps things is for those who manage it; a visitor from the network learns no path.
    manager = _may_manage(settings)
    # The server takes files from this session only while it is shown the uploader.
    enrol_this_session(manager and settings.search_backend != "milvus")
    where = ""
    if manager:
        where = " · " + (f"Milvus {settings.milvus_uri}（{settings.milvus_collection}）"
                         if settings.search_backend == "milvus" else f"索引目录 {settings.index_dir}")
    st.caption(f"语义模型 {model.name}（{PRECISIONS.get(model.precision, model.precision)}）· "
               f"最近索引 {local_time(stats['last_indexed'], zone)}{where}")
    if settings.search_backend == "milvus":
        _documents(documents, zone)
        st.info("本页面从 Milvus 检索，不保存索引文件。上传、删除和重新索引请在建索引的"
                "服务器上进行：在那里运行 kb index，新版本会发布到 Milvus，各个页面随即改用新版本。")
        return
    report = last_run(settings.index_dir)
    if report:
        st.caption(f"上次索引运行（{local_time(report.finished_at, zone)}）：{report.summary_in_chinese()}")
    if report and report.failed:
        st.warning("上次索引有文件未能导入：")
        for failure in report.failed:
            st.text(f"{_shown_path(failure.path, manager)}：{failure.chinese()}")
    for note in report.notes if report else []:
        st.text(f"{_shown_path(note.path, manager)}：{note.chinese()}")
    if report and report.skipped:
        with st.expander(f"上次索引跳过的文件（{len(report.skipped)}，不是 kb 读取的类型）"):
            for skipped in report.skipped:
                st.text(f"{_shown_path(skipped.path, manager)}：{skipped.chinese()}")

    _documents(documents, zone)

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
        bar, update = progress_bar("导入中…")
        added, report = add_and_index(
            settings, [(f.name, f.getvalue()) for f in uploads], progress=update, embedder=loader.wait(), actor=actor,
        )
        bar.empty()
        for item in added.duplicates:
            st.warning(markdown_text(f"{item.name}：{chinese_reason(item.reason)}"))
        for item in added.refused:
            st.error(markdown_text(f"{item.name}：未导入（{chinese_reason(item.reason)}）"))
        if report:
            show_report(report)

    st.subheader("删除文档")
    doomed = st.selectbox("删除文档", [d["doc_id"] for d in documents], index=None, placeholder="选择要删除的文档",
                          label_visibility="collapsed")
    if doomed and st.button("删除所选文档", key="remove"):
        report = remove_document(settings, doomed, actor=actor)
        st.success(markdown_text(f"已删除 {doomed}（现为第 {report.generation} 版索引）"))

    st.subheader("重新索引")
    st.caption(f"把 {settings.corpus_dir} 中新增、修改、删除的文件同步到索引；检索在索引期间照常可用。")
    if st.button("重新索引文档目录", key="reindex"):
        bar, update = progress_bar("索引中…")
        report = index_files(settings, embedder=loader.wait(), progress=update, wait=True, actor=actor)
        bar.empty()
        show_report(report)

    st.subheader("变更记录")
    rows = audit.entries(settings.index_dir, 200)
    if rows:
        st.dataframe(
            [{"时间": local_time(r.at, zone), "操作者": r.actor, "操作": ACTIONS.get(r.action, r.action),
              "对象": r.target, "内容哈希": r.content_hash[:12], "结果": RESULTS.get(r.result, r.result),
              "说明": chinese_reason(r.reason, r.detail)} for r in rows],
            hide_index=True, width="stretch",
        )
    else:
        st.caption("还没有变更记录。")
