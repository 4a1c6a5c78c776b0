"""The HTTP baseline: a bare FastAPI `async def` endpoint returning a small dict."""

from fastapi import FastAPI


def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/item")
    async def item() -> dict[str, object]:
        return {"id": 1, "title": "A small dict", "status": "published"}

    return app
