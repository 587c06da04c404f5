"""Prompt -> video adapters behind one interface (`Generator`)."""
from .base import Generator, available_models, derive_seed, load_generator

__all__ = ["Generator", "available_models", "derive_seed", "load_generator"]
