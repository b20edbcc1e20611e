"""kb for AI assistants: an MCP server (the official `mcp` SDK) whose tools search the precedents and
read practices, approach cards and passages, each with its source (document, unit, heading path,
page) so that an assistant cites them. It only reads: there is no tool that changes the index."""

from __future__ import annotations

import functools

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel

from kb.api.service import Service
from kb.practices import matching
from kb.reasons import KbError
from kb.records import Hit
from kb.search.filters import resolve_unit

INSTRUCTIONS = ("政协创新实践知识库。先用 search_precedents 按问题检索其他单位的做法与相关法规，"
                "再用 get_practice / get_passage 读全文；引用时写明来源（文档、单位、章节、页码）。"
                "weak 为 true 的结果只是较弱的匹配，不要当作答案。")


class Passage(BaseModel):
    """A passage and where it comes from."""

    chunk_id: int
    kind: str
    unit: str
    document: str
    doc_id: str
    heading_path: list[str]
    page: int | None = None
    text: str
    weak: bool = False
    score: float | None = None


class PracticeText(BaseModel):
    practice_id: str
    unit: str
    unit_type: str
    year: int | None
    title: str
    document: str
    doc_id: str
    lead: str
    text: str
    keywords: list[str]
    theme: str
    similar: list[dict]


class PracticeSummary(BaseModel):
    practice_id: str
    unit: str
    year: int | None
    title: str
    lead: str
    theme: str


class Card(BaseModel):
    name: str
    unit: str
    practice_id: str
    parts: list[dict]
    passages: list[str]


def _passage(hit: Hit) -> Passage:
    return Passage(chunk_id=hit.chunk_id, kind=hit.kind, unit=hit.unit, document=hit.document, doc_id=hit.doc_id,
                   heading_path=hit.heading_path, page=hit.page, text=hit.text, weak=hit.weak, score=hit.score)


def _told(tool):
    """What the caller got wrong (an unknown id, a bad query) reaches the assistant in words; any
    other failure stays a crash, whose text the SDK keeps on the server."""

    @functools.wraps(tool)
    def wrapper(*args, **kwargs):
        try:
            return tool(*args, **kwargs)
        except KeyError as exc:
            raise ToolError(exc.args[0] if exc.args else "not found") from None
        except KbError as exc:  # a bad query, an unknown theme
            raise ToolError(str(exc)) from None

    return wrapper


def build_server(service: Service) -> MCPServer:
    server = MCPServer(name="kb", title="政协创新实践知识库", instructions=INSTRUCTIONS)

    @server.tool()
    @_told
    def search_precedents(query: str, k: int = 5, kind: str | None = None, unit: str | None = None) -> list[Passage]:
        """Search the knowledge base the way `kb search` does: practices of other units first, then laws
        and policies, weak matches last. kind: 实践案例, 政策法规 or 其他; unit: a unit or a unique part of its name."""
        filters = [f"unit={unit}"] if unit else []
        response = service.search(query, k=k, kinds=[kind] if kind else None, filters=filters)
        return [_passage(hit) for hit in response.hits]

    @server.tool()
    @_told
    def get_practice(practice_id: str) -> PracticeText:
        """One practice in full, with similar practices of other units (ids come from list_practices)."""
        catalogue = service.catalogue()
        practice = catalogue.practice(practice_id)
        return PracticeText(practice_id=practice.practice_id, unit=practice.unit, unit_type=practice.unit_type,
                            year=practice.year, title=practice.title, document=practice.document_title,
                            doc_id=practice.doc_id, lead=practice.lead, text=practice.text, keywords=practice.keywords,
                            theme=practice.theme,
                            similar=[s.model_dump() for s in catalogue.similar(practice_id, 3)])

    @server.tool()
    @_told
    def list_practices(unit: str | None = None, theme: str | None = None) -> list[PracticeSummary]:
        """The catalogue of practices, optionally of one unit (its name, any unique part of it or a short
        form the text uses) or theme (a name it has or had)."""
        catalogue = service.catalogue()
        if unit:
            unit = resolve_unit(unit, [p.unit for p in catalogue.practices])
            if unit is None:
                return []
        found = catalogue.theme_named(theme) if theme else None
        return [PracticeSummary(practice_id=p.practice_id, unit=p.unit, year=p.year, title=p.title, lead=p.lead,
                                theme=p.theme)
                for p in matching(catalogue.practices, unit, found)]

    @server.tool()
    @_told
    def get_approach_card(name: str) -> list[Card]:
        """Approach cards (named models such as 45721 专题智库模式) whose name contains ``name``; each
        part as the source spells it out, or marked as not described."""
        return [Card(name=c.name, unit=c.unit, practice_id=c.practice_id, parts=[p.model_dump() for p in c.parts],
                     passages=c.passages)
                for c in service.catalogue().cards if name in c.name]

    @server.tool()
    @_told
    def get_passage(chunk_id: int, context: int = 1) -> list[Passage]:
        """A passage with ``context`` neighbours before and after it, in document order."""
        row = service.chunk(chunk_id, context)
        rows = sorted([row, *row["neighbours"]], key=lambda r: r["ordinal"])
        return [Passage(chunk_id=r["chunk_id"], kind=r["kind"], unit=r["unit"], document=r["title"],
                        doc_id=r["doc_id"], heading_path=r["heading_path"], page=r["page"], text=r["text"])
                for r in rows]

    return server
