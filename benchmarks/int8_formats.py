"""Which int8 graph runs faster here: QOperator (QLinearConv) or QDQ (Q/DQ pairs that
onnxruntime fuses), each with the image-reading convolution kept float32 (zoo's default) or
quantized too ("all-int8")? All are quantized from the same fp32 export with the same
calibration samples and timed interleaved with fp32.

    python benchmarks/int8_formats.py                 # glitch deep-cnn and singleview
    python benchmarks/int8_formats.py --task digits --archs cnn
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", default="glitch")
    parser.add_argument("--archs", default="deep-cnn,singleview")
    parser.add_argument("--batch-sizes", default="1,8,64")
    parser.add_argument("--min-time", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    from zoo.int8 import FORMATS, quantize_int8
    from zoo.io.files import atomic_write_text
    from zoo.throughput import (
        Workload,
        calibration_inputs,
        interleaved,
        machine,
        onnx_runner,
        temporary_ref,
        tiled_batch,
    )

    records = []
    for arch in args.archs.split(","):
        with tempfile.TemporaryDirectory(prefix="zoo-int8-formats-") as tmp:
            work = Workload(args.task, "default", arch, True, Path(tmp))
            data = work.spec.load_data_for(work.ref.meta)
            calib = calibration_inputs(work.spec, data.train, 300)
            runners = {"fp32": onnx_runner(work.timing_ref, work.spec, "cpu")}
            for fmt in FORMATS:
                for float_image, name in ((True, fmt), (False, f"{fmt} all-int8")):
                    path = quantize_int8(work.timing_ref.onnx, Path(tmp) / f"{name}.onnx", calib,
                                         fmt, float_image_layers=float_image)
                    runners[name] = onnx_runner(temporary_ref(path, work.timing_ref.meta, name),
                                                work.spec, "cpu")
            inputs = {k: v[:256] for k, v in data.test.x.items()}
            batches = {int(b): tiled_batch(inputs, int(b)) for b in args.batch_sizes.split(",")}
            result = interleaved(runners, batches, args.min_time, args.rounds, peak=False)
        fp32 = {r.batch_size: r.images_per_s for r in result.rows if r.runtime == "fp32"}
        for row in result.rows:
            print(f"{arch:12s} {row.runtime:18s} batch {row.batch_size:4d} "
                  f"{row.images_per_s:9.1f} images/s  x{row.images_per_s / fp32[row.batch_size]:.2f}"
                  " vs fp32")
        records.append({"arch": arch, "weights": work.ref.meta.name,
                        "rows": [r.to_dict() for r in result.rows]})
    if args.json:
        atomic_write_text(args.json, json.dumps({"machine": machine(), "models": records},
                                                indent=2) + "\n")


if __name__ == "__main__":
    main()
