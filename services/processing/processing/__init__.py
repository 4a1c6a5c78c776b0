"""The processing service: FastAPI background tasks that summarise articles."""
