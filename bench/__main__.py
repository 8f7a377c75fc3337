"""`python -m bench [name ...]`: run the benchmarks (all of them by default), each printing its figures.

A benchmark is a module of this package with `main(argv: list[str]) -> int`; the ones listed here run in this
order, and a name whose module is not there yet is reported and skipped. Options (`--keep`, ...) go to each.
"""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ["webhook_ingest", "drain", "list_queries", "campaign_pacing", "faults"]


def main(argv: list[str]) -> int:
    # Names select benchmarks; options (--keep, --reuse, ...) are passed to each of them.
    names = [arg for arg in argv if not arg.startswith("-")] or BENCHMARKS
    options = [arg for arg in argv if arg.startswith("-")]
    status = 0
    for name in names:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"bench.{name}":
                raise
            print(f"== {name}: not available", flush=True)
            continue
        print(f"== {name}", flush=True)
        code = int(module.main(options))
        status = status or code
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
