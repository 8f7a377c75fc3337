"""Where outbound webhooks may point: http(s) URLs, and in production only public addresses (SSRF guard).

A subscription URL that resolves to a private, loopback, link-local or otherwise internal address would let a
tenant make the server call its own network. Production refuses them when the webhook is created and again
before every delivery (DNS can change in between); development allows them so local receivers work.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from wadesk.errors import Unprocessable

MAX_URL_LENGTH = 2048


class TargetRefused(Unprocessable):
    code = "webhook_url_refused"


def _is_internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def check_url_shape(url: str) -> tuple[str, int]:
    """(host, port) of an absolute http(s) URL without credentials; raises 422 otherwise."""
    if len(url) > MAX_URL_LENGTH:
        raise TargetRefused(
            f"The URL is longer than {MAX_URL_LENGTH} characters.", code="invalid_webhook_url"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"'{url}' is not a valid URL.", code="invalid_webhook_url") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused(
            "The URL must be an absolute http:// or https:// URL.", code="invalid_webhook_url"
        )
    if parts.username or parts.password:
        raise TargetRefused(
            "The URL must not contain a user name or password; verify deliveries with the signature instead.",
            code="invalid_webhook_url",
        )
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise TargetRefused(
            f"The host '{host}' could not be resolved.", code="webhook_host_unresolvable"
        ) from exc
    addresses = []
    for info in infos:
        # The address is the first item of the sockaddr tuple; strip an IPv6 zone id ("fe80::1%eth0").
        raw = str(info[4][0]).split("%", 1)[0]
        addresses.append(ipaddress.ip_address(raw))
    return addresses


async def check_target(url: str, *, allow_internal: bool) -> None:
    """Refuse a URL that is malformed, or (unless `allow_internal`) reaches a non-public address."""
    host, port = check_url_shape(url)
    if allow_internal:
        return
    for address in await resolve(host, port):
        if _is_internal(address):
            raise TargetRefused(
                f"The URL resolves to {address}, a private, loopback or link-local address; webhooks may "
                "only call public addresses.",
                details={"address": str(address)},
            )
