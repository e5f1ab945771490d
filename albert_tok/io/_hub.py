"""Hugging Face repo ids where a directory is taken: the one resolver both packages use.

``resolve_directory("albert/albert-base-v2")`` gives a local directory for a name: an existing local path as it
is, otherwise a repo id (``NAME`` or ``OWNER/NAME``, huggingface_hub's rules) resolved to a snapshot of the
standard Hugging Face cache (``HF_HUB_CACHE``, by default ``~/.cache/huggingface/hub``), the directory layout
transformers reads and writes too. The cache comes first: a snapshot that already holds what the loader needs
is used without asking the network. Otherwise the files the loader needs (and only those, see
:data:`HUB_FILES`) are downloaded with ``huggingface_hub.snapshot_download``, unless downloads are off
(``HF_HUB_OFFLINE=1`` or ``local_files_only=True``: cache only). The legacy ids (``albert-base-v2``, ...) are
read as the hub's redirects read them (:data:`LEGACY_IDS`).

What a loader then reads stays inside the snapshot: every entry of the snapshot must resolve, links followed,
inside its own repository's cache folder (the cache's snapshot files are links into ``../../blobs/``), and
nothing else is allowed. A download cut off halfway leaves its file under ``blobs/`` as ``.incomplete``, never
in the snapshot, so it is never loaded (the next download resumes it). huggingface_hub is an optional
dependency (``pip install "albert[hub]"``), imported only when an id is resolved: loading a directory never
needs it.
"""

from __future__ import annotations

import fnmatch
import importlib
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import unquote

from albert_tok.io import atomic
from albert_tok.io._regular import load_json

__all__ = [
    "HUB_FILES",
    "HUB_INSTALL",
    "LEGACY_IDS",
    "hub_snapshot",
    "is_repo_id",
    "resolve_directory",
]

HUB_INSTALL = 'pip install "albert[hub]"'
"""The command that installs what loading by repo id needs (huggingface_hub)."""

LEGACY_IDS: dict[str, str] = {
    f"albert-{size}-v{version}": f"albert/albert-{size}-v{version}"
    for size in ("base", "large", "xlarge", "xxlarge")
    for version in (1, 2)
}
"""The ids the original ALBERT checkpoints had before the hub moved them into the ``albert`` organisation,
and the id each one redirects to."""

CONFIG = "config.json"
_WEIGHTS = (  # (file, extension of its shards), in the order the loaders read them
    ("model.safetensors", None),
    ("model.safetensors.index.json", ".safetensors"),
    ("pytorch_model.bin", None),
    ("pytorch_model.bin.index.json", ".bin"),
)
_TOKENIZER = ("spiece.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json")
_CARD = "README.md"
HUB_FILES: dict[str, tuple[str, ...]] = {
    "config": (CONFIG,),
    "tokenizer": _TOKENIZER,
    "model": (CONFIG, *(name for name, _ in _WEIGHTS), "*.safetensors", "*.bin", *_TOKENIZER, _CARD),
}
"""What each kind of load downloads (``fnmatch`` patterns, relative to the repository or its subfolder). A
model brings its tokenizer files and card along, so that a pipeline on an id downloads once; of the weights,
only the format the loader reads first is fetched when the repository lists its files (safetensors before
``pytorch_model.bin``; shards are the files of that format beside the index)."""

