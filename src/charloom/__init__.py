"""charloom: character-level generative models."""
__version__ = "0.1.0"
