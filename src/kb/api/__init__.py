"""Services other systems call: an HTTP API (`kb api`, FastAPI) and an MCP server for assistants
(`kb mcp`), both thin shells over one read-side service (`service`)."""
