"""The forbidden bodies are what they claim: Python reads them, strict JSON and UTF-8 do not."""

import json
import math

import pytest

from fastapi_testkit.bodies import NOT_UTF8, forbidden_bodies


def test_each_body_replaces_only_the_named_field_and_python_reads_it() -> None:
    bodies = forbidden_bodies({"title": "a", "content": "b"}, "content")

    assert list(bodies) == ["nan", "infinity", "minus-infinity", "overflow", "lone-surrogate", "lone-surrogate-in-text"]
    for name, raw in bodies.items():
        parsed = json.loads(raw)
        assert parsed["title"] == "a"
        value = parsed["content"]
        unencodable = isinstance(value, float) and not math.isfinite(value)
        if isinstance(value, str):
            with pytest.raises(UnicodeEncodeError):
                value.encode()
            unencodable = True
        assert unencodable, name


def test_the_not_utf8_body_is_not_utf8() -> None:
    with pytest.raises(UnicodeDecodeError):
        NOT_UTF8.decode()
