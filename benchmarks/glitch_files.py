"""Raw Omega-scan PNGs -> labels: zoo's streaming path against Gravity Spy's own pipeline.

The reference is what Gravity Spy's ``classify`` does per image: scikit-image ``imread``,
crop rows 66:532 / columns 105:671, ``rgb2gray``, ``rescale(0.3)`` (their
``read_grayscale``), then Keras ``model.predict`` on that one sample. zoo's path is
``Predictor.iter_predict``: decode/crop/convert/resize in reader processes (threads for
runs under 200 files), fixed-size batches into onnxruntime. Both use identical weights; the
script checks the labels agree.

    python benchmarks/glitch_files.py                    # 400 copies of the real scans
    python benchmarks/glitch_files.py --n 2000 --arch singleview --json out.json

The real scans come from ../shared/data/gravityspy (16 files); they are copied round-robin
into a temporary folder to make a directory of ``--n`` files.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCANS = ROOT.parent / "shared" / "data" / "gravityspy"
from zoo.tasks.glitch.formats import GRAVITYSPY_REFERENCE as REFERENCE_NAME  # noqa: E402
from zoo.tasks.glitch.formats import gravityspy_reference_read as gravityspy_read  # noqa: E402


def make_folder(n: int, dest: Path) -> Path:
    """``n`` copies of the real scans (round-robin, unique names) in ``dest``."""
    sources = sorted(SCANS.rglob("*.png"))
    if not sources:
        sys.exit(f"no real scans under {SCANS}")
    dest.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        src = sources[i % len(sources)]
        shutil.copyfile(src, dest / f"copy{i:06d}_{src.name}")
    return dest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=400, help="files in the generated folder")
    parser.add_argument("--arch", default="deep-cnn", help="architecture (random weights)")
    parser.add_argument("--weights", default="default", help="shipped weights instead of --arch")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2, help="alternated passes; best counts")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    from zoo.cli.bench import print_files_table
    from zoo.io.files import atomic_write_text
    from zoo.throughput import Workload, bench_files, machine

    with tempfile.TemporaryDirectory(prefix="zoo-glitch-files-") as tmp:
        folder = make_folder(args.n, Path(tmp) / "scans")
        arch = None if args.weights != "default" else args.arch
        work = Workload("glitch", args.weights, arch, True, Path(tmp))
        record = bench_files(work, folder, args.n, args.batch_size, "cpu", None, {"view": "single"},
                             reader=gravityspy_read, reference_name=REFERENCE_NAME,
                             repeats=args.repeats)
    record = {"benchmark": "glitch_files", "task": "glitch", "weights": work.ref.meta.name,
              "machine": machine(), "keras_model": work.keras_origin, **record}
    print_files_table(record)
    if args.json:
        atomic_write_text(args.json, json.dumps(record, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
