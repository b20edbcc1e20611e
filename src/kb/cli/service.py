"""`kb api` (the HTTP API) and `kb mcp` (the MCP server for assistants)."""

from __future__ import annotations

import socket

import click

from kb.cli.main import fail, handle_errors, main, settings_from
from kb.cli.words import say


def _settings_with_index(ctx: click.Context):
    from kb.index.store import DB_NAME

    settings = settings_from(ctx)
    if settings.search_backend == "local" and not (settings.index_dir / DB_NAME).exists():
        fail(say("no index at {path}: run `kb index` first", path=settings.index_dir.resolve()))
    return settings


@main.command("api")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every one).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="Port; 0 takes a free one and prints it.")
@click.option("--workers", default=4, show_default=True, type=click.IntRange(1, 32),
              help="Searches served side by side (one index connection each, one model).")
@click.option("--openapi", "print_openapi", is_flag=True, help="Print the OpenAPI description and exit.")
@click.pass_context
@handle_errors
def api(ctx, host, port, workers, print_openapi):
    """Serve the HTTP API (OpenAPI at /openapi.json) until Ctrl+C."""
    import uvicorn

    from kb.api.app import create_app
    from kb.api.service import Service

    if print_openapi:
        import json

        click.echo(json.dumps(create_app(settings_from(ctx)).openapi(), ensure_ascii=False, indent=1, sort_keys=True))
        return
    settings = _settings_with_index(ctx)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it: without it a kept-alive client waits out the 40 ms delayed ACK
    # between the headers and the body of every answer.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        fail(say("cannot listen on {host}:{port}: {error}", host=host, port=port, error=exc.strerror or exc))
    bound = sock.getsockname()[1]
    click.echo(say("serving the API on http://{host}:{port}/ once the model is loaded (OpenAPI: /openapi.json)",
                   host=host, port=bound), err=True)
    app = create_app(settings, Service(settings, workers=workers))
    uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5)).run(sockets=[sock])


@main.command("mcp")
@click.option("--http", "http_port", type=click.IntRange(1, 65535), default=None,
              help="Serve streamable HTTP on this port (at /mcp) instead of stdio.")
@click.option("--host", default="127.0.0.1", show_default=True, help="With --http: the address to listen on.")
@click.pass_context
@handle_errors
def mcp(ctx, http_port, host):
    """Serve kb's search to an AI assistant over MCP (stdio unless --http). Read-only tools:
    search_precedents, get_practice, list_practices, get_approach_card, get_passage."""
    from kb.api.mcp import build_server
    from kb.api.service import Service

    settings = _settings_with_index(ctx)
    service = Service(settings, workers=2)
    try:
        service.warm()
        server = build_server(service)
        if http_port is None:
            server.run("stdio")
        else:
            import uvicorn
            from mcp.server.transport_security import TransportSecuritySettings

            from kb.office.hosts import HostRule, guard_hosts

            # kb's own host rule, as in front of the page and the API (the SDK's would allow loopback
            # names only, and no IP address of this machine when bound to every interface).
            app = server.streamable_http_app(
                transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False))
            guarded = guard_hosts(app, HostRule([*settings.allowed_hosts, host]), check_origin=True)
            click.echo(say("kb mcp: serving http://{host}:{port}/mcp", host=host, port=http_port), err=True)
            uvicorn.run(guarded, host=host, port=http_port, log_level="warning")
    finally:
        service.close()
