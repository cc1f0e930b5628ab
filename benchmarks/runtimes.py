"""onnxruntime fp32 / int8 vs Keras predict / call on every shipped task's reference weights.

Each model is measured by ``zoo bench`` in its own process (runtimes interleaved, the float32
matmul peak measured in the same rounds); the JSON records land in benchmarks/results/ and
a summary against the issue's targets is printed.

    python benchmarks/runtimes.py
    python benchmarks/runtimes.py --models glitch:deep-cnn --min-time 4 --rounds 6

A model is TASK:ARCH (an architecture; shipped weights of that architecture when they
exist, else random weights, which run at the same speed) or TASK@WEIGHTS (a shipped name or
a run folder). glitch-chirp's shipped weights are seed 000's deep CNN.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODELS = ("glitch-chirp@glitch-chirp,glitch:singleview,digits@digits-cnn,"
                  "jet-quench@jet-quench-inception,cluster-mass@cluster-mass-cnn")
TARGETS = {"fp32_vs_predict_256": 2.5, "fp32_vs_predict_1": 10.0, "peak_fraction_256": 0.80,
           "int8_vs_fp32": 1.8, "int8_loss": 0.5}


def bench(model: str, args: argparse.Namespace) -> dict:
    task, sep, what = model.partition("@" if "@" in model else ":")
    flag = "--weights" if sep == "@" else "--arch"
    out = args.out / f"{task}-{Path(what).name}.json"
    zoo_args = ["bench", task, flag, what, "--batch-sizes", args.batch_sizes, "--min-time",
                str(args.min_time), "--rounds", str(args.rounds), "--json", str(out)]
    cmd = [sys.executable, "-c", "import sys; sys.argv[0] = 'zoo'; from zoo.cli.app import main; "
           "main()", *zoo_args]
    print("$ zoo " + " ".join(zoo_args), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT)
    return json.loads(out.read_text())


def summary(record: dict) -> dict:
    rows = {(r["runtime"], r["batch_size"]): r for r in record["rows"]}
    sizes = sorted({b for _, b in rows})

    def ratio(a: str, b: str, bs: int) -> float | None:
        if (a, bs) in rows and (b, bs) in rows:
            return rows[a, bs]["images_per_s"] / rows[b, bs]["images_per_s"]
        return None

    big, small = max(sizes), min(sizes)
    fp32 = "onnxruntime fp32"
    out = {
        "model": record["weights"],
        f"fp32_vs_predict_{big}": ratio(fp32, "keras predict", big),
        f"fp32_vs_predict_{small}": ratio(fp32, "keras predict", small),
        f"peak_fraction_{big}": rows.get((fp32, big), {}).get("peak_fraction"),
        "int8_vs_fp32": {bs: ratio("onnxruntime int8", fp32, bs) for bs in sizes},
        "int8_loss": (record.get("int8_accuracy") or {}).get("loss"),
        "int8_loss_unit": (record.get("int8_accuracy") or {}).get("loss_unit"),
        "peak_gflops": record.get("peak_gflops"),
        "loadavg": record["machine"]["loadavg"],
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=DEFAULT_MODELS)
    parser.add_argument("--batch-sizes", default="1,8,64,256")
    parser.add_argument("--min-time", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results = [summary(bench(m, args)) for m in args.models.split(",")]
    print(json.dumps({"targets": TARGETS, "measured": results}, indent=2))


if __name__ == "__main__":
    main()
