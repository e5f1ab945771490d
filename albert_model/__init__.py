"""albert_model: the ALBERT network in PyTorch (see issue #3; filled in by the model work)."""
