"""The rule the services' text fields share: not blank, and the pattern that documents it."""

# str.isspace()'s characters, what strip() removes, spelled out: neither JSON Schema's `\s`
# (ECMA-262) nor the fuzzer's regex `\s` means that set (the services' tests hold the list to
# str.isspace()).
BLANK = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# `not_blank` for the OpenAPI document: "contains a character that is not blank", unanchored.
# Documentation only: the validator decides, and its message stays its own.
NOT_BLANK_PATTERN = rf"[^\x00{BLANK}]"


def not_blank(value: str) -> str:
    """A pydantic `AfterValidator`: `value` unless it is empty or blank."""
    if not value.strip():
        raise ValueError("must not be blank")
    return value
