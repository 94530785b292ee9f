"""Per-user erasure (GDPR): one call removes what the gateway and Resemble hold of a user, and keeps the ledger."""
