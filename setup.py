"""Package layout: the library ``zoo/`` plus two top-level folders installed inside it.

``cli/`` (the Typer app) installs as ``zoo.cli`` and ``weights/`` (shipped ONNX weights and
their metadata) as ``zoo.pretrained``; everything else is declared in pyproject.toml.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["zoo", "zoo.*"]), "zoo.cli", "zoo.pretrained"],
    package_dir={"zoo.cli": "cli", "zoo.pretrained": "weights"},
    package_data={"zoo.pretrained": ["*/*.onnx", "*/*.json", "*/*.md"]},
)
