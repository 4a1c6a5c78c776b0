"""The articles service: async SQLAlchemy, a Redis cache and JWT auth behind FastAPI."""
