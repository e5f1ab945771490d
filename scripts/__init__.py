"""The repository's maintenance commands, run as modules from its root: ``python -m scripts.build_pretrain_corpus``,
``python -m scripts.export_default_model``; the shell scripts beside them call those."""
