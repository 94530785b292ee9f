"""OpenAI-compatible routes under `/v1`, for `openai.OpenAI(base_url=".../v1", api_key="vg_...")`: errors in
OpenAI's shape (see `errors.py`), served by the native services."""
