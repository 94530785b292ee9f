"""Outbound webhooks to users' callback URLs: Standard Webhooks signatures, retries, a delivery log."""
