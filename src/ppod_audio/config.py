"""Show settings (``show.toml``) and episode manifests (``episode.toml``), validated.

Validation is strict on purpose: an unknown key is an error, not silently ignored, because a
misspelt ``target_lufs`` would otherwise publish an episode at the wrong loudness. Every error
names the file and the key (``episode.toml: speakers[1].role must be a string``).
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
import tomllib
import unicodedata
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .defaults import (
    DEFAULT_MODEL,
    LOW_MID_CUT_DB,
    MAX_BOOST_DB,
    MAX_CUT_DB,
    MAX_NOISE_REDUCTION_DB,
    NAMING_THRESHOLD,
)
from .errors import InputError
from .fileio import file_problem

SHOW_FILE = "show.toml"
EPISODE_FILE = "episode.toml"


# Bidirectional embeddings, overrides and isolates: invisible, they make a title display as
# something other than what it says (the "Trojan Source" trick), and players render them apart.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _control_character(value: str, allow: str) -> str | None:
    for position, char in enumerate(value):
        if char in allow:
            continue
        if char in BIDI_CONTROLS or unicodedata.category(char) == "Cc":
            name = unicodedata.name(char, "control character")
            return f"contains U+{ord(char):04X} ({name}) at character {position + 1}"
    return None


def _one_line(value: str) -> str:
    """Titles, names and paths: no control characters at all (no NUL, no newline, no bidi)."""
    problem = _control_character(value, allow="")
    if problem:
        raise ValueError(f"{problem}; delete it (retype the text if it is invisible)")
    return value


def _prose(value: str) -> str:
    """Descriptions and the warning's text: line breaks and tabs are fine, other controls not."""
    problem = _control_character(value, allow="\n\r\t")
    if problem:
        raise ValueError(f"{problem}; delete it (retype the text if it is invisible)")
    return value


Line = Annotated[str, AfterValidator(_one_line)]
Prose = Annotated[str, AfterValidator(_prose)]
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


class ContentWarning(_Strict):
    """A spoken clip put in front of every episode (``[content_warning]`` in show.toml).

    The code default is no clip: a show that needs one names its audio (and the text the
    transcripts show for it) in show.toml; ``enabled = false`` switches a configured one off.
    """

    audio: Line | None = None
    text: Prose = ""
    speaker: Line = "Content warning"
    gap_seconds: Annotated[float, Field(ge=0.0, le=5.0)] = 0.7
    crossfade_seconds: Annotated[float, Field(ge=0.0, le=2.0)] = 0.0
    enabled: bool = True

    @property
    def active(self) -> bool:
        """Whether a clip is prepended: switched on and given a file."""
        return self.enabled and bool(self.audio)


class CleanSettings(_Strict):
    enabled: bool = True
    highpass_hz: Annotated[float, Field(ge=0.0, le=300.0)] = 80.0
    trim_silence: bool = True
    keep_silence_seconds: Annotated[float, Field(ge=0.0, le=5.0)] = 0.5
    # Noise reduction (DeepFilterNet3, or RNNoise) and how far it may turn anything down: the
    # rest is mixed back. Kept only where DNSMOS does not fall (audio/prepare.py).
    noise_reduction: Literal["deepfilternet", "rnnoise", "off"] = "deepfilternet"
    max_noise_reduction_db: Annotated[float, Field(ge=3.0, le=40.0)] = MAX_NOISE_REDUCTION_DB
    # The far-field room's low mids cut after noise reduction (audio/tone.py), judged with it.
    low_mid_cut_db: Annotated[float, Field(ge=0.0, le=12.0)] = LOW_MID_CUT_DB
    # The DNSMOS judge picks the limit (the set one or 10 dB gentler) and the low-mid cut (the
    # measured one, a deeper one, or in a far-field room a brighter one) per programme
    # (audio/judge.py); false: the set ones.
    choose_strength: bool = True
    # In a far-field room the judge also tries late-reverberation suppression (audio/dereverb.py)
    # on the room's tail; false: never.
    dereverb: bool = True
    # Notch 50/60 Hz mains harmonics above the high-pass, only when they are found.
    hum_removal: bool = True

    @property
    def denoises(self) -> bool:
        return self.enabled and self.noise_reduction != "off"

    @property
    def removes_hum(self) -> bool:
        return self.enabled and self.hum_removal


