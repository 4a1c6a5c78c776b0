"""What routes ask for: a session per request, the cache, the caller.

Each reads what the lifespan created from `request.state`, so tests can swap any of them with
`app.dependency_overrides`.

Every dependency here is `async def`, though most await nothing: FastAPI runs a plain `def`
dependency in its thread pool, a thread hop per request that cost a cached read about a third
of its rate (bench/README.md). None of them blocks, so none needs the thread.
"""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from articles.auth import AuthenticationError, User, authenticate
from articles.cache import ArticleCache

# auto_error=False: FastAPI's own error would not carry our message; we raise the 401 ourselves.
bearer = HTTPBearer(auto_error=False)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A new session for every request. One session shared by concurrent requests breaks."""
    async with request.state.sessionmaker() as session:
        yield session


async def get_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    """For a route that needs a session only sometimes: the cached read opens one on a miss only.

    A session dependency is entered before the route runs, so a cache hit would pay for opening
    and closing a session it never uses (docs/articles.md, "What a cache hit costs"). Override this one to see or
    replace the sessions the read path opens; `get_session` serves every other route.
    """
    sessionmaker: async_sessionmaker[AsyncSession] = request.state.sessionmaker
    return sessionmaker


async def get_cache(request: Request) -> ArticleCache:
    cache: ArticleCache = request.state.cache
    return cache


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


async def get_optional_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> User | None:
    """The caller if a token was sent, None if none was; a bad token is a 401 either way."""
    if credentials is None:
        if "authorization" in request.headers:
            raise _unauthorized("Authorization header must be 'Bearer <token>'")
        return None
    try:
        settings = request.state.settings
        return authenticate(credentials.credentials, settings.jwt_secret, settings.jwt_leeway)
    except AuthenticationError as error:
        raise _unauthorized(f"Invalid token: {error}") from error


async def get_current_user(user: Annotated[User | None, Depends(get_optional_user)]) -> User:
    if user is None:
        raise _unauthorized("Not authenticated")
    return user


SessionDep = Annotated[AsyncSession, Depends(get_session)]
SessionmakerDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)]
CacheDep = Annotated[ArticleCache, Depends(get_cache)]
CurrentUser = Annotated[User, Depends(get_current_user)]
OptionalUser = Annotated[User | None, Depends(get_optional_user)]
