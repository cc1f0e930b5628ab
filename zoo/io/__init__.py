"""Readers for the file formats users hold; none of them imports TensorFlow."""
