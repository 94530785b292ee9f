"""The web console: server-rendered pages over the same services the JSON API uses."""
