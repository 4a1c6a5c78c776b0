"""What routes ask for: the lifespan's objects, and the caller.

Each reads what the lifespan created from the connection's state, so tests can swap any of them
with `app.dependency_overrides`. `HTTPConnection`, not `Request`, so that WebSocket routes can
use them too.

Every dependency here is `async def`, though most await nothing: FastAPI runs a plain `def`
dependency in its thread pool, a thread hop per request that cost a cached read about a third
of its rate (bench/README.md). None of them blocks, so none needs the thread.
"""

from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.requests import HTTPConnection
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from chat.auth import AuthenticationError, User, authenticate
from chat.fanout import FanOut
from chat.groups import Groups
from chat.history_writer import HistoryWriter
from chat.settings import Settings
from chat.storage import History

# auto_error=False: FastAPI's own error would not carry our message; we raise the 401 ourselves.
bearer = HTTPBearer(auto_error=False)


async def get_settings(connection: HTTPConnection) -> Settings:
    settings: Settings = connection.state.settings
    return settings


async def get_rooms(connection: HTTPConnection) -> Groups:
    rooms: Groups = connection.state.rooms
    return rooms


async def get_inboxes(connection: HTTPConnection) -> Groups:
    inboxes: Groups = connection.state.inboxes
    return inboxes


async def get_fanout(connection: HTTPConnection) -> FanOut:
    fanout: FanOut = connection.state.fanout
    return fanout


async def get_history(connection: HTTPConnection) -> History:
    history: History = connection.state.history
    return history


async def get_history_writer(connection: HTTPConnection) -> HistoryWriter:
    history_writer: HistoryWriter = connection.state.history_writer
    return history_writer


SettingsDep = Annotated[Settings, Depends(get_settings)]
RoomsDep = Annotated[Groups, Depends(get_rooms)]
InboxesDep = Annotated[Groups, Depends(get_inboxes)]
FanOutDep = Annotated[FanOut, Depends(get_fanout)]
HistoryDep = Annotated[History, Depends(get_history)]
HistoryWriterDep = Annotated[HistoryWriter, Depends(get_history_writer)]


async def get_current_user(
    settings: SettingsDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> User:
    """The caller named by a valid `Authorization: Bearer <JWT>`; a 401 otherwise."""
    try:
        token = None if credentials is None else credentials.credentials
        return authenticate(token, settings.jwt_secret, settings.jwt_leeway)
    except AuthenticationError as error:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, detail=f"Not authenticated: {error}", headers={"WWW-Authenticate": "Bearer"}
        ) from error


CurrentUser = Annotated[User, Depends(get_current_user)]
