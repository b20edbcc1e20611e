"""One search hit on the page: where it comes from, the passage with its matched words marked, why it
was found (numbers one click away), its context, its approach card and similar passages."""

from __future__ import annotations

import html
import threading

import streamlit as st

from kb.practices import Catalogue, card_markdown
from kb.records import PRACTICE, Hit
from kb.search import Searcher, plain_reasons, score_details, term_spans
from kb.text import markdown_text, with_ellipsis


def highlighted(text: str, terms: list[str]) -> str:
    pieces, last = [], 0
    for start, end in term_spans(text, terms):
        pieces += [html.escape(text[last:start]), f"<mark>{html.escape(text[start:end])}</mark>"]
        last = end
    pieces.append(html.escape(text[last:]))
    return "".join(pieces).replace("\n", "<br>")


def _where(hit: Hit) -> str:
    """The heading path below the document, without the unit the header already names."""
    path = hit.heading_path[1:] if len(hit.heading_path) > 1 else hit.heading_path
    if hit.kind == PRACTICE and hit.unit and path and path[0].startswith(hit.unit):
        path = [path[0][len(hit.unit):].strip(), *path[1:]]
    where = " › ".join(part for part in path if part)
    if hit.page:
        where += f"（第 {hit.page} 页）"
    return where


def hit_title(hit: Hit, rank: int) -> str:
    where = _where(hit)
    return f"**{rank}. {markdown_text(hit.known_as or '—')}**" + (f" · {markdown_text(where)}" if where else "")


def render_hit(searcher: Searcher, lock: threading.Lock, hit: Hit, rank: int, catalogue: Catalogue) -> None:
    card = catalogue.card_for_chunk(hit.chunk_id)
    with st.container(border=True):
        st.markdown(hit_title(hit, rank))
        st.markdown(f"<div class='kb-hit'>{highlighted(with_ellipsis(hit.text), hit.matched_terms)}</div>",
                    unsafe_allow_html=True)
        reasons, numbers = st.columns([5, 1])
        reasons.caption(plain_reasons(hit, searcher.settings.floor_similarity))
        with numbers.popover("得分详情", width="stretch"):
            for line in score_details(hit):
                st.caption(line)
        with st.expander("上下文与全文"):
            _context(searcher, lock, hit)
        if card:
            with st.expander(f"方法卡片：{markdown_text(card.name)}"):
                st.markdown(card_markdown(card))
        st.button("相似段落", key=f"similar-{hit.chunk_id}", on_click=show_similar, args=(hit.chunk_id,))


def _context(searcher: Searcher, lock: threading.Lock, hit: Hit) -> None:
    with lock:
        neighbours = searcher.neighbours(hit.chunk_id, 1, 1)
        section = searcher.section_text(hit.chunk_id)
    for row in neighbours:
        text = html.escape(with_ellipsis(row["text"])).replace("\n", "<br>")
        if row["chunk_id"] == hit.chunk_id:
            st.markdown(f"<div class='kb-current'>▶ {text}</div>", unsafe_allow_html=True)
            continue
        # A neighbour from another unit's practice (the next section of the review) says so.
        label = ""
        if row["kind"] == PRACTICE and row["unit"] != hit.unit:
            label = f"以下属于另一单位的做法：{row['unit']}"
        elif row["heading_path"] != hit.heading_path:
            label = f"以下属于：{row['heading_path'][-1] if row['heading_path'] else row['title']}"
        if label:
            label = f"<div class='kb-crossing'>{html.escape(label)}</div>"
        st.markdown(f"{label}<div class='kb-other'>{text}</div>", unsafe_allow_html=True)
    st.markdown("**所在章节全文**")
    st.text(section)


def show_similar(chunk_id: int) -> None:
    st.session_state["similar_to"] = chunk_id