# huggingface_hub's REPO_ID_REGEX and rules (utils/_validators.py), kept here so that a path that is no id is
# told apart without importing huggingface_hub.
_REPO_ID = re.compile(r"^(\b[\w\-.]+\b/)?\b[\w\-.]{1,96}\b$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_TRUE = ("1", "ON", "YES", "TRUE")
_T = TypeVar("_T")


def is_repo_id(name: str) -> bool:
    """Whether ``name`` is a valid Hugging Face repo id by huggingface_hub's rules.

    Args:
        name: The string to check.

    Returns:
        True for ``NAME`` or ``OWNER/NAME`` made of letters, digits, ``-``, ``_`` and ``.``, starting and ending
        with a letter or digit, each part at most 96 characters, without ``--`` or ``..`` and not ending in
        ``.git``; False for anything else (an absolute path, ``./dir``, ``a/b/c``, a non-string).
    """
    return (
        isinstance(name, str)
        and name.count("/") <= 1
        and _REPO_ID.match(name) is not None
        and "--" not in name
        and ".." not in name
        and not name.endswith(".git")
    )


def _within(path: str, root: str) -> bool:
    return os.path.commonpath([path, root]) == root


def hub_snapshot(directory: str | os.PathLike[str]) -> tuple[str, str, str] | None:
    """Whether ``directory`` lies in a snapshot of the Hugging Face cache, and which.

    A snapshot is ``<cache>/models--OWNER--NAME/snapshots/<commit>``; it is shared by every program that reads
    the cache and rewritten by downloads, so nothing of ours is written into it (the ONNX export cache of a
    snapshot goes elsewhere, keyed by these three parts).

    Args:
        directory: A directory path; links are resolved first.

    Returns:
        ``(repository folder, commit, subfolder)``: the resolved ``models--OWNER--NAME`` folder, the snapshot's
        commit folder name and the path of ``directory`` below the snapshot (``""`` for the snapshot itself);
        None when ``directory`` is not inside a snapshot.
    """
    real = os.path.realpath(os.fspath(directory))
    parts = real.split(os.sep)
    for i in range(len(parts) - 2, 0, -1):
        if parts[i] == "snapshots" and parts[i - 1].startswith("models--") and i + 1 < len(parts):
            repo = os.sep.join(parts[:i]) or os.sep
            return repo, parts[i + 1], os.sep.join(parts[i + 2 :])
    return None


def _import_hub() -> tuple[Any, Any]:
    """huggingface_hub and its ``constants`` module (a submodule its lazy ``__init__`` does not hand out as an
    attribute until something imports it)."""
    try:
        import huggingface_hub

        constants = importlib.import_module("huggingface_hub.constants")
    except ImportError as exc:
        raise ImportError(
            f"loading by Hugging Face repo id needs huggingface_hub: {HUB_INSTALL} (or pass a local directory)"
        ) from exc
    return huggingface_hub, constants


def _offline_reason(constants: Any, local_files_only: bool) -> str | None:
    """Why downloads are off, or None when they are allowed. The environment is read now as well as at
    huggingface_hub's import, so ``HF_HUB_OFFLINE=1`` set later is honoured too."""
    if local_files_only:
        return "local_files_only=True"
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(name, "").strip().upper() in _TRUE:
            return f"{name}={os.environ[name]}"
    if getattr(constants, "HF_HUB_OFFLINE", False):
        return "HF_HUB_OFFLINE is set"
    return None


def _check_subfolder(subfolder: Any) -> str:
    if not isinstance(subfolder, str):
        raise TypeError(f"subfolder must be a str, got {type(subfolder).__name__}")
    if not subfolder:
        return ""
    normal = os.path.normpath(subfolder.replace("\\", "/"))
    if os.path.isabs(subfolder) or normal == ".." or normal.startswith(".." + os.sep) or "\x00" in subfolder:
        raise ValueError(f"subfolder must be a relative path inside the repository or directory, got {subfolder!r}")
    return "" if normal == "." else normal


def _storage(cache: str, repo_id: str) -> str:
    return os.path.join(cache, "models--" + repo_id.replace("/", "--"))


def _cached_snapshot(cache: str, repo_id: str, revision: str) -> str | None:
    """The snapshot folder the cache holds for ``revision`` (a commit, or a branch or tag recorded in
    ``refs/``), or None."""
    storage = _storage(cache, repo_id)
    commit = revision if _COMMIT.match(revision) else None
    if commit is None:
        ref = os.path.join(storage, "refs", revision)
        if not _within(os.path.normpath(ref), os.path.normpath(os.path.join(storage, "refs"))):
            return None
        try:
            with open(ref, encoding="utf-8") as fh:
                commit = fh.read(100).strip()
        except (OSError, ValueError):  # absent, unreadable, not UTF-8, or a NUL in the revision
            return None
        if not _COMMIT.match(commit):
            return None
    snapshot = os.path.join(storage, "snapshots", commit)
    return snapshot if os.path.isdir(snapshot) else None


def _index_shards(index: str) -> list[str]:
    """The shard names an index file names (those a loader could read: relative, inside); [] when it cannot
    be read (the loader then says what is wrong with it)."""
    try:
        with open(index, encoding="utf-8") as fh:
            data = load_json(fh.read(), index)
    except (OSError, ValueError):
        return []
    weight_map = data.get("weight_map") if isinstance(data, dict) else None
    if not isinstance(weight_map, dict):
        return []
    names = {v for v in weight_map.values() if isinstance(v, str) and v}
    return sorted(n for n in names if not os.path.isabs(n) and ".." not in n.replace("\\", "/").split("/"))


def _missing(directory: str, what: str) -> list[str]:
    """What a load of ``what`` needs that ``directory`` lacks (empty when it has it all)."""

    def has(name: str) -> bool:
        return os.path.isfile(os.path.join(directory, name))

    if what == "tokenizer":
        return [] if has("spiece.model") or has("tokenizer.json") else ["spiece.model or tokenizer.json"]
    missing = [] if has(CONFIG) else [CONFIG]
    if what == "config":
        return missing
    for name, shard_ext in _WEIGHTS:
        if has(name):
            if shard_ext is not None:
                missing += [s for s in _index_shards(os.path.join(directory, name)) if not has(s)]
            return missing
    return [*missing, "a weight file (" + ", ".join(name for name, _ in _WEIGHTS) + ")"]


def _check_links(snapshot: str, storage: str, repo_id: str) -> None:
    """Every entry of ``snapshot`` must resolve inside the repository's own cache folder ``storage``."""
    root = os.path.realpath(storage)
    if not _within(os.path.realpath(snapshot), root):
        raise OSError(f"the cached snapshot {snapshot} of {repo_id!r} resolves outside its cache folder {storage}")
    for folder, dirs, files in os.walk(snapshot):
        for name in (*dirs, *files):
            path = os.path.join(folder, name)
            real = os.path.realpath(path)
            if not _within(real, root):
                raise OSError(
                    f"{path} in the cached snapshot of {repo_id!r} links to {real}, outside the repository's "
                    f"cache folder {storage}; refusing to load from it (remove the snapshot and download again)"
                )


def _escape(name: str) -> str:
    """``name`` as an fnmatch pattern matching only itself."""
    return re.sub(r"([*?\[])", r"[\1]", name)


def _chosen_files(listing: Iterable[str], what: str, subfolder: str) -> list[str] | None:
    """The files of the repository's listing to download for ``what`` (exact names), or None when the
    listing is empty (the patterns are then used as they are)."""
    prefix = f"{subfolder}/" if subfolder else ""
    names = sorted({f[len(prefix) :] for f in listing if f.startswith(prefix) and "/" not in f[len(prefix) :]})
    if not names:
        return None
    wanted = {n for n in names for p in HUB_FILES[what] if fnmatch.fnmatchcase(n, p) and not _is_weight(n)}
    if what == "model":
        for name, shard_ext in _WEIGHTS:
            if name in names:
                wanted.add(name)
                if shard_ext is not None:
                    wanted.update(n for n in names if n.endswith(shard_ext))
                break
    return sorted(prefix + n for n in wanted)


def _is_weight(name: str) -> bool:
    return name.endswith((".safetensors", ".bin")) or name in {n for n, _ in _WEIGHTS}


def resolve_directory(
    name_or_path: str | os.PathLike[str],
    *,
    what: str = "model",
    revision: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    token: str | bool | None = None,
    local_files_only: bool = False,
    subfolder: str = "",
    force_download: bool = False,
) -> str:
    """The local directory for a directory path or a Hugging Face repo id, downloading only when allowed.

    An existing path (a directory, or a file a caller may accept) is returned as it is, joined with
    ``subfolder``; the hub keywords are then not used, as transformers ignores them for a directory. A string
    that does not exist but is a valid repo id is resolved in the Hugging Face cache: the snapshot for
    ``revision`` is used as it is when it holds what a load of ``what`` needs (``config.json``; weights, every
    shard an index names included; ``spiece.model`` or ``tokenizer.json``), with no network access. Otherwise
    the repository's listing is read and the files of :data:`HUB_FILES` downloaded (one weight format: the one
    the loader reads first), unless downloads are off: ``local_files_only=True``, or ``HF_HUB_OFFLINE`` (or
    ``TRANSFORMERS_OFFLINE``) set to ``1``. A branch or tag found in the cache is not asked about again: pass
    ``force_download=True`` (or a commit as ``revision``) to pick up a newer commit of a branch.

    Every entry of the snapshot must resolve inside its repository's cache folder (the snapshot's links into
    ``blobs/`` do; a link anywhere else is refused), so loaders read nothing else.

    Args:
        name_or_path: A local path (a ``str`` or ``os.PathLike``; a path object is always taken as a path), or
            a repo id, ``NAME`` or ``OWNER/NAME`` (``"albert/albert-base-v2"``). A legacy id of
            :data:`LEGACY_IDS` (``"albert-base-v2"``) is read as the id it redirects to; a cache written under
            the legacy name is looked in too.
        what: What the caller loads, which decides the files needed and downloaded: ``"model"`` (config,
            weights, tokenizer files and card), ``"tokenizer"`` or ``"config"``. Messages name it too.
        revision: A branch, tag or commit of the repository; None is ``"main"``.
        cache_dir: The Hugging Face cache to read and download into; None is huggingface_hub's
            (``HF_HUB_CACHE``, else ``HF_HOME/hub``, by default ``~/.cache/huggingface/hub``).
        token: The Hugging Face token for private or gated repositories: a string, True (the one saved by
            ``huggingface-cli login``), False (none), or None (huggingface_hub's default: ``HF_TOKEN``, else the
            saved one).
        local_files_only: True uses the cache only, never the network, as ``HF_HUB_OFFLINE=1`` does.
        subfolder: A folder inside the repository (or the directory) holding the files; ``""`` for the top.
        force_download: True downloads the files again even when the cache has them (and asks the hub which
            commit a branch is at); not allowed while downloads are off.

    Returns:
        The directory: ``name_or_path`` (joined with ``subfolder``) for a local path, else the snapshot folder
        in the cache (joined with ``subfolder``), whose files are the cache's links into ``blobs/``.

    Raises:
        FileNotFoundError: ``name_or_path`` does not exist and is not a valid repo id either (an absolute path,
            ``./dir``, ``a/b/c``); the message says both.
        ImportError: ``name_or_path`` is a repo id and huggingface_hub is not installed; the message gives
            ``pip install "albert[hub]"``.
        OSError: The id is not in the cache (or its snapshot lacks a file) while downloads are off; the message
            names the id, the cache folder searched and the two ways out (allow the download, or pass a
            directory). Also: the repository, the revision or a file does not exist on the hub (or is private
            or gated without a token that has access), the hub cannot be reached, a download failed or was
            cut off, or the snapshot holds a link out of its cache folder.
        TypeError: ``name_or_path`` is neither a ``str`` nor an ``os.PathLike`` of one, or ``subfolder`` is not
            a ``str``.
        ValueError: An unknown ``what``, a ``subfolder`` that is absolute or leads out with ``..``, or
            ``force_download=True`` while downloads are off.
    """
    if what not in HUB_FILES:
        raise ValueError(f"what must be one of {', '.join(map(repr, HUB_FILES))}, got {what!r}")
    folder = _check_subfolder(subfolder)
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise TypeError(f"expected a directory path or a repo id (a str), got {type(name_or_path).__name__}")
    path = os.fspath(name_or_path)
    if not isinstance(path, str):
        raise TypeError(f"expected a directory path or a repo id (a str), got {type(path).__name__}")
    as_path = isinstance(name_or_path, os.PathLike) or not is_repo_id(path)
    if not os.path.lexists(path):
        atomic.recover(path)  # a save killed halfway may bring the directory back, as the loaders would
    if os.path.lexists(path):
        return os.path.join(path, folder) if folder else path
    if as_path:
        raise FileNotFoundError(
            f"{what} directory {path!r} does not exist, and it is not a Hugging Face repo id either (an id is "
            f"NAME or OWNER/NAME, such as 'albert/albert-base-v2'): pass an existing directory or a repo id"
        )
    return _resolve_id(path, what, revision, cache_dir, token, local_files_only, folder, force_download)


def _resolve_id(
    name: str,
    what: str,
    revision: str | None,
    cache_dir: str | os.PathLike[str] | None,
    token: str | bool | None,
    local_files_only: bool,
    subfolder: str,
    force_download: bool,
) -> str:
    hub, constants = _import_hub()
    if revision is not None and not isinstance(revision, str):
        raise TypeError(f"revision must be a str (a branch, tag or commit), got {type(revision).__name__}")
    repo = _Repo(
        name=name,
        repo_id=LEGACY_IDS.get(name, name),
        revision=revision,
        cache=os.fspath(cache_dir) if cache_dir is not None else str(constants.HF_HUB_CACHE),
        endpoint=str(getattr(constants, "ENDPOINT", "the hub")),
    )
    offline = _offline_reason(constants, local_files_only)
    if force_download and offline:
        raise ValueError(f"force_download=True needs the network, but downloads are off ({offline})")
    if not force_download:
        incomplete: tuple[str, list[str]] | None = None
        for candidate in dict.fromkeys([repo.repo_id, name]):  # the legacy name's cache folder too
            snapshot = _cached_snapshot(repo.cache, candidate, repo.rev)
            if snapshot is None:
                continue
            directory = os.path.join(snapshot, subfolder) if subfolder else snapshot
            missing = _missing(directory, what)
            if not missing:
                _check_links(snapshot, _storage(repo.cache, candidate), candidate)
                return directory
            incomplete = incomplete or (directory, missing)
        if offline and incomplete is not None:
            raise OSError(
                f"the cached snapshot of {repo.shown} ({incomplete[0]}) lacks {', '.join(incomplete[1])} (a "
                f"download that did not finish?), and downloads are off ({offline}). Either allow the download "
                f"to complete it (unset HF_HUB_OFFLINE, local_files_only=False), or pass a local directory "
                f"holding the {what} files"
            )
    if offline:
        raise OSError(
            f"{repo.shown} is not in the Hugging Face cache: searched {repo.storage} (cache {repo.cache}), and "
            f"downloads are off ({offline}). Either allow the download (unset HF_HUB_OFFLINE, "
            f"local_files_only=False, on a machine that reaches the hub), or pass a local directory holding the "
            f"{what} files (no directory {name!r} exists here)"
        )
    listing = _hub_call(repo, lambda: _listing(hub, repo, token))
    chosen = _chosen_files(listing, what, subfolder)
    prefix = f"{subfolder}/" if subfolder else ""
    if chosen is not None:
        lacking = _missing_from_listing(chosen, what, subfolder)
        if lacking:
            raise OSError(
                f"{repo.shown} has no {', '.join(lacking)}{f' in {subfolder!r}' if subfolder else ''} on "
                f"{repo.endpoint}: it is not an ALBERT {what} repository as transformers saves one"
            )
    patterns = [_escape(f) for f in chosen] if chosen is not None else [prefix + p for p in HUB_FILES[what]]
    snapshot = _hub_call(
        repo,
        lambda: str(
            hub.snapshot_download(
                repo.repo_id,
                revision=revision,
                cache_dir=repo.cache,
                token=token,
                allow_patterns=patterns,
                force_download=force_download,
                library_name="albert",
            )
        ),
    )
    directory = os.path.join(snapshot, subfolder) if subfolder else snapshot
    missing = _missing(directory, what)
    if missing:
        raise OSError(
            f"{repo.shown} has no {', '.join(missing)}{f' in {subfolder!r}' if subfolder else ''} after the "
            f"download into {directory}: it is not an ALBERT {what} repository as transformers saves one"
        )
    _check_links(snapshot, repo.storage, repo.repo_id)
    return directory


@dataclass(frozen=True)
class _Repo:
    """A repo id being resolved, for the messages."""

    name: str  # as given
    repo_id: str  # the hub's name for it
    revision: str | None
    cache: str
    endpoint: str

    @property
    def rev(self) -> str:
        return self.revision or "main"

    @property
    def shown(self) -> str:
        named = repr(self.repo_id)
        if self.repo_id != self.name:
            named += f" (the hub's name for {self.name!r})"
        return named if self.revision is None else f"{named} at revision {self.revision!r}"

    @property
    def storage(self) -> str:
        return _storage(self.cache, self.repo_id)


def _listing(hub: Any, repo: _Repo, token: str | bool | None) -> list[str]:
    info = hub.HfApi(token=token, library_name="albert").model_info(repo.repo_id, revision=repo.revision)
    return [s.rfilename for s in (info.siblings or [])]


def _hub_call(repo: _Repo, call: Callable[[], _T]) -> _T:
    """``call()``, with huggingface_hub's errors turned into an ``OSError`` that says what went wrong with
    which id, and what to do."""
    try:
        errors: Any = importlib.import_module("huggingface_hub.errors")
    except ImportError:  # huggingface_hub before 0.24 kept them in utils
        errors = importlib.import_module("huggingface_hub.utils")
    not_here = f"; if you meant a local directory, no {repo.name!r} exists here" if "/" in repo.name else ""
    try:
        return call()
    except errors.RevisionNotFoundError as exc:
        raise OSError(
            f"revision {repo.rev!r} does not exist in {repo.repo_id!r} on {repo.endpoint}: give a branch, a tag "
            f"or a commit of the repository"
        ) from exc
    except errors.GatedRepoError as exc:
        raise OSError(
            f"{repo.shown} is a gated repository on {repo.endpoint}: accept its terms on its page, then pass "
            f"token= (or log in with `huggingface-cli login`)"
        ) from exc
    except errors.RepositoryNotFoundError as exc:
        raise OSError(
            f"{repo.shown} is not a model repository on {repo.endpoint} (or it is private and no token with "
            f"access was given: pass token=, or log in with `huggingface-cli login`){not_here}"
        ) from exc
    except errors.LocalEntryNotFoundError as exc:
        raise OSError(
            f"could not reach {repo.endpoint} to download {repo.shown} ({exc.__cause__ or exc}), and it is not "
            f"in the Hugging Face cache {repo.storage}: connect, or pass a local directory{not_here}"
        ) from exc
    except errors.EntryNotFoundError as exc:
        url = str(getattr(getattr(exc, "response", None), "url", "") or "")
        name = url.split("/resolve/", 1)[1].split("/", 1)[-1] if "/resolve/" in url else "a file"
        raise OSError(
            f"a file of {repo.shown} is missing on {repo.endpoint}: {unquote(name)!r} is listed but not there "
            f"(404 Entry Not Found); try again later, or pass a local directory"
        ) from exc
    except OSError as exc:  # requests' and httpx's errors are OSErrors: refused, reset, cut off mid-file
        raise OSError(
            f"downloading {repo.shown} from {repo.endpoint} failed ({type(exc).__name__}: {exc}). Files that "
            f"finished stay in the cache {repo.storage}; an unfinished one is never used and is resumed by the "
            f"next try: run the same call again, or pass a local directory"
        ) from exc


def _missing_from_listing(chosen: list[str], what: str, subfolder: str) -> list[str]:
    """What a load of ``what`` needs that the repository's listing (restricted to ``chosen``) lacks."""
    prefix = f"{subfolder}/" if subfolder else ""
    names = {f[len(prefix) :] for f in chosen}
    if what == "tokenizer":
        return [] if {"spiece.model", "tokenizer.json"} & names else ["spiece.model or tokenizer.json"]
    missing = [] if CONFIG in names else [CONFIG]
    if what == "model" and not any(name in names for name, _ in _WEIGHTS):
        missing.append("weight file (" + ", ".join(name for name, _ in _WEIGHTS) + ")")
    return missing
