"""``ppod process`` end to end: real audio in, a compliant tagged MP3 and report out."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import DEMO, ebur128, ffmpeg, make_episode, voice, write_wav
from mutagen.id3 import ID3
from mutagen.mp3 import MP3

from ppod_audio.cli import cli

SLUG = DEMO.name


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output  # Click 8.2+: stdout and stderr interleaved


@pytest.mark.slow  # the demo through the whole pipeline
def test_demo_mp3_meets_loudness_spec(published_demo: Path) -> None:
    mp3 = published_demo / f"{SLUG}.mp3"
    measured = ebur128(mp3)
    assert measured["integrated"] == pytest.approx(-16.0, abs=0.5)
    assert measured["true_peak"] <= -1.0
    info = MP3(mp3).info
    assert info.sample_rate == 44100 and info.channels == 2
    assert info.bitrate == 128000 and info.bitrate_mode != 2  # 2 = VBR in mutagen


@pytest.mark.slow  # the demo through the whole pipeline
def test_demo_report_records_before_and_after(published_demo: Path) -> None:
    report = json.loads((published_demo / "report.json").read_text())
    assert report["status"] == "ok"
    before, after = report["loudness"]["input"], report["loudness"]["output"]
    assert before["integrated_lufs"] < -25 and after["integrated_lufs"] == pytest.approx(
        -16, abs=0.5
    )
    for stats in (before, after):
        assert {"loudness_range_lu", "true_peak_dbtp", "sample_peak_dbfs"} <= stats.keys()
    # The intro (20.5 s of content warning) plus the gap, and the raw file's dead air trimmed.
    assert 20.0 < report["intro_offset"] < 22.5
    assert 4.0 < report["trimmed_start"] < 5.5
    assert report["speech"]["diarizer"] == report["speech"]["diarizer_used"] == "embedded"
    assert not list(published_demo.glob(".*tmp*")), "no temporary files left behind"


@pytest.mark.slow  # the demo through the whole pipeline
def test_demo_tags_read_back_with_mutagen(published_demo: Path) -> None:
    tags = ID3(published_demo / f"{SLUG}.mp3")
    assert tags.version[:2] == (2, 3)
    assert str(tags["TIT2"]) == "What is the SSCP? (demo excerpt)"
    assert str(tags["TPE1"]) == "Somerset Safeguarding Children Partnership"
    assert str(tags["TPE2"]) == "Somerset Safeguarding Children Partnership"
    assert str(tags["TALB"]) == "The P Pod"
    assert str(tags["TRCK"]) == "2" and str(tags["TPOS"]) == "1"
    assert str(tags["TCON"]) == "Podcast"
    assert str(tags["TDRC"]).startswith("2024")
    assert "partnership" in tags.getall("COMM")[0].text[0]
    assert "Somerset" in str(tags["TCOP"]) and "Somerset" in str(tags["TPUB"])
    assert str(tags["TLAN"]) == "eng"
    assert "ppod-audio" in str(tags["TSSE"])
    cover = tags.getall("APIC")[0]
    assert cover.type == 3 and cover.mime == "image/png" and cover.data[:4] == b"\x89PNG"
    toc = tags.getall("CTOC")[0]
    chapters = sorted(tags.getall("CHAP"), key=lambda c: c.start_time)
    assert toc.child_element_ids == [c.element_id for c in chapters]
    titles = [str(c.sub_frames["TIT2"]) for c in chapters]
    assert titles[0] == "Content warning"
    assert titles[1:] == [
        "Welcome and introductions",
        "Who makes up the partnership",
        "Learning reviews: rapid reviews and CSPRs",
    ]
    assert chapters[0].start_time == 0
    assert all(a.end_time == b.start_time for a, b in zip(chapters, chapters[1:], strict=False))


@pytest.mark.slow  # the demo through the whole pipeline
def test_demo_tags_read_back_with_eyed3(published_demo: Path) -> None:
    import eyed3

    audio = eyed3.load(str(published_demo / f"{SLUG}.mp3"))
    tag = audio.tag
    assert tag.version[:2] == (2, 3)
    assert tag.title == "What is the SSCP? (demo excerpt)"
    assert tag.album == "The P Pod" and tag.track_num[0] == 2 and tag.disc_num[0] == 1
    assert tag.genre.name == "Podcast"
    assert len(tag.images) == 1 and tag.images[0].picture_type == 3
    assert [str(c.title) for c in tag.chapters][0] == "Content warning"
    assert len(list(tag.table_of_contents)) == 1


@pytest.mark.slow  # the demo through the whole pipeline
def test_demo_tags_read_back_with_ffprobe(published_demo: Path) -> None:
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        pytest.skip("Debian's ffprobe is not installed (scripts/test installs it as root)")
    result = subprocess.run(
        [ffprobe, "-v", "error", "-print_format", "json", "-show_format", "-show_chapters",
         "-show_streams", str(published_demo / f"{SLUG}.mp3")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    probe = json.loads(result.stdout)
    tags = {k.lower(): v for k, v in probe["format"]["tags"].items()}
    assert tags["title"] == "What is the SSCP? (demo excerpt)"
    assert tags["album"] == "The P Pod" and tags["genre"] == "Podcast"
    assert tags["track"] == "2" and tags["disc"] == "1"
    assert probe["chapters"][0]["tags"]["title"] == "Content warning"
    assert len(probe["chapters"]) == 4
    assert any(s["codec_type"] == "video" for s in probe["streams"]), "cover art stream"


def _bad_episode(show_root: Path, name: str, audio: Path | None, manifest: str | None = None):
    files = {"take.wav": audio} if audio else {}
    return make_episode(show_root, name, files, manifest)


@pytest.mark.parametrize(
    ("case", "fragment"),
    [
        ("empty", "empty"),
        ("text", "not an audio file"),
        ("silence", "silent"),
        ("zero", "no audio"),
    ],
)
def test_bad_audio_exits_2_with_one_line(show_root: Path, tmp_path: Path, case: str, fragment: str):
    source = tmp_path / f"{case}.wav"
    if case == "empty":
        source.write_bytes(b"")
    elif case == "text":
        source.write_text("not audio\n" * 50)
    elif case == "silence":
        write_wav(source, np.zeros(44100 * 2, np.float32), 44100)
    else:
        write_wav(source, np.zeros(0, np.float32), 44100)
    folder = _bad_episode(show_root, f"bad-{case}", source)
    out = tmp_path / "out"
    code, output = run("process", str(folder), "-o", str(out), "--no-speech")
    assert code == 2
    error_lines = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1 and fragment in error_lines[0] and "take.wav" in error_lines[0]
    assert "Traceback" not in output
    assert not (out / f"bad-{case}" / f"bad-{case}.mp3").exists()
    report = json.loads((out / f"bad-{case}" / "report.json").read_text())
    assert report["status"] == "failed" and fragment in report["error"]


def test_bad_manifest_and_missing_manifest(show_root: Path, tmp_path: Path) -> None:
    folder = _bad_episode(show_root, "bad-manifest", None, 'title = 42\ninputs = ["x.wav"]\n')
    code, output = run("process", str(folder), "-o", str(tmp_path / "o"), "--no-speech")
    assert code == 2 and "title must be a valid string" in output
    empty = show_root / "no-manifest"
    empty.mkdir()
    code, output = run("process", str(empty), "-o", str(tmp_path / "o"))
    assert code == 2 and "episode.toml" in output and "not found" in output


def test_escaping_path_is_refused(show_root: Path, tmp_path: Path) -> None:
    folder = _bad_episode(show_root, "escape", None, 'title = "x"\ninputs = ["../../secret.wav"]\n')
    code, output = run("process", str(folder), "-o", str(tmp_path / "o"), "--no-speech")
    assert code == 2 and "outside" in output


def test_debug_shows_traceback(show_root: Path, tmp_path: Path) -> None:
    import traceback

    from ppod_audio.errors import InputError

    folder = _bad_episode(show_root, "dbg", None, 'title = "x"\ninputs = ["missing.wav"]\n')
    result = CliRunner().invoke(cli, ["--debug", "process", str(folder), "-o", str(tmp_path)])
    assert result.exit_code != 0 and result.exc_info is not None
    # The error itself escapes (not the SystemExit every failure ends in), with its origin.
    assert isinstance(result.exception, InputError) and "missing.wav" in str(result.exception)
    shown = "".join(traceback.format_exception(*result.exc_info))
    assert "Traceback" in shown and "pipeline.py" in shown


def test_speech_key_follows_what_speech_hears(show_root: Path, tmp_path: Path) -> None:
    """Speech hears the recordings as they came: cleaning and MP3 settings must not re-run it."""
    from ppod_audio.pipeline import episode_settings, stage_keys
    from ppod_audio.speech.stage import SpeechOptions

    tone = 0.1 * np.sin(np.arange(44100) * 2 * np.pi * 440 / 44100).astype(np.float32)
    folder = make_episode(
        show_root, "keys", {"take.wav": write_wav(tmp_path / "t.wav", tone, 44100)}
    )
    manifest, show = episode_settings(folder)

    def keys(show, **chosen) -> dict:
        return stage_keys(manifest, show, SpeechOptions(**chosen).resolved(show))

    def changed(show, section: str, **values):
        return show.model_copy(update={section: getattr(show, section).model_copy(update=values)})

    base = keys(show)
    for other in (
        changed(show, "clean", highpass_hz=120.0),
        changed(show, "clean", keep_silence_seconds=1.5),
        changed(show, "mp3", sample_rate=48000, channels="mono"),
    ):
        assert keys(other)["clean"] != base["clean"]  # the audio is redone...
        assert keys(other)["speech"] == base["speech"]  # ...the speech models are not
    assert keys(show, allow_download=True)["speech"] == base["speech"]
    assert keys(show, model="tiny.en")["speech"] != base["speech"]
    # The second hearing of the doubted words (default) changes the words (they record it):
    # without it, speech re-runs.
    assert keys(changed(show, "speech", hear_doubted=False))["speech"] != base["speech"]

    pyannote = changed(show, "speech", diarizer="pyannote", pyannote_pipeline="pipelines/a")
    other_pipeline = changed(pyannote, "speech", pyannote_pipeline="pipelines/b")
    assert keys(pyannote)["speech"] != keys(other_pipeline)["speech"]
    unused = changed(show, "speech", pyannote_pipeline="pipelines/b")  # the embedded diarizer
    assert keys(unused)["speech"] == base["speech"]

    (folder / "take.wav").write_bytes(write_wav(tmp_path / "u.wav", tone / 2, 44100).read_bytes())
    assert keys(show)["speech"] != base["speech"]


def test_short_episode_mono_minus19_and_rerun(show_root: Path, tmp_path: Path) -> None:
    """Several takes joined, mono output at -19 LUFS; a re-run reuses the published audio."""
    take1 = tmp_path / "take1.flac"
    take2 = tmp_path / "take2.m4a"
    ffmpeg("-i", str(voice("rebecca", 4.4)), "-ar", "48000", str(take1))
    ffmpeg("-i", str(voice("steve", 11.0)), "-ac", "2", "-c:a", "aac", str(take2))
    manifest = """title = "Two takes"
