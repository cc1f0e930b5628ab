"""What one four-duration glitch event costs the model: ONNX files that read the 280x340 mosaic
(``glitch-multiview`` and its int8 twin by default, or any given), timed interleaved on
batches of mosaics, as ms per event, GFLOP/s and the fraction of this machine's float32
matmul peak (:mod:`zoo.peak`).

    python benchmarks/glitch_events.py
    python benchmarks/glitch_events.py OLD.onnx zoo/pretrained/glitch/glitch-multiview.onnx --json out.json

The mosaic count is the model's arithmetic; what a user waits for also holds decoding the
event's four files (docs/benchmarks.md, the file path).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = [ROOT / "zoo" / "pretrained" / "glitch" / f"glitch-multiview{s}.onnx"
           for s in ("", "-int8")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", type=Path, default=SHIPPED)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--min-time", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    from zoo.flops import count_flops
    from zoo.peak import measure_peak
    from zoo.predictor import make_session

    x = np.random.default_rng(0).random((args.batch_size, 280, 340, 1), dtype=np.float32) / 2
    sessions = {str(p): make_session(p) for p in args.models}  # int8: optimizers per metadata
    flops = {str(p): count_flops(p)["flops"] for p in args.models}
    seconds: dict[str, list[float]] = {name: [] for name in sessions}
    for _ in range(args.rounds):
        for name, session in sessions.items():
            session.run(None, {"image": x})
            start, runs = time.perf_counter(), 0
            while time.perf_counter() - start < args.min_time:
                session.run(None, {"image": x})
                runs += 1
            seconds[name].append((time.perf_counter() - start) / (runs * args.batch_size))
    peak = measure_peak()
    rows = {}
    for name, times in seconds.items():
        per_event = float(np.median(times))
        rate = flops[name] / per_event / 1e9
        rows[name] = {"ms_per_event": round(per_event * 1e3, 3),
                      "mflop_per_event": round(flops[name] / 1e6, 1),
                      "gflops": round(rate, 1), "of_peak": round(rate / peak.gflops, 3)}
        print(f"{name}: {rows[name]['ms_per_event']:.2f} ms/event, "
              f"{rows[name]['mflop_per_event']:.0f} MFLOP/event (float32 count), "
              f"{rate:.0f} GFLOP/s = {rate / peak.gflops:.2f} of the {peak.gflops:.0f} GFLOP/s peak")
    if args.json:
        args.json.write_text(json.dumps({"batch_size": args.batch_size, "rounds": args.rounds,
                                         "peak": peak.gflops, "models": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
