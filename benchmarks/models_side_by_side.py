"""What one sample costs each of several ONNX models that read the same input, side by side:
the files are timed interleaved on one batch by :func:`zoo.throughput.interleaved` (as ``zoo
bench`` times), as ms per sample, GFLOP/s and the fraction of this machine's float32 matmul
peak timed in the same rounds. The default compares ``glitch-multiview`` with its int8 twin
(a sample is one four-duration event, the 280x340 mosaic).

    python benchmarks/models_side_by_side.py
    python benchmarks/models_side_by_side.py OLD.onnx NEW.onnx --json out.json

The batch is random numbers in the first model's input shape: the count is the models'
arithmetic; what a user waits for also holds decoding the files (docs/benchmarks.md, the file
path).
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
    from zoo.throughput import interleaved

    # int8 models: make_session leaves out the optimizers their metadata names
    sessions = {str(p): make_session(p) for p in args.models}
    rng = np.random.default_rng(0)
    batch = {i.name: rng.random((args.batch_size, *i.shape[1:]), dtype=np.float32) / 2
             for i in next(iter(sessions.values())).get_inputs()}
    runners = {name: partial(_run, session) for name, session in sessions.items()}
    flops = {str(p): count_flops(p)["flops"] for p in args.models}
    result = interleaved(runners, {args.batch_size: batch}, args.min_time, args.rounds,
                         flops=flops)
    rows = {}
    for row in result.rows:
        rows[row.runtime] = {"ms_per_sample": round(1e3 / row.images_per_s, 3),
                             "mflop_per_sample": round(flops[row.runtime] / 1e6, 1),
                             "gflops": round(row.gflops or 0.0, 1),
                             "of_peak": round(row.peak_fraction or 0.0, 3)}
        print(f"{row.runtime}: {rows[row.runtime]['ms_per_sample']:.3f} ms/sample (median batch), "
              f"{flops[row.runtime] / 1e6:.0f} MFLOP/sample (float32 count), {row.gflops:.0f} "
              f"GFLOP/s at the best batch = {row.peak_fraction:.2f} of the "
              f"{result.peak_gflops:.0f} GFLOP/s peak")
    if args.json:
        args.json.write_text(json.dumps({"batch_size": args.batch_size, "rounds": args.rounds,
                                         "peak": result.peak_gflops, "models": rows},
                                        indent=1) + "\n")


if __name__ == "__main__":
    main()