season = 2
episode = 1
inputs = ["take1.flac", "take2.m4a"]
[overrides]
mp3 = { channels = "mono", id3_version = 4 }
loudness = { target_lufs = -19.0 }
"""
    folder = make_episode(
        show_root, "two-takes", {"take1.flac": take1, "take2.m4a": take2}, manifest
    )
    out = tmp_path / "out"
    code, output = run("process", str(folder), "-o", str(out), "--no-speech", "--json")
    assert code == 0, output
    mp3 = out / "two-takes" / "two-takes.mp3"
    measured = ebur128(mp3)
    assert measured["integrated"] == pytest.approx(-19.0, abs=0.5)
    assert measured["true_peak"] <= -1.0
    info = MP3(mp3).info
    assert info.channels == 1 and info.bitrate == 96000
    assert ID3(mp3).version[:2] == (2, 4)  # v2.4 selectable, v2.3 the default
    first = mp3.stat().st_mtime_ns
    report = json.loads((out / "two-takes" / "report.json").read_text())
    assert report["duration"] == pytest.approx(report["intro_offset"] + 4.4 + 11.0, abs=2.0)

    code, output = run("process", str(folder), "-o", str(out), "--no-speech", "--json")
    assert code == 0, output
    again = json.loads(output[output.index("{") :])
    assert again["stages"]["master"]["cached"] is True
    assert "decode+clean" not in again["stages"]
    assert ebur128(mp3)["integrated"] == pytest.approx(-19.0, abs=0.5)
    assert mp3.stat().st_mtime_ns != first  # re-tagged through a temporary copy


def test_interrupted_run_leaves_no_partial_mp3(
    show_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash mid-export (simulated by an interrupt) leaves no partial MP3; a re-run succeeds."""
    from ppod_audio import pipeline
    from ppod_audio.speech.stage import SpeechOptions

    take = tmp_path / "take.wav"
    ffmpeg("-i", str(voice("steve", 11.0)), str(take))
    folder = make_episode(show_root, "crash", {"take.wav": take})
    out = tmp_path / "out"
    original = pipeline.master_to_mp3

    def crash(episode, intro, settings, destination):
        destination.write_bytes(b"ID3 partial mp3 data")
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "master_to_mp3", crash)
    options = pipeline.ProcessOptions(output_root=out, speech=SpeechOptions(enabled=False))
    with pytest.raises(KeyboardInterrupt):
        pipeline.process_episode(folder, options)
    monkeypatch.setattr(pipeline, "master_to_mp3", original)
    assert not (out / "crash" / "crash.mp3").exists()
    assert not [p for p in (out / "crash").iterdir() if p.suffix == ".mp3" or "tmp" in p.name]
    assert not list((out / ".cache").glob(".work-*")), "the work folder is removed"
    # What a SIGKILL would have left (no cleanup runs then), and another episode's live folder.
    stale = out / ".cache" / ".work-crash-k1ll3d_x"
    other = out / ".cache" / ".work-crash-2-abcd1234"
    for folder_left in (stale, other):
        folder_left.mkdir()
        (folder_left / "cleaned.f32").write_bytes(b"\0" * 4096)
    code, output = run("process", str(folder), "-o", str(out), "--no-speech")
    assert code == 0, output
    assert not stale.exists(), "a killed run's work folder is removed under the episode's lock"
    assert other.is_dir(), "another episode's work folder is not touched"
    assert ebur128(out / "crash" / "crash.mp3")["integrated"] == pytest.approx(-16, abs=0.5)


