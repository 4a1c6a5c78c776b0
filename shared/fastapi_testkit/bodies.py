"""JSON bodies that Python's parser accepts and JSON forbids: what a hostile client sends first.

`json.loads` reads `NaN`, `Infinity` and `1e400` (as inf), and the escape `"\\ud800"` (a lone
surrogate that no UTF-8 text, and so no database, can hold). A service must refuse each with a
422 naming the field, never echo it into a reply it cannot encode (a 500).
"""

import json
from typing import Any

# What replaces the field's JSON value, by test id.
FORBIDDEN_VALUES = {
    "nan": "NaN",
    "infinity": "Infinity",
    "minus-infinity": "-Infinity",
    "overflow": "1e400",
    "lone-surrogate": '"\\ud800"',
    "lone-surrogate-in-text": '"a\\udfffb"',
}
# Not UTF-8 at all: RFC 8259 requires it, and so does every service.
NOT_UTF8 = b'{"text": "\xff"}'


def forbidden_bodies(valid: dict[str, Any], field: str) -> dict[str, bytes]:
    """`valid` as raw JSON with `field`'s value replaced by each forbidden value, by name."""
    placeholder = json.dumps("__forbidden__")
    text = json.dumps(valid | {field: "__forbidden__"})
    return {name: text.replace(placeholder, raw).encode() for name, raw in FORBIDDEN_VALUES.items()}
