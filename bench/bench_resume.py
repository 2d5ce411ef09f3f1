"""The engine-resume goal row of issue 11 on its own: quicker to iterate on than bench_scale.

Run from the repository root::

    python bench/bench_resume.py [--reps 10] [--profile out.prof]

It runs the very pair ``bench_scale.py`` measures (its ``engine_loop``: ``SessionRegistry.feed``
→ next pause, journal on; its ``langgraph_loop``: ``Command(resume)`` with ``SqliteSaver``),
interleaved loop by loop in one run, and prints p50/p99 of each side and their ratio. With
``--profile`` it instead runs ``--reps`` engine loops under cProfile and writes the stats there,
to see where a resume's time goes. A measuring script, not a test.
"""

from __future__ import annotations

import argparse
import cProfile
import tempfile
from collections.abc import Sequence
from pathlib import Path

import anyio

from alc_mcp.app import SessionService
from alc_mcp.config import Config
from bench_scale import Latency, engine_loop, langgraph_loop
from common import positive


async def measure(reps: int, profile: Path | None) -> None:
    with tempfile.TemporaryDirectory(prefix="alc-bench-") as home:
        home_path = Path(home)
        langgraph = langgraph_loop(home_path / "langgraph.sqlite")
        service = SessionService.open(Config(home=home_path / "alc"))
        engine: list[float] = []
        graph: list[float] = []
        async with service.running():
            await engine_loop(service)  # warm-up
            if profile is not None:
                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(reps):
                    engine += await engine_loop(service)
                profiler.disable()
                profiler.dump_stats(profile)
            else:
                if langgraph is not None:
                    langgraph()
                for _ in range(reps):
                    engine += await engine_loop(service)
                    if langgraph is not None:
                        graph += langgraph()
    mine = Latency.of(engine)
    print(f"engine resume     p50 {mine.p50_ms:.3f} ms  p99 {mine.p99_ms:.3f} ms  ({mine.samples} samples)")
    if graph:
        theirs = Latency.of(graph)
        print(f"LangGraph resume  p50 {theirs.p50_ms:.3f} ms  p99 {theirs.p99_ms:.3f} ms")
        print(f"ratio (LangGraph / engine, p50): {theirs.p50_ms / mine.p50_ms:.1f}x")
    elif profile is None:
        print("LangGraph not installed (pip install -e '.[bench]'): engine side only")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--reps", type=positive, default=10, help="100-pause loops per side")
    parser.add_argument("--profile", type=Path, help="profile the engine loops into this file instead")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    anyio.run(measure, args.reps, args.profile)


if __name__ == "__main__":
    main()