def test_doctor_lists_ffmpeg_and_models() -> None:
    code, output = run("doctor")
    assert "ffmpeg" in output and "tiny.en" in output
    assert code == 0, output


def test_version_and_help() -> None:
    code, output = run("--version")
    assert code == 0 and "0.1.0" in output
    code, output = run("--help")
    assert code == 0 and "process" in output


# --- speech in the published episode ------------------------------------------------------------


def _reference_turns() -> list[tuple[float, float, str]]:
    from ppod_audio.speech.turns import read_rttm

    (turns,) = read_rttm(DEMO / "reference" / "reference.rttm").values()
    return [(t.start, t.end, t.speaker.replace("_", " ")) for t in turns]


@pytest.mark.slow  # the demo through the whole pipeline
def test_demo_paragraphs_carry_the_right_names(published_demo: Path) -> None:
    from ppod_audio.transcript.model import load_document

    document = load_document(published_demo / "episode.json")
    report = json.loads((published_demo / "report.json").read_text())
    shift = report["intro_offset"] - report["trimmed_start"]  # raw recording -> published clock
    right = total = 0
    for word in document.words():
        middle = (word.start + word.end) / 2 - shift
        owner = [name for start, end, name in _reference_turns() if start <= middle <= end]
        if owner:
            total += 1
            right += document.speaker_name(word.speaker) == owner[0]
    assert total > 350
    assert right / total >= 0.97, f"{right}/{total} words under the right name"
    names = [s.name for s in document.speakers]
    assert names == ["Content warning", "Steve Macabee", "Jasmine Wark", "Rebecca Leggett"]


