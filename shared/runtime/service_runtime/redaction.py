"""Credentials out of the logs: a query parameter named like one is logged as `name=***`.

uvicorn logs every WebSocket handshake with its query string (with the access log on, every
request's too) and httpx every URL it requests, so chat's `?token=<JWT>` would be written in full,
by chat and by the gateway in front of it. `serving.log_config()` puts `CredentialRedactor` on
those loggers, so the value is gone before any handler sees the record.
"""

import logging
import re
from collections.abc import Mapping
from urllib.parse import unquote_plus

# A query parameter's value is a credential when its name (decoded, in any case, with or without
# `_`, `-`, `.` between words) holds one of these words: chat's `token`, OAuth 2's `access_token`
# (RFC 6750 puts it in the query) and `refresh_token`, `client_secret`, `password`, `api_key` and
# `apiKey`, signed URLs' `X-Amz-Signature` and `X-Amz-Security-Token`, a JWT under any name...
# Wide on purpose: a name matched wrongly costs one value in a log line, one missed leaks a key.
CREDENTIAL_WORDS = ("token", "secret", "passw", "apikey", "signature", "credential", "jwt", "privatekey")
# ...or is one of these short names, too short to look for inside others ("key" is in "monkey",
# "auth" in "author"): Google's and others' `key=`, `sig`, `pwd`, `auth`, a session id. Not
# `code`: an OAuth authorization code reaches only a client's redirect, which no service here is,
# and the name means much else.
CREDENTIAL_NAMES = frozenset({"key", "sig", "pwd", "pass", "auth", "authorization", "session", "sessionid"})
# Loggers that write URLs: uvicorn's handshakes and errors, its access log, httpx's requests.
REDACTED_LOGGERS = ("uvicorn.error", "uvicorn.access", "httpx")
REDACTED = "***"
_PARAMETER = re.compile(r"(?<=[?&;])([^=&;#\s?]+)=([^&;#\s]+)")


def is_credential(name: str) -> bool:
    """Whether a query parameter called `name` (as written in the URL) carries a credential."""
    compact = re.sub(r"[^a-z0-9]", "", unquote_plus(name).lower())
    return compact in CREDENTIAL_NAMES or any(word in compact for word in CREDENTIAL_WORDS)


def redact_credentials(text: str) -> str:
    """`text` with the value of every credential query parameter in it replaced by `***`."""
    if "=" not in text:
        return text
    return _PARAMETER.sub(lambda m: f"{m[1]}={REDACTED}" if is_credential(m[1]) else m[0], text)


class CredentialRedactor(logging.Filter):
    """Redacts a record's message and arguments in place, before any handler formats it.

    The arguments keep their places (uvicorn's access formatter reads them one by one); one that
    is not a string (httpx logs an `httpx.URL`) becomes its redacted text only if it held a credential.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_credentials(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(arg) for arg in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {key: _redacted(arg) for key, arg in record.args.items()}
        return True


def _redacted(arg: object) -> object:
    if isinstance(arg, int | float):
        return arg
    text = arg if isinstance(arg, str) else str(arg)
    redacted = redact_credentials(text)
    return arg if redacted == text else redacted


REDACTOR = CredentialRedactor()


def the_redactor() -> CredentialRedactor:
    """One instance for every set-up: a logger set up again (a test's second server) keeps one."""
    return REDACTOR
