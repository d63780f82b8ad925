"""Show settings (``show.toml``) and episode manifests (``episode.toml``), validated.

Validation is strict on purpose: an unknown key is an error, not silently ignored, because a
misspelt ``target_lufs`` would otherwise publish an episode at the wrong loudness. Every error
names the file and the key (``episode.toml: speakers[1].role must be a string``).
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import InputError

SHOW_FILE = "show.toml"
EPISODE_FILE = "episode.toml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


class ContentWarning(_Strict):
    audio: str = "assets/content-warning.flac"
    text: str = (
        "Please note: due to the nature of this podcast, themes relating to the abuse and neglect "
        "of children are discussed, with the content being designed for an adult audience for "
        "educational purposes, in order to protect children from harm. Therefore listener "
        "discretion is advised and the content considered unsuitable for children."
    )
    speaker: str = "Content warning"
    gap_seconds: Annotated[float, Field(ge=0.0, le=5.0)] = 0.7
    crossfade_seconds: Annotated[float, Field(ge=0.0, le=2.0)] = 0.0
    enabled: bool = True


class CleanSettings(_Strict):
    enabled: bool = True
    highpass_hz: Annotated[float, Field(ge=0.0, le=300.0)] = 80.0
    trim_silence: bool = True
    keep_silence_seconds: Annotated[float, Field(ge=0.0, le=5.0)] = 0.5


class LoudnessSettings(_Strict):
    target_lufs: Annotated[float, Field(ge=-31.0, le=-10.0)] = -16.0
    true_peak_dbtp: Annotated[float, Field(ge=-9.0, le=0.0)] = -1.0
    level_speakers: bool = True
    max_boost_db: Annotated[float, Field(ge=0.0, le=24.0)] = 15.0
    max_cut_db: Annotated[float, Field(ge=0.0, le=24.0)] = 10.0


class Mp3Settings(_Strict):
    channels: Literal["mono", "stereo"] = "stereo"
    bitrate_stereo_kbps: Literal[64, 80, 96, 112, 128, 160, 192, 224, 256, 320] = 128
    bitrate_mono_kbps: Literal[48, 56, 64, 80, 96, 112, 128, 160, 192] = 96
    sample_rate: Literal[44100, 48000] = 44100
    id3_version: Literal[3, 4] = 3

    @property
    def bitrate_kbps(self) -> int:
        return self.bitrate_mono_kbps if self.channels == "mono" else self.bitrate_stereo_kbps


class SpeechSettings(_Strict):
    model: str = "tiny.en"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    diarizer: Literal["embedded", "pyannote", "tracks", "none"] = "embedded"
    pyannote_pipeline: str | None = None
    prompt: Literal["none", "hotwords", "initial_prompt"] = "none"
    # Parallel decoding of VAD chunks: faster, but it drops words (1.2x faster for 5 % fewer
    # words on an H100; see speech/transcribe.py), so only for throughput over accuracy.
    batched: bool = False
    # Cosine similarity a cluster needs to an enrolled voice to take its name. Same-voice
    # similarity across separately recorded clips measured ~0.6 (katie-steve), wrong-voice <0.55.
    naming_threshold: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    # Whether an episode's [[speakers]] list names everyone who speaks: then its length is the
    # diarizer's speaker count; if not (a caller, an unlisted guest), it is only the minimum.
    speakers_complete: bool = True


class ShowConfig(_Strict):
    """Everything that is the same for every episode of the show."""

    title: str = "The P Pod"
    author: str = "Somerset Safeguarding Children Partnership"
    publisher: str = "Somerset Safeguarding Children Partnership"
    copyright: str = "Somerset Safeguarding Children Partnership"
    language: str = "en-GB"
    genre: str = "Podcast"
    website: str | None = None
    cover: str | None = "assets/cover.png"
    glossary: str | None = "glossary.toml"
    voices: str = "voices"
    content_warning: ContentWarning = Field(default_factory=ContentWarning)
    clean: CleanSettings = Field(default_factory=CleanSettings)
    loudness: LoudnessSettings = Field(default_factory=LoudnessSettings)
    mp3: Mp3Settings = Field(default_factory=Mp3Settings)
    speech: SpeechSettings = Field(default_factory=SpeechSettings)

    # Set by the loader: the folder that relative paths in this file are relative to.
    root: Path = Field(default=Path("."), exclude=True)

    def path(self, relative: str) -> Path:
        return resolve_inside(self.root, relative, SHOW_FILE, "a path")


class SpeakerEntry(_Strict):
    name: Annotated[str, Field(min_length=1)]
    role: str | None = None
    track: str | None = Field(None, description="This speaker's own microphone file.")


class ChapterEntry(_Strict):
    start: Annotated[float, Field(ge=0.0)]
    title: Annotated[str, Field(min_length=1)]


class Overrides(_Strict):
    """Per-episode changes to the show settings, same keys as show.toml's sections."""

    clean: dict[str, Any] = Field(default_factory=dict)
    loudness: dict[str, Any] = Field(default_factory=dict)
    mp3: dict[str, Any] = Field(default_factory=dict)
    speech: dict[str, Any] = Field(default_factory=dict)
    content_warning: dict[str, Any] = Field(default_factory=dict)


