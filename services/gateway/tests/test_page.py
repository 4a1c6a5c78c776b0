"""The demo page at `/`: served whole, and every URL it uses is one the gateway proxies.

A browser drives it end to end against the real services in the repository's tests/test_browser.py.
"""

import re

from fastapi_testkit import LifespanClient


async def test_the_page_is_served_at_the_root_as_html(client: LifespanClient) -> None:
    response = await client.get("/")

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    for part in ('id="articles"', 'id="chat-log"', 'id="events"', 'id="summary"'):
        assert part in response.text


async def test_the_page_calls_only_routes_of_the_proxied_services(client: LifespanClient) -> None:
    page = (await client.get("/")).text
    paths = re.findall(r"[`\"}](/[a-z]+/(?:api|ws)/[^`\"?]*)", page)  # after a quote, or ${location.host}

    assert {path.split("/")[1] for path in paths} == {"articles", "chat", "events", "processing"}


async def test_the_page_retries_its_websocket_with_back_off_on_1006_and_1013(client: LifespanClient) -> None:
    """A handshake the gateway refuses over a cap (429, 503) reaches a browser only as close code
    1006; 1013 is "try again later". The page's own code, read as served (the browser test at the
    repository root drives the page; a refused handshake is not among its steps)."""
    page = (await client.get("/")).text
    retried = re.search(r"const RETRY_CODES = \[([\d, ]*)\];", page)
    on_close = page[page.index("current.onclose") :]

    assert retried is not None
    assert {int(code) for code in retried.group(1).split(",")} == {1006, 1013}
    assert "RETRY_CODES.includes(closed.code)" in on_close
    assert "setTimeout(() => connectRoom(room, attempt + 1), delay)" in on_close
    assert "RETRY_FIRST_MS * 2 ** attempt" in page  # each wait twice the last


async def test_the_page_is_not_in_the_api_document(client: LifespanClient) -> None:
    assert "/" not in (await client.get("/openapi.json")).json()["paths"]


async def test_the_favicon_is_answered_at_once_with_no_content(client: LifespanClient) -> None:
    """A browser asks on every page load; it was a redirect to `/favicon.ico/`, then a 404 "unknown service"."""
    response = await client.get("/favicon.ico")

    assert (response.status_code, response.content, response.headers.get("location")) == (204, b"", None)
    assert response.headers["cache-control"] == "max-age=86400"


async def test_the_pages_script_declares_each_top_level_name_once(client: LifespanClient) -> None:
    """A name declared twice with `const` or `let` stops the whole script before it runs (a
    SyntaxError): the page would show nothing live. No JavaScript engine here, so the script's
    top-level declarations are read as text; the browser test at the repository root runs it."""
    page = (await client.get("/")).text
    script = page[page.index("<script") : page.rindex("</script>")]
    names = re.findall(r"^(?:const|let) ([A-Za-z_$][\w$]*)", script, re.MULTILINE)

    assert names, "no top-level declarations found: the test no longer reads the script"
    assert sorted(name for name in set(names) if names.count(name) > 1) == []
