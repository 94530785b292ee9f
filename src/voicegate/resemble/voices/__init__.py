"""Voices of one's own: cloning, recordings, the isolated catalogue and monthly voice billing."""
