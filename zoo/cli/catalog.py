"""``zoo list`` and ``zoo info TASK``: what the zoo holds and everything about one task."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.markdown import Markdown
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from zoo.cli.common import console, friendly_errors
from zoo.registry import get_task, list_models, list_tasks
from zoo.weights import WeightSet, list_weights, origin


def where(ref: WeightSet) -> str:
    """", user" or ", user, shadows shipped" after the architecture in `zoo list`."""
    place = origin(ref.onnx, ref.meta.task, ref.meta.name)
    return "" if place == "shipped" else f", {place}"


def headline(metrics: dict[str, Any], key: str) -> str:
    value = metrics.get(key)
    return f"{key} {value:.4f}" if isinstance(value, float) else "-"


@friendly_errors
def list_command(pattern: str = typer.Argument("*", help="Glob over task names.")) -> None:
    """Tasks, their architectures and weights (shipped and the user's) with the headline metric."""
    table = Table(title="zoo", header_style="bold")
    for col in ("task", "kind", "architectures", "weights", "held-out metric", "trained on"):
        table.add_column(col, overflow="fold")
    for name in list_tasks(pattern):
        task = get_task(name)
        archs = ", ".join(list_models(task=name))
        shipped = list_weights(name)
        if not shipped:
            table.add_row(name, task.kind, archs, "recipe only", "-", "-")
        for i, ref in enumerate(shipped):
            meta = ref.meta
            origin = "simulation" if meta.trained_on_simulation else meta.data_source.get("type", "?")
            table.add_row(name if i == 0 else "", task.kind if i == 0 else "", archs if i == 0 else "",
                          f"{meta.tag} ({meta.arch}{where(ref)})",
                          headline(meta.metrics, task.headline_metric), origin)
    console.print(table)
    from zoo.registry import BROKEN

    for module, reason in BROKEN.items():
        console.print(f"[yellow]warning:[/] task module {module} failed to import: {escape(str(reason))}")


@friendly_errors
def info(task: str = typer.Argument(...), as_json: bool = typer.Option(False, "--json"),
         card: bool = typer.Option(True, "--card/--no-card", help="Show the model card.")) -> None:
    """Inputs, classes, preprocessing, architectures, recipe, weights metadata and model card."""
    from zoo.registry import get_architecture

    spec = get_task(task)
    data = spec.describe()
    data["architectures"] = {a: get_architecture(task, a).description for a in list_models(task=task)}
    data["weights"] = [
        {"tag": ref.tag, "path": str(ref.onnx), "origin": origin(ref.onnx, task, ref.meta.name),
         **{k: v for k, v in vars(ref.meta).items() if k not in ("inputs",)}}
        for ref in list_weights(task)
    ]
    data["card"] = spec.model_card()
    if as_json:
        console.print_json(json.dumps(data, default=str))
        return
    console.rule(f"[bold]{spec.name}[/] — {escape(spec.description)}")
    console.print(f"kind: {spec.kind}")
    for item in spec.inputs:
        console.print(f"input [bold]{item.name}[/] {item.shape} {item.dtype}: {escape(item.description)}")
    if spec.classes:
        console.print(escape(f"classes ({len(spec.classes)}): {', '.join(spec.classes)}"))
    console.print(f"preprocessing [bold]{spec.preprocessing}[/]: {escape(spec.preprocessing_doc)}")
    for key, text in spec.data_sources.items():
        console.print(escape(f"data [{key}]: {text}"))
    if spec.reference:
        console.print(escape(f"reference: {spec.reference}"))
    arch_table = Table("architecture", "description", title="architectures", header_style="bold")
    for name, desc in data["architectures"].items():
        arch_table.add_row(name + (" (default)" if name == spec.default_arch else ""), Text(desc))
    console.print(arch_table)
    recipe = Table("field", "value", title="default recipe", header_style="bold")
    for key, value in data["recipe"].items():
        recipe.add_row(key, Text(str(value)))
    console.print(recipe)
    for meta in data["weights"]:
        console.rule(f"weights {meta['tag']}")
        console.print(escape(f"{meta['origin']}: {meta['path']}"))
        if meta.get("hub"):
            console.print(escape(f"from the Hub: {meta['hub'].get('uri')}"))
        sim = " — trained on SIMULATED data" if meta["trained_on_simulation"] else ""
        console.print(escape(f"arch {meta['arch']}, {meta['num_params']:,} parameters{sim}"))
        console.print(escape(f"command: {meta['command']}"))
        console.print(escape(f"data: {json.dumps(meta['data_source'])}"))
        console.print(f"sha256: {meta['sha256']}")
        scalar = {k: v for k, v in meta["metrics"].items() if isinstance(v, (int, float))}
        console.print(escape(f"held-out metrics: {json.dumps(scalar)}"))
        if meta.get("baseline"):
            console.print(escape(f"baseline: {json.dumps(meta['baseline'])}"))
    if not data["weights"]:
        console.print("no shipped weights (recipe only)")
    if card and data["card"]:
        console.rule("model card")
        console.print(Markdown(data["card"]))


def register(app: typer.Typer) -> None:
    app.command("list")(list_command)
    app.command("info")(info)
