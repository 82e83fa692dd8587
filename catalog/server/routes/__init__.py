"""The server's REST resources, each a thin adapter over the engine's services."""
