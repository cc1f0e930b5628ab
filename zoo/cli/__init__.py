"""The ``zoo`` command line (Typer); one small module per command, installed as ``zoo.cli``."""
