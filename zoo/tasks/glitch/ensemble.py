"""Fill the multi-view ensemble (:func:`~zoo.tasks.glitch.models.multiview_ensemble`) from two
trained weight sets, and write it as a run folder like one ``zoo train`` writes.

    python -m zoo.tasks.glitch.ensemble MULTIVIEW SINGLEVIEW --data MIX.h5 --out RUN [--name NAME]

MULTIVIEW and SINGLEVIEW are weight sets (a name, a ``name.vN`` tag or a run folder) or
``.weights.h5`` files of the ``multiview`` and ``singleview`` architectures. Nothing is
trained: RUN gets the filled model (``model.keras``), its ONNX export with the parity check,
the test-split metrics of ``--data`` read as mosaics and ``model.json``, whose ``extra.members``
names both sources and their sha256; ``zoo ship RUN`` installs it. Needs the train extra.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zoo.errors import ZooError
from zoo.registry import get_architecture, get_task
from zoo.tasks.glitch.models import MODEL_NAMES

ARCH = "multiview-ensemble"
#: the member architectures and the names of their sub-models inside the ensemble
MEMBERS = {arch: MODEL_NAMES[arch] for arch in ("multiview", "singleview")}


def fill(task: str, sources: dict[str, str]) -> tuple[Any, dict[str, dict[str, Any]]]:
    """The ensemble model with each member's weights loaded from ``sources`` ({arch: source}),
    and the record of where they came from (:func:`zoo.training.initial_weights`; for a weight
    set or run folder also its command and data source, so the ensemble's metadata says how
    each member was made)."""
    from zoo.errors import WeightsError
    from zoo.training import create_model, initial_weights
    from zoo.weights import KERAS_WEIGHTS_SUFFIX, resolve

    model = create_model(task, ARCH)
    members: dict[str, dict[str, Any]] = {}
    for arch, layer in MEMBERS.items():
        path, record = initial_weights(task, arch, sources[arch])
        try:
            model.get_layer(layer).load_weights(str(path))
        except ValueError:  # Keras: the file's layers do not match this architecture's
            raise WeightsError(f"{path}: not weights of the {arch!r} architecture") from None
        if not sources[arch].endswith(KERAS_WEIGHTS_SUFFIX):
            meta = resolve(task, sources[arch]).meta
            record = {**record, "command": meta.command, "data_source": meta.data_source}
        members[arch] = record
    return model, members


def run(task_name: str, multiview: str, singleview: str, data: str, out: str | Path, *,
        name: str | None = None, command: str = "", force: bool = False) -> Any:
    """Fill the ensemble, measure it on the test split of ``data`` and write the run folder
    ``out``. Returns :class:`zoo.training.RunResult`."""
    from zoo.overrides import check_recipe
    from zoo.run_folder import RunFolder
    from zoo.training import finish_run

    task = get_task(task_name)
    spec = get_architecture(task_name, ARCH)
    recipe = check_recipe(task, spec, {})
    options = task.data_options_for(spec.name)
    sources = {"multiview": multiview, "singleview": singleview}
    settings = {"task": task.name, "arch": spec.name, "members": sources, "data": data,
                "data_options": options}
    with RunFolder(out, settings, force) as folder:
        model, members = fill(task.name, sources)
        dataset = task.load_data(data, recipe.seed, **options)
        return finish_run(task, spec.name, model, dataset, recipe, folder.path,
                          name or f"{task.name}-{spec.name}", command, {}, dict(spec.defaults),
                          {"extra": {"members": members}})


def main(argv: Sequence[str] | None = None) -> None:
    import sys

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("multiview", help="multi-view weight set, run folder or .weights.h5")
    parser.add_argument("singleview", help="single-view weight set, run folder or .weights.h5")
    parser.add_argument("--data", required=True, help="HDF5 whose test split is measured")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--name", default=None)
    parser.add_argument("--task", default="glitch")
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    command = shlex.join(["python", "-m", "zoo.tasks.glitch.ensemble", *argv])
    try:
        result = run(args.task, args.multiview, args.singleview, args.data, args.out,
                     name=args.name, command=command, force=args.force)
    except ZooError as exc:  # a bad member or data file: one line, as the CLI says it
        raise SystemExit(f"error: {exc}") from None
    print(f"wrote {result.out}: accuracy {result.metrics.get('accuracy', float('nan')):.3f} "
          f"on {result.metrics.get('n')} test samples")


if __name__ == "__main__":
    main()
