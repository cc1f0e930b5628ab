"""Task modules: each one declares a task completely and registers it on import."""
