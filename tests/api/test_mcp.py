"""`kb mcp` driven by the MCP SDK's own client over stdio, as an assistant's host runs it: the five
read-only tools, each passage with its source."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest
from mcp import Client, StdioServerParameters


@pytest.fixture(scope="module")
def answers(seed_index):
    """Every call of the test in one session of one `kb mcp` process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(HF_HUB_OFFLINE="1", KB_INDEX_DIR=str(seed_index.index_dir))
    server = StdioServerParameters(command=sys.executable, args=["-m", "kb", "mcp"], env=env)

    async def session() -> dict:
        async with Client(server, read_timeout_seconds=300) as client:
            tools = await client.list_tools()
            found = await client.call_tool("search_precedents", {"query": "哪个县组织委员帮农民打造大米品牌？", "k": 3})
            first = found.structured_content["result"][0]
            practices = await client.call_tool("list_practices", {"unit": "民盟"})
            practice_id = practices.structured_content["result"][0]["practice_id"]
            return {
                "tools": sorted(tool.name for tool in tools.tools),
                "search": found.structured_content["result"],
                "passage": (await client.call_tool("get_passage", {"chunk_id": first["chunk_id"], "context": 1}))
                .structured_content["result"],
                "practices": practices.structured_content["result"],
                "practice": (await client.call_tool("get_practice", {"practice_id": practice_id})).structured_content,
                "card": (await client.call_tool("get_approach_card", {"name": "45721"})).structured_content["result"],
                "bad": await client.call_tool("get_practice", {"practice_id": "nope#1"}),
            }

    return asyncio.run(session())


def test_the_tools_are_the_read_only_five(answers):
    assert answers["tools"] == ["get_approach_card", "get_passage", "get_practice", "list_practices",
                                "search_precedents"]


def test_search_returns_passages_with_their_source(answers):
    first = answers["search"][0]
    assert first["unit"] == "五常市政协" and first["kind"] == "实践案例" and not first["weak"]
    assert first["document"] and first["doc_id"] and first["heading_path"] and "大米" in first["text"]


def test_a_passage_comes_with_its_neighbours_in_order(answers):
    passages = answers["passage"]
    assert len(passages) >= 2 and any(p["chunk_id"] == answers["search"][0]["chunk_id"] for p in passages)
    assert all(p["document"] for p in passages)


def test_practices_and_cards(answers):
    assert [p["unit"] for p in answers["practices"]] == ["民盟哈尔滨市委"]
    assert answers["practice"]["unit"] == "民盟哈尔滨市委" and "45721" in answers["practice"]["text"]
    assert answers["practice"]["similar"] and all(s["unit"] != "民盟哈尔滨市委" for s in answers["practice"]["similar"])
    card = answers["card"][0]
    assert card["name"].startswith("45721") and [p["number"] for p in card["parts"]] == [4, 5, 7, 2, 1]


def test_a_bad_id_is_a_tool_error_not_a_crash(answers):
    assert answers["bad"].is_error and "no practice" in answers["bad"].content[0].text


def test_over_http_a_rebound_name_gets_no_answer(seed_index):
    """`kb mcp --http` on every interface: a request naming another host is refused before the MCP SDK sees
    it; one by this machine's address reaches it."""
    import subprocess
    import time

    import httpx
    from support import free_port, stop

    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(HF_HUB_OFFLINE="1", KB_INDEX_DIR=str(seed_index.index_dir))
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "kb", "mcp", "--http", str(port), "--host", "0.0.0.0"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        url, deadline, answered = f"http://127.0.0.1:{port}/mcp", time.monotonic() + 120, None
        while time.monotonic() < deadline and answered is None and process.poll() is None:
            try:
                answered = httpx.post(url, json={}, headers={"Host": f"evil.example:{port}"}, timeout=5)
            except httpx.TransportError:
                time.sleep(0.3)
        assert answered is not None, process.stderr.read() if process.poll() is not None else "no answer in 120 s"
        assert answered.status_code == 403 and "allowed_hosts" in answered.text
        reached = httpx.post(url, json={}, headers={"Host": f"127.0.0.1:{port}", "Accept": "application/json"}, timeout=30)
        assert reached.status_code != 403, reached.text
    finally:
        stop(process)