@pytest.mark.slow  # the demo through the whole pipeline
def test_fewer_voices_than_listed_is_a_warning(
    show_root: Path, tmp_path: Path, published_demo: Path
) -> None:
    """One voice with three people listed: the console and report.json say the diarizer told
    fewer voices apart, so an editor checks the names; the demo (three of three) stays quiet."""
    take = tmp_path / "take.flac"
    ffmpeg("-i", str(voice("steve", 11.0)), "-ar", "44100", str(take))
    people = "".join(f'[[speakers]]\nname = "{name}"\n' for name in ("Ann", "Bo", "Cy"))
    manifest = f'title = "One voice"\nseason = 1\nepisode = 9\ninputs = ["take.flac"]\n{people}'
    folder = make_episode(show_root, "one-voice", {"take.flac": take}, manifest)
    out = tmp_path / "out"
    code, output = run("process", str(folder), "-o", str(out))
    assert code == 0, output
    report = json.loads((out / "one-voice" / "report.json").read_text())
    found = len(report["speech"]["speaker_clusters"])
    assert 1 <= found < 3
    expected = f"the embedded diarizer told {found} voice"
    assert [w for w in report["warnings"] if w.startswith(expected) and "lists 3" in w]
    assert f"warning: {expected}" in output

    # Speech settings changed, audio settings not: the published audio is reused and only
    # the 16 kHz copy is decoded for the models (nothing full-rate is cleaned again).
    loudness = report["loudness"]
    code, output = run("process", str(folder), "-o", str(out), "--diarizer", "none", "--json")
    assert code == 0, output
    again = json.loads(output[output.index("{") :])
    assert again["stages"]["master"]["cached"] and "transcribe" in again["stages"]
    assert again["loudness"] == loudness and again["trimmed_start"] == report["trimmed_start"]
    assert again["speech"]["speaker_clusters"] == [] and again["speech"]["words"] > 0

    demo = json.loads((published_demo / "report.json").read_text())
    assert len(demo["speech"]["speaker_clusters"]) == 3
    assert not [w for w in demo["warnings"] if "diarizer told" in w]


