"""Speaker identities (beta): billed enrollment and search, served from the caller's own rows."""
