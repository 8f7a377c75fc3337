"""Outbound webhooks: tenants subscribe URLs to events; deliveries are signed, retried and logged."""