class LoudnessSettings(_Strict):
    target_lufs: Annotated[float, Field(ge=-31.0, le=-10.0)] = -16.0
    true_peak_dbtp: Annotated[float, Field(ge=-9.0, le=0.0)] = -1.0
    level_speakers: bool = True
    max_boost_db: Annotated[float, Field(ge=0.0, le=24.0)] = MAX_BOOST_DB
    max_cut_db: Annotated[float, Field(ge=0.0, le=24.0)] = MAX_CUT_DB


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
    model: str = DEFAULT_MODEL
    device: Literal["auto", "cpu", "cuda"] = "auto"
    diarizer: Literal["embedded", "pyannote", "tracks", "none"] = "embedded"
    pyannote_pipeline: str | None = None
    # "unsure": no prompt, then only the stretches recognition was unsure of are heard again
    # with the terms as hotwords, kept when they bring a term that sounds like what was heard
    # (speech/redecode.py).
    prompt: Literal["none", "hotwords", "initial_prompt", "unsure"] = "none"
    # Parallel decoding of VAD chunks: faster, but it drops words (1.2x faster for 5 % fewer
    # words on an H100; see speech/transcribe.py), so only for throughput over accuracy.
    batched: bool = False
    # Beam search width of recognition: 5 is faster-whisper's default; narrower is cheaper
    # (bench/choose_model.py measures WER and cost per beam).
    beam_size: Annotated[int, Field(ge=1, le=10)] = 5
    # Hear the words shading would doubt (probability under 0.9) a second time, with tiny.en on
    # short clips, and shade only those heard otherwise (speech/recheck.py, transcript/
    # confidence.py): on the domain dev set 68 % of errors shaded at 7.0 % of correct words,
    # against 62 / 7.6 % by probability and runner-up disputes; eval 70 / 8.7 % against 60 / 10.9.
    # It costs about half the transcription's CPU, but runs beside it, piece by piece, on the
    # core the audio child and the diarizer leave (recheck.HearingBeside): the whole pipeline's
    # wall RTF on 30 minutes 0.140 with it (bench/pipeline_rtf.py). false: one hearing.
    hear_doubted: bool = True
    # Cosine similarity a cluster needs to an enrolled voice to take its name. Same-voice
    # similarity across separately recorded clips measured ~0.6 (katie-steve), wrong-voice <0.55.
    naming_threshold: Annotated[float, Field(ge=0.0, le=1.0)] = NAMING_THRESHOLD
    # Whether an episode's [[speakers]] list names everyone who speaks: then its length is the
    # diarizer's speaker count; if not (a caller, an unlisted guest), it is only the minimum.
    speakers_complete: bool = True


class TranscriptSettings(_Strict):
    """How the published transcript is spelt (``[transcript]`` in show.toml).

    ``spelling``: "en-GB" rewrites the recogniser's American spellings (organise, colour),
    "en-US" and "off" keep them; unset, it follows ``language`` (an en-GB show gets en-GB).
    """

    spelling: Literal["en-GB", "en-US", "off"] | None = None


class SafeguardingSettings(_Strict):
    """``[safeguarding]``: the review list every episode gets before release (review.py).

    ``allow`` names what nobody needs to check (the show's own partner agencies, the county);
    ``require_review`` holds an episode back as "awaiting review" until every item is decided.
    """

    require_review: bool = False
    allow: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    # Hear the places where a name is expected again with a second model and flag where the two
    # hearings disagree (names heard as sure ordinary words); costs 1-3 CPU s per minute.
    hear_again: bool = False
    # What a redaction puts in place of the words: a 1 kHz tone (heard as a bleep) or silence.
    redact_with: Literal["tone", "silence"] = "tone"


class TidySettings(_Strict):
    """``[tidy]``: shorten long pauses and cut filler words from the audio (off by default).

    Decided from the word timings every run (edit/audio_edits.py), so a new transcript tidies
    again; the seconds removed go to report.json.
    """

    enabled: bool = False
    max_pause_seconds: Annotated[float, Field(gt=0.2, le=10.0)] = 1.0
    fillers: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=lambda: ["um", "umm", "uh", "er", "erm", "ah", "hmm"]
    )


class ShowConfig(_Strict):
    """Everything that is the same for every episode of the show."""

    # Generic defaults: a folder with no show.toml publishes plain episodes (no cover, no
    # glossary, no content warning); the show's own values live in raw_audio/show.toml.
    title: Annotated[Line, Field(min_length=1)] = "Podcast"
    author: Line | None = None
    publisher: Line | None = None
    copyright: Line | None = None
    language: Line = "en-GB"
    genre: Line = "Podcast"
    website: Line | None = None
    cover: Line | None = None
    glossary: Line | None = None
    voices: Line = "voices"
    content_warning: ContentWarning = Field(default_factory=ContentWarning)
    clean: CleanSettings = Field(default_factory=CleanSettings)
    loudness: LoudnessSettings = Field(default_factory=LoudnessSettings)
    mp3: Mp3Settings = Field(default_factory=Mp3Settings)
    speech: SpeechSettings = Field(default_factory=SpeechSettings)
    transcript: TranscriptSettings = Field(default_factory=TranscriptSettings)
    safeguarding: SafeguardingSettings = Field(default_factory=SafeguardingSettings)
    tidy: TidySettings = Field(default_factory=TidySettings)

    # Set by the loader: the folder that relative paths in this file are relative to.
    root: Path = Field(default=Path("."), exclude=True)

    def path(self, relative: str) -> Path:
        return resolve_inside(self.root, relative, SHOW_FILE, "a path")


class SpeakerEntry(_Strict):
    name: Annotated[Line, Field(min_length=1)]
    role: Line | None = None
    track: Line | None = Field(None, description="This speaker's own microphone file.")


