"""Who a request is, for its limits: a known API key, else the address it came from.

Why: a limit is only as strong as the identity it counts. A key the gateway does not know is
free to invent, so an unknown key must not buy a fresh bucket (it is counted by address, like
no key at all). The address is the TCP peer's, because `X-Forwarded-For` is free to write too:
it is believed only when the peer is a configured proxy (`GATEWAY_TRUSTED_PROXIES`), and then
its right-most entry not added by a trusted proxy is the client (entries further left were
written by whoever sent the request, so they prove nothing).
"""

import hashlib
import hmac
from ipaddress import IPv4Network, IPv6Network, ip_address

from starlette.requests import HTTPConnection


def _trusted(host: str, networks: list[IPv4Network | IPv6Network]) -> bool:
    try:
        address = ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in networks)


def client_address(connection: HTTPConnection, networks: list[IPv4Network | IPv6Network]) -> str:
    """The client's address: the peer's, or from X-Forwarded-For when the peer is trusted."""
    peer = connection.client.host if connection.client else "unknown"
    if not networks or not _trusted(peer, networks):
        return peer
    hops = [hop.strip() for hop in connection.headers.get("x-forwarded-for", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            return hop
    return hops[0] if hops else peer


def known_key(api_key: str | None, api_keys: tuple[str, ...]) -> str | None:
    """`api_key` if it is one of the configured keys (compared in constant time), else None."""
    if not api_key:
        return None
    matches = [hmac.compare_digest(api_key.encode(), key.encode()) for key in api_keys]
    return api_key if any(matches) else None


def client_identity(
    connection: HTTPConnection, api_keys: tuple[str, ...], networks: list[IPv4Network | IPv6Network]
) -> str:
    """`key:<hash>` for a known API key (keys are secrets, Redis keys are not), else `ip:<address>`."""
    if key := known_key(connection.headers.get("x-api-key"), api_keys):
        return "key:" + hashlib.sha256(key.encode()).hexdigest()[:32]
    return "ip:" + client_address(connection, networks)
