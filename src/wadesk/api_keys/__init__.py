"""Tenant API keys for server-to-server use: shown once, stored as SHA-256, scoped, revocable."""
