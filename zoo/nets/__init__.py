"""Keras building blocks shared by tasks (train extra; import Keras lazily inside)."""
