"""The Cloud API simulator as a process of its own, standing in for Meta in the production-mode tests and
benchmarks: workers call it as they would call graph.facebook.com, and it posts its status webhooks to an
API process. It serves the numbers given on the command line (any bearer token accepted).

`python -m bench.simulator_server --port 8002 --webhook-url http://127.0.0.1:8000/api/webhook \\
    --number 7500000001:50 [--statuses sent|all|none]` with BENCH_APP_SECRET set.
"""

from __future__ import annotations

import argparse
import os
import sys

import uvicorn

from wadesk.whatsapp.simulator import (
    SimulatedPhoneNumber,
    SimulatorConfig,
    StatusDelays,
    create_simulator_app,
)

# "none" still has to say when `sent` would go; it is scheduled past any run's end.
_STATUSES = {
    "all": StatusDelays(),
    "sent": StatusDelays(sent=0.2, delivered=None, read=None),
    "none": StatusDelays(sent=24 * 3600.0, delivered=None, read=None),
}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench.simulator_server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--webhook-url", required=True)
    parser.add_argument("--number", action="append", default=[], help="phone_number_id:messages_per_second")
    parser.add_argument("--statuses", choices=sorted(_STATUSES), default="all")
    args = parser.parse_args(argv)
    numbers = []
    for spec in args.number:
        phone_number_id, _, rate = spec.partition(":")
        numbers.append(
            SimulatedPhoneNumber(
                phone_number_id=phone_number_id,
                waba_id=f"9{phone_number_id}",
                display_phone_number=f"+{phone_number_id}",
                messages_per_second=int(rate or 80),
            )
        )
    config = SimulatorConfig(
        app_webhook_url=args.webhook_url,
        app_secret=os.environ["BENCH_APP_SECRET"],
        phone_numbers=numbers,
        status_delays=_STATUSES[args.statuses],
        public_url=f"http://127.0.0.1:{args.port}",
    )
    uvicorn.run(create_simulator_app(config), host="127.0.0.1", port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
