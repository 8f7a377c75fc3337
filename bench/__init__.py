"""wadesk benchmarks: each module measures one thing next to a baseline taken in the same run.

Run them all with `make bench` (`python -m bench`), or one with `python -m bench <name>`.
"""
