"""`python -m gateway` (what `hatch run gateway:serve` runs). The whole system is started and
used through the gateway by the repository's tests/test_serve_all.py."""

import pytest

from gateway import __main__


def test_the_port_option_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, object]] = []
    monkeypatch.setattr("uvicorn.run", lambda *args, **kwargs: calls.append(kwargs))
    monkeypatch.setenv("PORT", "9001")

    __main__.main(["--port", "9002"])
    __main__.main([])

    assert [c["port"] for c in calls] == [9002, 9001]
    assert calls[0]["factory"] is True
