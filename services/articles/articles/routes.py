"""The /api/articles resource."""

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Response, status

from articles.dependencies import CacheDep, CurrentUser, OptionalUser, SessionDep, SessionmakerDep
from articles.models import Article, Status
from articles.schemas import ArticleCreate, ArticleRead, ArticleUpdate, ErrorDetail
from articles.storage import list_published

# Ids and offsets beyond a 32-bit integer are refused with a 422; PostgreSQL would turn them
# into a driver error (a 500) instead.
MAX_INT = 2**31 - 1
ArticleId = Annotated[int, Path(ge=1, le=MAX_INT)]

router = APIRouter(prefix="/api/articles", tags=["articles"])

# What each route answers besides its success and FastAPI's 422, so the OpenAPI document lists
# every status a client can get (test_openapi.py holds each route to exactly these).
UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {
        "model": ErrorDetail,
        "description": "No token (where one is required), or a malformed, expired or wrongly signed one",
        "headers": {"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}},
    }
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorDetail, "description": "No such article, or a draft of someone else's"}
}
FORBIDDEN: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorDetail, "description": "A published article of someone else's"}
}
# Starlette's body limit answers this one itself, in plain text, before any handler of ours.
TOO_LARGE: dict[int | str, dict[str, Any]] = {
    413: {
        "description": "A body over ARTICLES_MAX_BODY_BYTES, refused before it is parsed",
        "content": {"text/plain": {"schema": {"type": "string", "example": "Content Too Large"}}},
    }
}
# FastAPI lists a security dependency as required even with auto_error=False. The read is
# public, a token only shows the caller's own drafts: `{}` in the list is OpenAPI's "or none".
# FastAPI appends openapi_extra's list to the one it generated: [{"HTTPBearer": []}, {}].
OPTIONAL_BEARER: dict[str, Any] = {"security": [{}]}


def _not_found(article_id: int) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=f"Article {article_id} not found")


def _visible(article: Article, user: OptionalUser) -> bool:
    """Published articles are public; a draft exists only for its author."""
    return article.status is Status.PUBLISHED or (user is not None and user.id == article.author_id)


@router.get("/")
async def list_articles(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> list[ArticleRead]:
    """Published articles, newest first."""
    articles = await list_published(session, limit=limit, offset=offset)
    return [ArticleRead.model_validate(article) for article in articles]


@router.post("/", status_code=status.HTTP_201_CREATED, responses=UNAUTHORIZED | TOO_LARGE)
async def create_article(body: ArticleCreate, session: SessionDep, user: CurrentUser) -> ArticleRead:
    article = Article(**body.model_dump(), author_id=user.id)
    session.add(article)
    await session.commit()
    return ArticleRead.model_validate(article)


@router.get(
    "/{article_id}", response_model=ArticleRead, responses=UNAUTHORIZED | NOT_FOUND, openapi_extra=OPTIONAL_BEARER
)
async def get_article(
    article_id: ArticleId, sessionmaker: SessionmakerDep, cache: CacheDep, user: OptionalUser
) -> Response:
    """Cache-aside: a hit costs one Redis round trip and nothing else.

    The cached bytes are the response: no session is opened (only a miss opens one), and no
    model parses and serialises them again. A miss answers with the bytes it caches, so both
    paths send the same body; `response_model` still documents it.
    """
    if (cached := await cache.get(article_id)) is not None:
        return _json(cached)
    async with sessionmaker() as session:
        article = await session.get(Article, article_id)
    if article is None or not _visible(article, user):
        raise _not_found(article_id)
    body = ArticleRead.model_validate(article).model_dump_json().encode()
    if article.status is Status.PUBLISHED:
        await cache.set(article_id, body)
    return _json(body)


def _json(body: bytes) -> Response:
    return Response(body, media_type="application/json")


async def _own_article(session: SessionDep, article_id: int, user: CurrentUser) -> Article:
    """The article if `user` wrote it: 404 if they cannot see it, 403 if they can but did not."""
    article = await session.get(Article, article_id)
    if article is None or not _visible(article, user):
        raise _not_found(article_id)
    if article.author_id != user.id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="Only the author may change this article")
    return article


@router.patch("/{article_id}", responses=UNAUTHORIZED | FORBIDDEN | NOT_FOUND | TOO_LARGE)
async def update_article(
    article_id: ArticleId, body: ArticleUpdate, session: SessionDep, cache: CacheDep, user: CurrentUser
) -> ArticleRead:
    article = await _own_article(session, article_id, user)
    for field, value in body.model_dump(exclude_unset=True).items():
        setattr(article, field, value)
    await session.commit()
    # After the commit, never before: a reader that missed the cache between an invalidation
    # and the commit would read the old row and cache it again, stale for the whole TTL
    # (test_an_update_invalidates_after_its_commit).
    await cache.invalidate(article_id)
    return ArticleRead.model_validate(article)


@router.delete("/{article_id}", status_code=status.HTTP_204_NO_CONTENT, responses=UNAUTHORIZED | FORBIDDEN | NOT_FOUND)
async def delete_article(article_id: ArticleId, session: SessionDep, cache: CacheDep, user: CurrentUser) -> Response:
    article = await _own_article(session, article_id, user)
    await session.delete(article)
    await session.commit()
    # After the commit, as in update_article: before it, a reader could re-cache the doomed row
    # (test_a_delete_invalidates_after_its_commit).
    await cache.invalidate(article_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
