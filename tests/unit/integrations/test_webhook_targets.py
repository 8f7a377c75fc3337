"""Where outbound webhooks may point: public addresses only in production."""

from __future__ import annotations

import pytest

from wadesk.integrations.targets import TargetRefused, check_target


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://localhost/x",
        "http://10.0.0.1/x",
        "http://172.16.5.4/x",
        "http://192.168.1.1/x",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.0.1/x",  # carrier-grade NAT
        "http://[::1]/x",
        "http://[fe80::1]/x",
        "http://[fd00::1]/x",
        "http://[::ffff:10.0.0.1]/x",
        "http://0.0.0.0/x",
    ],
)
async def test_internal_addresses_are_refused(url: str) -> None:
    with pytest.raises(TargetRefused):
        await check_target(url, allow_internal=False)
    await check_target(url, allow_internal=True)


async def test_public_addresses_are_allowed() -> None:
    await check_target("https://93.184.215.14/hook", allow_internal=False)
    await check_target("http://[2606:4700:4700::1111]:8443/hook", allow_internal=False)


@pytest.mark.parametrize(
    "url", ["ftp://x.example/", "https:///nohost", "https://user:pw@x.example/", "x" * 3000]
)
async def test_malformed_urls_are_refused_everywhere(url: str) -> None:
    with pytest.raises(TargetRefused) as raised:
        await check_target(url, allow_internal=True)
    assert raised.value.code == "invalid_webhook_url"
