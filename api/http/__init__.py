"""The storefront and support HTTP API (FastAPI): orders, guarded by API keys with roles."""