@pytest.mark.slow  # the demo through the whole pipeline
def test_demo_transcripts_in_every_format(published_demo: Path) -> None:
    import srt
    import webvtt

    stem = published_demo / SLUG
    txt = stem.with_suffix(".txt").read_text()
    warning = "Please note: due to the nature of this podcast"
    assert "Steve Macabee - SSCP Multiagency Training Manager\n\n" in txt
    assert txt.index(warning) < txt.index("Steve Macabee - ")
    for wrong in ("Peapod", "PPod", " SCP ", "non existential", "factory partner", "CS. PR"):
        assert wrong not in txt, wrong

    report = json.loads((published_demo / "report.json").read_text())
    captions = webvtt.read(str(stem.with_suffix(".vtt")))
    assert warning[:20] in captions[0].text
    spoken = [c for c in captions if "<v Content warning>" not in c.raw_text]
    hours, minutes, seconds = spoken[0].start.split(":")
    assert int(hours) * 3600 + int(minutes) * 60 + float(seconds) >= report["intro_offset"] - 0.05
    assert all(len(line) <= 65 for c in captions for line in c.raw_text.splitlines())
    assert {"Steve Macabee", "Jasmine Wark", "Rebecca Leggett"} <= {c.voice for c in captions}

    subtitles = list(srt.parse(stem.with_suffix(".srt").read_text()))
    assert all(len(line) <= 32 for s in subtitles for line in s.content.splitlines())
    assert all(len(s.content.splitlines()) <= 2 for s in subtitles)
    assert sum(s.content.startswith("Jasmine Wark:") for s in subtitles) >= 3

    podcast = json.loads(Path(f"{stem}.transcript.json").read_text())
    assert podcast["version"] == "1.0.0"
    assert podcast["segments"][0]["body"].startswith(warning)
    assert podcast["segments"][1]["startTime"] >= report["intro_offset"] - 0.05

    html = stem.with_suffix(".html").read_text()
    assert "<cite>Jasmine Wark:</cite>" in html and "<time>" in html


@pytest.mark.slow  # the demo through the whole pipeline
def test_demo_mp3_carries_transcript_and_matching_chapters(published_demo: Path) -> None:
    tags = ID3(published_demo / f"{SLUG}.mp3")
    lyrics = tags.getall("USLT")[0].text
    txt = (published_demo / f"{SLUG}.txt").read_text()
    assert lyrics.strip() in txt and "Jasmine Wark - SSCP Business Manager" in lyrics
    chapters = json.loads((published_demo / f"{SLUG}.chapters.json").read_text())["chapters"]
    frames = sorted(tags.getall("CHAP"), key=lambda c: c.start_time)
    assert [c["title"] for c in chapters] == [str(f.sub_frames["TIT2"]) for f in frames]
    assert [round(c["startTime"] * 1000) for c in chapters] == [f.start_time for f in frames]


