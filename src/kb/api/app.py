"""The HTTP API: kb's read side as JSON, the Word and Excel exports, and management behind a token.

Every route answers from the one `Service` of the process. Bad input is a 400 or 422 whose JSON body
names the field (`{"detail": …, "field": …}`), never a 500. The OpenAPI description is served at
`/openapi.json` and committed as `docs/openapi.json`; there is no Swagger page, which would load its
scripts from a CDN that an office network cannot reach.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from fastapi import (
    Depends,
    FastAPI,
    File,
    Header,
    HTTPException,
    Query,
    Request,
    UploadFile,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

import kb
from kb.api.models import (
    ChunkView,
    DocumentRow,
    ErrorBody,
    Health,
    IndexRun,
    PracticeView,
    SearchRequest,
    Stats,
    UploadResult,
)
from kb.api.service import FieldError, Service
from kb.config import Settings
from kb.office.hosts import HostRule, guard_hosts
from kb.practices import ApproachCard, Practice, Theme, matching
from kb.records import SearchResponse
from kb.search.query import QueryError

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_JSON_BYTES = 64 * 1024
ERRORS = {400: {"model": ErrorBody, "description": "输入有误：detail 说明原因，field 指出字段"},
          404: {"model": ErrorBody, "description": "没有这一项"}}


def create_app(settings: Settings, service: Service | None = None) -> FastAPI:
    """The app over ``service`` (made from ``settings`` at start-up when not given)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if service is None:
            app.state.service = Service(settings)
        app.state.service.warm()
        yield
        app.state.service.close()

    app = FastAPI(title="kb 知识库接口", version=kb.__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="政协创新实践知识库的检索接口：检索、段落、文档、实践案例、方法卡片、主题与导出。"
                              "管理接口（上传、重新索引、删除、备份）需要令牌（设置 api_token）。")
    app.state.service = service
    app.state.settings = settings
    if settings.api_cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=settings.api_cors_origins, allow_methods=["GET", "POST"])
    _limits(app, settings)
    # Added last, so outermost: a request naming a host kb does not answer to goes no further.
    app.add_middleware(guard_hosts, rule=HostRule(settings.allowed_hosts), check_origin=False)
    _read_routes(app)
    _management_routes(app)
    app.openapi = lambda: _openapi(app)
    return app


def _openapi(app: FastAPI) -> dict:
    """FastAPI's description, with kb's own error body for 422 (the field named, as for 400) and the
    413 of the body limit on the routes that take a body."""
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    for path in schema["paths"].values():
        for method, operation in path.items():
            responses = operation.get("responses", {})
            if "422" in responses:
                responses["422"] = {"description": "参数不合要求：detail 说明原因，field 指出字段", "content": error}
            if method in ("post", "put"):
                responses["413"] = {"description": "请求体过大", "content": error}
    for name in ("HTTPValidationError", "ValidationError"):
        schema.get("components", {}).get("schemas", {}).pop(name, None)
    app.openapi_schema = schema
    return schema


def _service(request: Request) -> Service:
    return request.app.state.service


def _limits(app: FastAPI, settings: Settings) -> None:
    @app.middleware("http")
    async def body_limit(request: Request, call_next):
        upload = request.url.path.startswith("/admin/upload")
        limit = settings.max_file_mb * 1024 * 1024 + 64 * 1024 if upload else MAX_JSON_BYTES
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            return JSONResponse({"detail": f"the request body is over {limit} bytes", "field": "body"}, 413)
        return await call_next(request)

    @app.exception_handler(FieldError)
    async def field_error(request: Request, exc: FieldError):
        return JSONResponse({"detail": str(exc), "field": exc.field}, 400)

    @app.exception_handler(QueryError)
    async def query_error(request: Request, exc: QueryError):
        return JSONResponse({"detail": str(exc), "field": "q"}, 400)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        field = ".".join(str(part) for part in first.get("loc", ())[1:]) or "body"
        return JSONResponse({"detail": f"{field}: {first.get('msg', 'invalid')}", "field": field}, 422)


