"""What one four-duration glitch event costs the model: ONNX files that read the 280x340 mosaic
(``glitch-multiview`` and its int8 twin by default, or any given), timed interleaved on
batches of mosaics by :func:`zoo.throughput.interleaved` (as ``zoo bench`` times), as ms per
event, GFLOP/s and the fraction of this machine's float32 matmul peak timed in the same rounds.

    python benchmarks/glitch_events.py
    python benchmarks/glitch_events.py OLD.onnx zoo/pretrained/glitch/glitch-multiview.onnx --json out.json

The mosaic count is the model's arithmetic; what a user waits for also holds decoding the
event's four files (docs/benchmarks.md, the file path).
"""

from __future__ import annotations

import argparse
import json
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = [ROOT / "zoo" / "pretrained" / "glitch" / f"glitch-multiview{s}.onnx"
           for s in ("", "-int8")]


def _run(session: Any, batch: dict[str, np.ndarray]) -> Any:
    return session.run(None, batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", type=Path, default=SHIPPED)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--min-time", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    from zoo.flops import count_flops
    from zoo.predictor import make_session
    from zoo.tasks.glitch.formats import MULTIVIEW_SHAPE
    from zoo.throughput import interleaved

    rng = np.random.default_rng(0)
    batch = {"image": rng.random((args.batch_size, *MULTIVIEW_SHAPE, 1), dtype=np.float32) / 2}
    # int8 models: make_session leaves out the optimizers their metadata names
    runners = {str(p): partial(_run, make_session(p)) for p in args.models}
    flops = {str(p): count_flops(p)["flops"] for p in args.models}
    result = interleaved(runners, {args.batch_size: batch}, args.min_time, args.rounds,
                         flops=flops)
    rows = {}
    for row in result.rows:
        rows[row.runtime] = {"ms_per_event": round(1e3 / row.images_per_s, 3),
                             "mflop_per_event": round(flops[row.runtime] / 1e6, 1),
                             "gflops": round(row.gflops or 0.0, 1),
                             "of_peak": round(row.peak_fraction or 0.0, 3)}
        print(f"{row.runtime}: {rows[row.runtime]['ms_per_event']:.2f} ms/event (median batch), "
              f"{flops[row.runtime] / 1e6:.0f} MFLOP/event (float32 count), {row.gflops:.0f} "
              f"GFLOP/s at the best batch = {row.peak_fraction:.2f} of the "
              f"{result.peak_gflops:.0f} GFLOP/s peak")
    if args.json:
        args.json.write_text(json.dumps({"batch_size": args.batch_size, "rounds": args.rounds,
                                         "peak": result.peak_gflops, "models": rows},
                                        indent=1) + "\n")


if __name__ == "__main__":
    main()