@pytest.mark.slow  # the demo through the whole pipeline
def test_demo_talkers_levelled_within_2_lu(published_demo: Path) -> None:
    from ppod_audio.audio.decode import decode
    from ppod_audio.audio.loudness import integrated_lufs

    report = json.loads((published_demo / "report.json").read_text())
    shift = report["intro_offset"] - report["trimmed_start"]
    audio = decode(published_demo / f"{SLUG}.mp3", 44100, 2)
    levels = {}
    for who in ("Steve Macabee", "Jasmine Wark", "Rebecca Leggett"):
        parts = [audio.samples[:, int((s + shift) * 44100) : int((e + shift) * 44100)]
                 for s, e, name in _reference_turns() if name == who]  # fmt: skip
        levels[who] = integrated_lufs(np.concatenate(parts, axis=1), 44100)
    assert max(levels.values()) - min(levels.values()) <= 2.0, levels


def test_reprocessing_keeps_or_backs_up_an_edited_document(show_root: Path, tmp_path: Path):
    """A re-run keeps an editor's episode.json (the content warning's speaker following
    show.toml), and an edited episode.json that no longer parses is replaced only after its
    bytes are kept in history/, with a warning saying so."""
    take = tmp_path / "take.flac"
    ffmpeg("-i", str(voice("steve", 11.0)), "-ar", "44100", str(take))
    folder = make_episode(show_root, "edited", {"take.flac": take})
    out = tmp_path / "out"
    episode = out / "edited"

    def process() -> dict:
        code, output = run("process", str(folder), "-o", str(out), "--no-speech", "--json")
        assert code == 0, output
        return json.loads(output[output.index("{") :])

    process()
    document = json.loads((episode / "episode.json").read_text())
    assert [s["id"] for s in document["speakers"]] == ["warning"]
    # Published without speech recognition, the editor types the first paragraph by hand: a
    # speaker and a segment (a field this run writes, like the description, would prove nothing).
    offset = document["intro_offset"]
    document["speakers"].append({"id": "host", "name": "Ann Host", "role": "Presenter"})
    words = [{"text": t, "start": offset + 0.5 * i, "end": offset + 0.5 * i + 0.4,
              "speaker": "host"} for i, t in enumerate(["Typed", "by", "hand."])]  # fmt: skip
    document["segments"].append({"speaker": "host", "start": offset, "end": offset + 1.4,
                                 "text": "Typed by hand.", "words": words})  # fmt: skip
    (episode / "episode.json").write_text(json.dumps(document), encoding="utf-8")
    show = show_root / "show.toml"
    assert "enabled = true" in show.read_text()
    show.write_text(show.read_text().replace("enabled = true", "enabled = false", 1))
    report = process()
    assert report["warnings"] == [
        "speech recognition was off for this run: kept the transcript already published "
        "(its words, speakers and any edits)"
    ]
    kept = json.loads((episode / "episode.json").read_text())
    # The warning and its speaker follow show.toml (switched off); the editor's paragraph is
    # kept, moved onto the new clock (no warning in front: the episode starts earlier).
    assert [s["id"] for s in kept["speakers"]] == ["host"]
    (paragraph,) = kept["segments"]
    assert paragraph["text"] == "Typed by hand." and paragraph["speaker"] == "host"
    shift = kept["intro_offset"] - offset
    assert shift < -5
    assert paragraph["start"] == pytest.approx(offset + shift)
    assert [w["start"] for w in paragraph["words"]] == pytest.approx(
        [w["start"] + shift for w in words]
    )
    assert "Typed by hand." in (episode / "edited.txt").read_text()

    broken = b'{"version": 1, "segments": ['
    (episode / "episode.json").write_bytes(broken)
    report = process()
    (warning,) = [w for w in report["warnings"] if "no longer parses" in w]
    backup = episode / warning.split(" kept as ")[1]
    assert backup.read_bytes() == broken
    assert json.loads((episode / "episode.json").read_text())["episode"]["slug"] == "edited"