def _read_routes(app: FastAPI) -> None:
    service = Depends(_service)

    @app.get("/health", response_model=Health, summary="服务状态：索引版本、模型是否就绪")
    def health(svc: Service = service):
        return svc.health()

    @app.get("/search", response_model=SearchResponse, responses=ERRORS, summary="检索（参数在网址中）")
    def search_get(params: Annotated[SearchRequest, Query()], svc: Service = service):
        return _search(svc, params)

    @app.post("/search", response_model=SearchResponse, responses=ERRORS, summary="检索（参数在 JSON 中）")
    def search_post(params: SearchRequest, svc: Service = service):
        return _search(svc, params)

    @app.get("/search.docx", responses={200: {"content": {DOCX: {}}}, **ERRORS}, summary="检索结果导出为 Word",
             response_class=Response)
    def search_docx(params: Annotated[SearchRequest, Query()], svc: Service = service):
        from kb.report import search_docx as make

        data = make(_search(svc, params), svc.settings.timezone)
        return Response(data, media_type=DOCX, headers={"Content-Disposition": 'attachment; filename="search.docx"'})

    @app.get("/chunks/{chunk_id}", response_model=ChunkView, responses=ERRORS, summary="一个段落及其上下文")
    def chunk(chunk_id: int, context: Annotated[int, Query(ge=0, le=10, description="前后各取几段")] = 1,
              svc: Service = service):
        if not 0 < chunk_id < 2**63:
            raise HTTPException(404, "no such chunk")
        try:
            return svc.chunk(chunk_id, context)
        except QueryError as exc:
            raise HTTPException(404, str(exc)) from None

    @app.get("/documents", response_model=list[DocumentRow], summary="已索引的文档")
    def documents(svc: Service = service):
        return svc.documents()

    @app.get("/stats", response_model=Stats, summary="索引统计与各筛选字段的取值")
    def stats(svc: Service = service):
        return svc.stats()

    @app.get("/practices", response_model=list[Practice], responses=ERRORS, summary="实践案例目录")
    def practices(unit: Annotated[str | None, Query(max_length=100, description="单位全称或其中唯一的一段")] = None,
                  theme: Annotated[str | None, Query(max_length=100, description="主题名")] = None,
                  svc: Service = service):
        catalogue = svc.catalogue()
        if unit:
            from kb.search.filters import resolve_unit

            resolved = resolve_unit(unit, [p.unit for p in catalogue.practices])
            if resolved is None:
                raise FieldError("unit", f"no practice of unit {unit!r}")
            unit = resolved
        found = catalogue.find_theme(theme) if theme else None
        if theme and found is None:
            raise FieldError("theme", f"unknown theme {theme!r}; GET /themes lists them")
        return matching(catalogue.practices, unit, found)

    @app.get("/practices.xlsx", responses={200: {"content": {XLSX: {}}}}, summary="实践案例目录导出为 Excel",
             response_class=Response)
    def practices_xlsx(svc: Service = service):
        from kb.report import catalogue_xlsx

        return Response(catalogue_xlsx(svc.catalogue()), media_type=XLSX,
                        headers={"Content-Disposition": 'attachment; filename="practices.xlsx"'})

    @app.get("/practices/{practice_id:path}", response_model=PracticeView, responses=ERRORS,
             summary="一个实践案例及其他单位的相似做法")
    def practice(practice_id: str, similar: Annotated[int, Query(ge=0, le=50)] = 5, svc: Service = service):
        catalogue = svc.catalogue()
        try:
            found = catalogue.practice(practice_id)
        except KeyError:
            raise HTTPException(404, f"no practice {practice_id!r}; GET /practices lists them") from None
        return {"practice": found, "similar": catalogue.similar(practice_id, similar) if similar else [],
                "cards": [c for c in catalogue.cards if c.practice_id == practice_id]}

    @app.get("/cards", response_model=list[ApproachCard], summary="方法卡片（如 45721 专题智库模式）")
    def cards(svc: Service = service):
        return svc.catalogue().cards

    @app.get("/themes", response_model=list[Theme], summary="实践案例的主题")
    def themes(svc: Service = service):
        return svc.catalogue().themes


def _search(svc: Service, params: SearchRequest) -> SearchResponse:
    return svc.search(params.q, params.mode, params.k, params.kind, params.filter, params.flat)


def _management_routes(app: FastAPI) -> None:
    def caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> str:
        """Management needs the token (`api_token`); the audit log records who called, from where."""
        token = request.app.state.settings.api_token
        if not token:
            raise HTTPException(403, "management is off: set api_token to allow it")
        import secrets

        given = (authorization or "").removeprefix("Bearer ").strip()
        if not secrets.compare_digest(given.encode(), token.encode()):
            raise HTTPException(401, "a valid token is needed: Authorization: Bearer <api_token>")
        return f"api:{request.client.host if request.client else 'unknown'}"

    admin = {**ERRORS, 401: {"model": ErrorBody, "description": "令牌不对"},
             403: {"model": ErrorBody, "description": "未启用管理"}}

    @app.post("/admin/upload", response_model=UploadResult, responses=admin, summary="上传文件并索引（需要令牌）")
    def upload(request: Request, files: Annotated[list[UploadFile], File()], actor: str = Depends(caller)):
        from kb.office.uploads import add_and_index

        settings = request.app.state.settings
        payload = [(f.filename or "upload", f.file.read(settings.max_file_mb * 1024 * 1024 + 1)) for f in files]
        added, report = add_and_index(settings, payload, embedder=request.app.state.service.embedder, actor=actor)
        return {"saved": added.saved, "refused": [{"name": r.name, "reason": r.english} for r in added.refused],
                "report": _run(report)}

    @app.post("/admin/reindex", response_model=IndexRun, responses=admin, summary="重新索引语料文件夹（需要令牌）")
    def reindex(request: Request, actor: str = Depends(caller)):
        from kb.office.indexing import index_files

        settings = request.app.state.settings
        return _run(index_files(settings, embedder=request.app.state.service.embedder, wait=True, actor=actor))

    @app.delete("/admin/documents/{doc_id:path}", response_model=IndexRun, responses=admin,
                summary="删除一个文档（需要令牌）")
    def delete(request: Request, doc_id: str, actor: str = Depends(caller)):
        from kb.office.uploads import remove_document

        if doc_id not in {d["doc_id"] for d in request.app.state.service.documents()}:
            raise HTTPException(404, f"no document {doc_id!r}; GET /documents lists them")
        return _run(remove_document(request.app.state.settings, doc_id, actor=actor))

    @app.post("/admin/backup", responses=admin, summary="备份索引与语料（需要令牌）")
    def backup(request: Request, actor: str = Depends(caller)) -> dict[str, str]:
        from kb.office.backup import backup as make

        settings = request.app.state.settings
        folder = Path(settings.index_dir).resolve().parent / "backups"
        folder.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        dest = Path(tempfile.mkdtemp(prefix=f"kb-{stamp}-", dir=folder))
        make(settings, dest / "backup", actor=actor)
        return {"backup": str(dest / "backup")}


def _run(report) -> dict | None:
    if report is None:
        return None
    return {"summary": report.summary(), "generation": report.generation,
            "failed": [{"path": f.path, "reason": f.reason} for f in report.failed]}