class EpisodeManifest(_Strict):
    title: Annotated[str, Field(min_length=1)]
    season: Annotated[int, Field(ge=0)] | None = None
    episode: Annotated[int, Field(ge=0)] | None = None
    date: str | None = None
    description: str | None = None
    inputs: list[str] = Field(default_factory=list)
    speakers: list[SpeakerEntry] = Field(default_factory=list)
    chapters: list[ChapterEntry] = Field(default_factory=list)
    overrides: Overrides = Field(default_factory=Overrides)

    root: Path = Field(default=Path("."), exclude=True)

    @field_validator("date", mode="before")
    @classmethod
    def _date_to_text(cls, value: Any) -> Any:
        # TOML has a native date type; the document stores ISO text.
        if isinstance(value, dt.date | dt.datetime):
            return value.isoformat()
        return value

    @property
    def slug(self) -> str:
        return self.root.name

    @property
    def track_speakers(self) -> list[SpeakerEntry]:
        return [speaker for speaker in self.speakers if speaker.track]

    def input_paths(self) -> list[Path]:
        return [
            resolve_inside(self.root, name, EPISODE_FILE, f"inputs[{i}]")
            for i, name in enumerate(self.inputs)
        ]

    def track_paths(self) -> list[tuple[SpeakerEntry, Path]]:
        return [
            (s, resolve_inside(self.root, s.track, EPISODE_FILE, f"speakers[{i}].track"))
            for i, s in enumerate(self.speakers)
            if s.track
        ]


def resolve_inside(root: Path, relative: str, file_name: str, key: str) -> Path:
    """Resolve a manifest path, refusing one that escapes its folder (``../../etc/passwd``)."""
    root = root.resolve()
    candidate = (root / relative).resolve()
    if not candidate.is_relative_to(root):
        raise InputError(
            f"{key} = {relative!r} points outside {root}",
            root / file_name,
            "use a path inside the folder",
        )
    return candidate


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise InputError("not found", path, f"create {path.name} (see README)") from None
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"is not valid TOML ({error})", path, "fix the syntax") from None


def _location(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _explain(error: ValidationError, path: Path, prefix: str = "") -> InputError:
    """Turn pydantic's report into one line: file, key, what was expected."""
    first = error.errors()[0]
    key = prefix + (_location(first["loc"]) or "(top level)")
    kind = first["type"]
    if kind == "extra_forbidden":
        message = f"{key} is not a known setting"
        fix = "remove it or check its spelling"
    elif kind == "missing":
        message = f"{key} is required"
        fix = "add it"
    else:
        expected = first["msg"].replace("Input should be", "must be")
        message = f"{key} {expected[0].lower()}{expected[1:]}"
        fix = None
    more = len(error.errors()) - 1
    if more:
        message += f" (and {more} more problem{'s' if more > 1 else ''})"
    return InputError(message, path, fix)


def load_show(root: Path) -> ShowConfig:
    """Read ``show.toml`` from the folder above the episodes; defaults when it is absent."""
    path = Path(root) / SHOW_FILE
    data = _read_toml(path) if path.exists() else {}
    try:
        show = ShowConfig.model_validate(data)
    except ValidationError as error:
        raise _explain(error, path) from None
    show.root = Path(root).resolve()
    return show


def load_episode(episode_dir: Path) -> EpisodeManifest:
    episode_dir = Path(episode_dir)
    if not episode_dir.is_dir():
        raise InputError(
            "is not an episode folder", episode_dir, "give the folder that holds episode.toml"
        )
    path = episode_dir / EPISODE_FILE
    data = _read_toml(path)
    try:
        manifest = EpisodeManifest.model_validate(data)
    except ValidationError as error:
        raise _explain(error, path) from None
    manifest.root = episode_dir.resolve()
    if not manifest.inputs and not manifest.track_speakers:
        raise InputError(
            "lists no audio", path, 'add inputs = ["recording.flac"] or a track per speaker'
        )
    if manifest.inputs and manifest.track_speakers:
        raise InputError(
            "gives both inputs and speaker tracks",
            path,
            "use one mixed recording or one track per speaker",
        )
    for _, track in manifest.track_paths():
        _must_exist(track, path)
    for item in manifest.input_paths():
        _must_exist(item, path)
    return manifest


def _must_exist(audio: Path, manifest: Path) -> None:
    if not audio.is_file():
        raise InputError(f"lists {audio.name}, which does not exist", manifest, "fix the file name")


def apply_overrides(show: ShowConfig, manifest: EpisodeManifest) -> ShowConfig:
    """The show settings as this episode sees them (its ``[overrides]`` applied, validated)."""
    data = show.model_dump()
    for section, values in manifest.overrides.model_dump().items():
        data[section] = {**data[section], **values}
    try:
        effective = ShowConfig.model_validate(data)
    except ValidationError as error:
        raise _explain(error, manifest.root / EPISODE_FILE, prefix="overrides.") from None
    effective.root = show.root
    return effective