class ChapterEntry(_Strict):
    # Finite: ``inf`` passes ``ge`` and would be dropped (or crash the ID3 writer) later.
    start: Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
    title: Annotated[Line, Field(min_length=1)]


class Overrides(_Strict):
    """Per-episode changes to the show settings, same keys as show.toml's sections."""

    clean: dict[str, Any] = Field(default_factory=dict)
    loudness: dict[str, Any] = Field(default_factory=dict)
    mp3: dict[str, Any] = Field(default_factory=dict)
    speech: dict[str, Any] = Field(default_factory=dict)
    content_warning: dict[str, Any] = Field(default_factory=dict)
    tidy: dict[str, Any] = Field(default_factory=dict)


class EpisodeManifest(_Strict):
    title: Annotated[Line, Field(min_length=1)]
    season: Annotated[int, Field(ge=0)] | None = None
    episode: Annotated[int, Field(ge=0)] | None = None
    date: str | None = None
    description: Prose | None = None
    inputs: list[Line] = Field(default_factory=list)
    speakers: list[SpeakerEntry] = Field(default_factory=list)
    chapters: list[ChapterEntry] = Field(default_factory=list)
    overrides: Overrides = Field(default_factory=Overrides)

    root: Path = Field(default=Path("."), exclude=True)

    @field_validator("date", mode="before")
    @classmethod
    def _date_to_text(cls, value: Any) -> Any:
        # TOML has a native date type; the document stores ISO text.
        if isinstance(value, dt.datetime):
            return value.date().isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        return value

    @field_validator("date")
    @classmethod
    def _iso_date(cls, value: str | None) -> str | None:
        """Players sort and show episodes by this date (ID3 TDRC): it must be a real one."""
        if value is None:
            return value
        try:
            if not ISO_DATE.fullmatch(value):
                raise ValueError(value)
            dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(
                f"must be an ISO date (YYYY-MM-DD), not {value!r}: write date = 2024-03-01"
            ) from None
        return value

    @model_validator(mode="after")
    def _each_speaker_once(self) -> EpisodeManifest:
        """A person listed twice gets two ids, so their paragraphs would split between two
        names (and voiceprint naming can give only one of them the voice)."""
        seen: dict[str, int] = {}
        for index, speaker in enumerate(self.speakers):
            key = " ".join(speaker.name.casefold().split())
            if key in seen:
                raise ValueError(
                    f"speakers[{index}] {speaker.name!r} is listed twice (also speakers"
                    f"[{seen[key]}]); list each person once"
                )
            seen[key] = index
        return self

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


_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
SAVE_AS_UTF8 = "save it as UTF-8 (in Notepad: Save as, Encoding: UTF-8, not 'UTF-8 with BOM')"


def toml_text(path: Path) -> str:
    """The text of a TOML file, which must be UTF-8 without a byte-order mark (TOML's rule).

    Windows editors save UTF-16 ("Unicode") or UTF-8 with a BOM; tomllib's answer to either is
    "Invalid statement (at line 1, column 1)", which sends a user looking for a typo that is
    not there. Said here instead: which encoding the file is in and which one to use.
    """
    problem = file_problem(path)
    if problem == "does not exist":
        raise InputError("not found", path, f"create {path.name} (see README)")
    if problem is not None and problem != "is empty (0 bytes)":
        raise InputError(problem, path, f"make {path.name} a readable text file")
    data = path.read_bytes()
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            raise InputError(f"is {encoding} text", path, SAVE_AS_UTF8)
    if data.startswith(codecs.BOM_UTF8):
        raise InputError("starts with a byte-order mark (UTF-8 with BOM)", path, SAVE_AS_UTF8)
    if len(data) >= 4 and data.count(0) >= len(data) // 4:
        raise InputError("is UTF-16 text (no byte-order mark)", path, SAVE_AS_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        byte = data[error.start]
        raise InputError(
            f"is not UTF-8 text (byte 0x{byte:02x} on line {line})", path, SAVE_AS_UTF8
        ) from None


def _read_toml(path: Path) -> dict[str, Any]:
    text = toml_text(path)
    try:
        return tomllib.loads(text)
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
    if kind == "value_error":  # our own validators: their text says what to do
        detail = first["msg"].removeprefix("Value error, ")
        message = f"{key} {detail}" if first["loc"] else detail
        fix = None
    elif kind == "extra_forbidden":
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
    problem = file_problem(audio)
    if problem == "does not exist":
        raise InputError(f"lists {audio.name}, which does not exist", manifest, "fix the file name")
    if problem is not None:
        raise InputError(problem, audio, f"list a readable audio file in {manifest.name}")


def require_show_file(show: ShowConfig, relative: str, key: str) -> Path:
    """A file that show.toml names (cover, content warning, glossary): there, regular, readable.

    Checked before any audio work, so a missing asset stops the run in its first second."""
    path = show.path(relative)
    problem = file_problem(path)
    if problem is not None:
        where = f"{key} in {SHOW_FILE}"
        if key.startswith("content_warning"):
            where += " (or switch it off: [content_warning] enabled = false)"
        raise InputError(problem, path, f"fix {where}")
    return path


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
