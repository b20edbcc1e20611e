"""The HTTP API as other systems call it: `kb api` started as a real process on a port it picks
itself, called over a real socket with httpx; errors that name the field; exports; management only
with the token, recorded in the audit log; the committed OpenAPI description; schemathesis."""

from __future__ import annotations

import concurrent.futures
import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import httpx
import pytest
from support import KB, ROOT, kb, seed_queries, stop

TOKEN = "test-token-for-management"


@contextlib.contextmanager
def kb_api(index_dir: Path, corpus_dir: Path, env_extra: dict[str, str] | None = None):
    """`kb api --port 0` as a user starts it: the port it bound is read from its first line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(HF_HUB_OFFLINE="1", KB_INDEX_DIR=str(index_dir), KB_CORPUS_DIR=str(corpus_dir), **(env_extra or {}))
    process = subprocess.Popen([*KB, "api", "--port", "0"], env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                               text=True)
    try:
        line = process.stderr.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, line + process.stderr.read()
        url = f"http://127.0.0.1:{match.group(1)}"
        deadline = time.monotonic() + 180
        while True:  # the model is warmed before the first answer
            try:
                if httpx.get(url + "/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail("kb api did not answer:\n" + process.stderr.read())
                time.sleep(0.3)
        yield url
    finally:
        stop(process)


@pytest.fixture(scope="module")
def api(seed_index, tmp_path_factory):
    """An API over a copy of the seed index (management writes to it), with the token set."""
    folder = tmp_path_factory.mktemp("api")
    shutil.copytree(seed_index.index_dir, folder / "index")
    shutil.copytree(seed_index.corpus_dir, folder / "corpus")
    with kb_api(folder / "index", folder / "corpus", {"KB_API_TOKEN": TOKEN}) as url:
        yield url, folder


def test_health_says_the_generation_and_that_the_model_is_warm(api):
    health = httpx.get(api[0] + "/health").json()
    assert health["status"] == "ok" and health["generation"] >= 1 and health["model_ready"] is True


def test_the_api_and_kb_search_json_give_the_same_hits(api, seed_index, tmp_path):
    url, folder = api
    questions = [query for query, _ in seed_queries()]
    (tmp_path / "q.txt").write_text("\n".join(questions) + "\n", encoding="utf-8")
    printed = [json.loads(line) for line in kb("search", "--queries", str(tmp_path / "q.txt"), "-k", "5",
                                               index_dir=folder / "index").stdout.splitlines()]
    with httpx.Client(base_url=url, timeout=60) as client:
        for question, cli in zip(questions, printed):
            answer = client.get("/search", params={"q": question, "k": 5}).json()
            assert [(h["chunk_id"], h["kind"], h["weak"]) for h in answer["hits"]] == [
                (h["chunk_id"], h["kind"], h["weak"]) for h in cli["hits"]], question
    posted = httpx.post(url + "/search", json={"q": questions[0], "k": 5}).json()
    assert [h["chunk_id"] for h in posted["hits"]] == [h["chunk_id"] for h in printed[0]["hits"]]
    assert posted["groups"][0]["kind"] == "实践案例" and "weak" in posted["hits"][0]


def test_flat_kinds_and_filters(api):
    url = api[0]
    flat = httpx.get(url + "/search", params={"q": "人民调解委员会", "k": 3, "flat": "true"}).json()
    assert len(flat["hits"]) == 3 and flat["groups"] == []
    laws = httpx.get(url + "/search", params={"q": "调解", "kind": "政策法规", "k": 3}).json()
    assert laws["hits"] and {h["kind"] for h in laws["hits"]} == {"政策法规"}
    district = httpx.post(url + "/search", json={"q": "委员工作站", "filter": ["unit_type=区政协"]}).json()
    assert district["hits"] and {h["unit_type"] for h in district["hits"]} == {"区政协"}


@pytest.mark.parametrize(("params", "status", "field"), [
    ({"q": "x", "k": 1000}, 422, "k"),
    ({"q": "x", "mode": "fuzzy"}, 422, "mode"),
    ({"q": ""}, 422, "q"),
    ({"q": "问" * 501}, 422, "q"),
    ({"q": "x", "filter": "colour=red"}, 400, "filter"),
    ({"q": "x", "filter": "unit_type=县政协"}, 400, "filter"),
    ({"q": "x", "filter": "year=abc"}, 400, "filter"),
])
def test_bad_input_names_the_field(api, params, status, field):
    answer = httpx.get(api[0] + "/search", params=params)
    assert answer.status_code == status and answer.json()["field"] == field, answer.text


def test_close_values_are_suggested_and_odd_text_never_fails(api):
    url = api[0]
    typo = httpx.get(url + "/search", params={"q": "调解", "filter": "unit_type=县政协"}).json()
    assert "县市政协" in typo["detail"]
    surrogate = httpx.post(url + "/search", content='{"q": "\\ud800五常\\udfff大米"}',
                           headers={"content-type": "application/json"})
    assert surrogate.status_code == 422 and surrogate.json()["field"], surrogate.text
    broken = httpx.get(url + "/search?q=%ED%A0%80%E4%BA%94%E5%B8%B8")  # a surrogate's bytes: not UTF-8
    assert broken.status_code in (200, 400, 422), broken.text
    assert httpx.post(url + "/search", content=b"{not json", headers={"content-type": "application/json"}
                      ).status_code == 422
    assert httpx.post(url + "/search", json={"q": "x" * 70000}).status_code == 413
    assert httpx.get(url + "/chunks/99999999999999999999").status_code in (404, 422)
    assert httpx.get(url + "/chunks/999999").json()["detail"].startswith("no chunk")
    assert httpx.get(url + "/practices/nope%231").status_code == 404


def test_passages_practices_cards_themes_documents_stats(api):
    url = api[0]
    hit = httpx.get(url + "/search", params={"q": "五常大米品牌", "k": 1}).json()["hits"][0]
    chunk = httpx.get(url + f"/chunks/{hit['chunk_id']}", params={"context": 1}).json()
    assert chunk["text"] == hit["text"] and chunk["neighbours"] and chunk["title"]
    practices = httpx.get(url + "/practices").json()
    assert len(practices) == 20
    mine = httpx.get(url + "/practices", params={"unit": "民盟"}).json()
    assert [p["unit"] for p in mine] == ["民盟哈尔滨市委"]
    view = httpx.get(url + "/practices/" + urllib.parse.quote(mine[0]["practice_id"])).json()
    assert view["practice"]["unit"] == "民盟哈尔滨市委" and view["similar"] and view["cards"][0]["name"].startswith("45721")
    assert any(c["name"].startswith("45721") for c in httpx.get(url + "/cards").json())
    assert httpx.get(url + "/themes").json()
    assert httpx.get(url + "/practices", params={"unit": "没有这个单位"}).json()["field"] == "unit"
    documents = httpx.get(url + "/documents").json()
    assert {d["doc_id"] for d in documents} >= {"2022-哈尔滨市政协系统创新工作综述.md"}
    stats = httpx.get(url + "/stats").json()
    assert stats["documents"] == len(documents) and stats["facets"]["kind"]["实践案例"] >= 20


def test_exports_open_in_word_and_excel(api):
    import docx
    import openpyxl

    url = api[0]
    word = httpx.get(url + "/search.docx", params={"q": "五常大米品牌", "k": 2})
    assert word.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert any("五常" in p.text for p in docx.Document(io.BytesIO(word.content)).paragraphs)
    sheet = openpyxl.load_workbook(io.BytesIO(httpx.get(url + "/practices.xlsx").content))
    assert sheet.worksheets[0].max_row == 21  # a header and the 20 practices


def test_concurrent_requests_are_answered_side_by_side(api):
    url = api[0]
    questions = [query for query, _ in seed_queries()][:20]
    with httpx.Client(base_url=url, timeout=120) as client:
        alone = {q: [h["chunk_id"] for h in client.get("/search", params={"q": q, "k": 3}).json()["hits"]]
                 for q in questions[:5]}
        with concurrent.futures.ThreadPoolExecutor(10) as pool:
            answers = list(pool.map(lambda q: client.get("/search", params={"q": q, "k": 3}), questions * 2))
    assert all(a.status_code == 200 for a in answers)
    for answer in answers:
        body = answer.json()
        if body["query"] in alone:
            assert [h["chunk_id"] for h in body["hits"]] == alone[body["query"]]


def test_management_needs_the_token_and_is_audited(api):
    url, folder = api
    assert httpx.post(url + "/admin/reindex").status_code == 401
    assert httpx.post(url + "/admin/reindex", headers={"Authorization": "Bearer wrong"}).status_code == 401
    auth = {"Authorization": f"Bearer {TOKEN}"}
    note = "青山县政协建立“板凳会”协商机制，委员每月到村里听取群众意见。\n".encode()
    upload = httpx.post(url + "/admin/upload", headers=auth, files={"files": ("青山县政协板凳会.md", note)}, timeout=300)
    assert upload.status_code == 200, upload.text
    saved = upload.json()["saved"]
    assert saved and upload.json()["report"]["summary"].startswith("1 added")
    deadline = time.monotonic() + 30
    while saved[0] not in {d["doc_id"] for d in httpx.get(url + "/documents").json()}:
        assert time.monotonic() < deadline, "the upload never reached the readers"
        time.sleep(0.2)
    found = httpx.get(url + "/search", params={"q": "板凳会协商机制", "k": 1}).json()["hits"]
    assert found[0]["doc_id"] == saved[0] and found[0]["unit"] == "青山县政协"
    removed = httpx.delete(url + "/admin/documents/" + saved[0], headers=auth, timeout=300)
    assert removed.status_code == 200 and "1 removed" in removed.json()["summary"]
    assert httpx.delete(url + "/admin/documents/nope.md", headers=auth).status_code == 404
    log = kb("log", "--json", index_dir=folder / "index").stdout
    actions = [(e["actor"], e["action"]) for e in json.loads(log)]
    assert ("api:127.0.0.1", "upload") in actions and ("api:127.0.0.1", "remove") in actions


def test_management_is_off_without_a_token(seed_index, tmp_path):
    folder = tmp_path / "index"
    shutil.copytree(seed_index.index_dir, folder)
    with kb_api(folder, seed_index.corpus_dir) as url:
        assert httpx.post(url + "/admin/reindex", headers={"Authorization": "Bearer x"}).status_code == 403
        assert "access-control-allow-origin" not in httpx.get(
            url + "/health", headers={"Origin": "http://evil.example"}).headers


def test_the_committed_openapi_description_is_the_running_apps(api):
    served = httpx.get(api[0] + "/openapi.json").json()
    printed = subprocess.run([*KB, "api", "--openapi"], capture_output=True, text=True, check=True,
                             env={**os.environ, "HF_HUB_OFFLINE": "1"}).stdout
    committed = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
    assert served == committed == json.loads(printed), "run `kb api --openapi > docs/openapi.json`"
    assert committed["paths"]["/search"]["get"]["summary"] and "/admin/upload" in committed["paths"]


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_and_no_schema_violation(api):
    """A few hundred generated requests against the running app's own description."""
    out = subprocess.run(
        [str(Path(sys.executable).parent / "schemathesis"), "run", api[0] + "/openapi.json", "-n", "25",
         "-c", "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance",
         "--phases", "examples,coverage,fuzzing", "--suppress-health-check=filter_too_much", "--seed", "7"],
        capture_output=True, text=True, timeout=900, check=False)
    assert out.returncode == 0, out.stdout[-6000:]


def test_a_rebound_name_gets_no_answer(api):
    """DNS rebinding: a page on another name that resolves to this machine reads nothing."""
    url = api[0]
    port = httpx.URL(url).port
    refused = httpx.get(url + "/search", params={"q": "委员工作室"}, headers={"Host": f"evil.example:{port}"})
    assert refused.status_code == 403 and "allowed_hosts" in refused.text
    assert httpx.get(url + "/search", params={"q": "委员工作室"}, headers={"Host": f"localhost:{port}"}).is_success
