"""Voices: the shared account's catalogue seen per user, and the rule that says who may use which voice."""
