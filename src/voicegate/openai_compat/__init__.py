"""OpenAI-compatible audio under `/v1/` (`openai.OpenAI(base_url=".../v1")`), on top of the native services."""
