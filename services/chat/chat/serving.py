"""How chat is served: the runtime's stack (service_runtime.serving: uvicorn on uvloop and httptools,
with limits on what a client may hold), its limits read from `CHAT_*` variables."""

from service_runtime import serving

SERVICE = "chat"
ServingSettings = serving.settings_for(SERVICE)


def run(host: str, port: int) -> None:
    # An import string and a factory: the app reads its settings when uvicorn builds it.
    serving.run(f"{SERVICE}.app:create_app", SERVICE, host, port)
