"""`wadesk serve | worker | migrate | seed | demo | simulate | rotate-key`: the one entry point."""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import signal
import sys
from collections.abc import Sequence

from wadesk.config import InsecureSettingsError, Settings


def _settings() -> Settings:
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings.with_generated_secrets()


def cmd_migrate(_: argparse.Namespace) -> int:
    from wadesk.db.migrate import upgrade_to_head

    settings = _settings()
    upgrade_to_head(settings.resolved_database_url)
    print("database migrated")
    return 0


async def _seed_demo(settings: Settings) -> bool:
    from wadesk.db.session import create_engine, make_sessionmaker, unit_of_work
    from wadesk.infra.runtime import keyring_from_settings
    from wadesk.ops.demo_seed import seed_demo

    engine = create_engine(settings.resolved_database_url)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            return await seed_demo(session, keyring_from_settings(settings))
    finally:
        await engine.dispose()


def cmd_seed(args: argparse.Namespace) -> int:
    if not args.demo:
        print("nothing to seed: pass --demo", file=sys.stderr)
        return 2
    created = asyncio.run(_seed_demo(_settings()))
    print("demo data loaded" if created else "demo data already present; nothing changed")
    return 0


def settle_heap() -> None:
    """Move what the process built at start (modules, the app, its routes, the ORM's mappers) out of the
    garbage collector's reach: a full collection then walks only what requests and jobs allocate, instead of
    pausing every in-flight request and send for the whole heap (the tail of webhook ingest latency; a
    worker's sends stalled 70-110 ms every 5 s while the app's modules were imported after the freeze).
    Call it once everything is imported."""
    from sqlalchemy.orm import configure_mappers

    configure_mappers()
    gc.collect()
    gc.freeze()


def _serve(settings: Settings, host: str, port: int) -> int:
    import uvicorn

    from wadesk.app import create_app

    forwarded = [p.strip() for p in settings.trusted_proxies.split(",") if p.strip()]
    app = create_app(settings)
    settle_heap()
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        proxy_headers=bool(forwarded),
        forwarded_allow_ips=forwarded or None,
        timeout_graceful_shutdown=20,
    )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    return _serve(_settings(), args.host, args.port)


def cmd_demo(args: argparse.Namespace) -> int:
    os.environ["WADESK_SIMULATOR"] = "1"
    os.environ.setdefault("WADESK_PUBLIC_URL", f"http://{args.host}:{args.port}")
    settings = _settings()
    from wadesk.db.migrate import upgrade_to_head

    upgrade_to_head(settings.resolved_database_url)
    asyncio.run(_seed_demo(settings))
    print(
        f"wadesk demo on http://{args.host}:{args.port}  (admin@demo.com / admin123, agent@demo.com / agent123)"
    )
    return _serve(settings, args.host, args.port)


def cmd_worker(args: argparse.Namespace) -> int:
    settings = _settings()
    if not settings.redis_url:
        print(
            "wadesk worker needs WADESK_REDIS_URL (embedded mode runs jobs inside wadesk serve)",
            file=sys.stderr,
        )
        return 2
    from wadesk.worker import run_worker

    settle_heap()

    code: int = asyncio.run(run_worker(settings, concurrency=args.concurrency or settings.worker_concurrency))
    return code


async def _rotate_key(settings: Settings) -> int:
    from wadesk.db.session import create_engine, make_sessionmaker, unit_of_work
    from wadesk.infra.runtime import keyring_from_settings
    from wadesk.integrations.service import reencrypt_webhook_secrets
    from wadesk.phone_numbers.service import reencrypt_credentials

    engine = create_engine(settings.resolved_database_url)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            keyring = keyring_from_settings(settings)
            credentials = await reencrypt_credentials(session, keyring)
            return credentials + await reencrypt_webhook_secrets(session, keyring)
    finally:
        await engine.dispose()


def cmd_rotate_key(_: argparse.Namespace) -> int:
    changed = asyncio.run(_rotate_key(_settings()))
    print(f"re-encrypted {changed} credential(s) under the current key")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wadesk", description="WhatsApp Business shared inbox")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    seed = commands.add_parser("seed", help="load data")
    seed.add_argument("--demo", action="store_true", help="the demo tenant (idempotent)")
    seed.set_defaults(func=cmd_seed)
    for name, func, help_text in (
        ("serve", cmd_serve, "run the HTTP app (and, without Redis, the jobs)"),
        ("demo", cmd_demo, "migrate, seed the demo and serve with the Cloud API simulator"),
    ):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--host", default="127.0.0.1")
        sub.add_argument("--port", type=int, default=8000)
        sub.set_defaults(func=func)
    worker = commands.add_parser("worker", help="run queue workers (needs WADESK_REDIS_URL)")
    worker.add_argument("--concurrency", type=int, default=None)
    worker.set_defaults(func=cmd_worker)
    commands.add_parser("rotate-key", help="re-encrypt credentials under the current key").set_defaults(
        func=cmd_rotate_key
    )
    _add_simulate(commands)
    return parser


def _add_simulate(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    simulate = commands.add_parser("simulate", help="make the simulated customer do something")
    kinds = simulate.add_subparsers(dest="kind", required=True)
    inbound = kinds.add_parser("inbound", help="send a signed inbound webhook to a running app")
    inbound.add_argument("--to-phone-number-id", required=True)
    inbound.add_argument("--from", dest="sender", required=True)
    inbound.add_argument("--name", default=None)
    inbound.add_argument(
        "--type",
        default="text",
        choices=["text", "image", "location", "reaction", "button_reply", "list_reply", "document", "audio",
                 "video", "sticker", "contacts"],
    )  # fmt: skip
    inbound.add_argument("--text", default=None)
    inbound.add_argument("--caption", default=None)
    inbound.add_argument("--latitude", type=float, default=None)
    inbound.add_argument("--longitude", type=float, default=None)
    inbound.add_argument("--emoji", default=None)
    inbound.add_argument("--react-to", default=None, help="wamid of the message reacted to")
    inbound.add_argument("--reply-to", default=None, help="wamid of the message replied to")
    inbound.add_argument("--button-id", default=None)
    inbound.add_argument("--button-title", default=None)
    inbound.add_argument(
        "--url", default=None, help="the app's webhook URL (default: WADESK_PUBLIC_URL/api/webhook)"
    )
    inbound.set_defaults(func=cmd_simulate_inbound)


def cmd_simulate_inbound(args: argparse.Namespace) -> int:
    from wadesk.whatsapp.simulator.inbound import simulate_inbound

    settings = _settings()
    url = args.url or f"{settings.public_url.rstrip('/')}/api/webhook"
    assert settings.meta_app_secret is not None
    wamid = asyncio.run(
        simulate_inbound(
            url,
            settings.meta_app_secret,
            phone_number_id=args.to_phone_number_id,
            sender=args.sender.lstrip("+"),
            name=args.name,
            type=args.type,
            text=args.text,
            caption=args.caption,
            latitude=args.latitude,
            longitude=args.longitude,
            emoji=args.emoji,
            react_to_wamid=args.react_to,
            reply_to_wamid=args.reply_to,
            button_id=args.button_id,
            button_title=args.button_title,
        )
    )
    print(wamid)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command not in {"serve", "demo", "worker"}:
        # `wadesk … | head` ends quietly. Never for servers: a client that hangs up mid-response would kill
        # the process (Python ignores SIGPIPE so sockets raise instead).
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        result: int = args.func(args)
    except InsecureSettingsError as exc:
        print(f"wadesk: {exc}", file=sys.stderr)
        return 1
    return result


if __name__ == "__main__":
    sys.exit(main())
