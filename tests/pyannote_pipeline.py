"""A pyannote speaker-diarization pipeline folder with freshly initialised weights, for tests.

The real ``pyannote/speaker-diarization-community-1`` weights live behind a token on the Hugging
Face Hub, which test machines cannot reach. pyannote loads a pipeline from any folder in the same
layout, so this module writes one with random weights: the output is meaningless, but every line
of the integration (config parsing, checkpoint loading, segmentation, embedding, PLDA + VBx
clustering, the output types) runs for real. The formats follow pyannote.audio 4's own loaders:

- ``config.yaml``: read by ``pyannote.audio.Pipeline.from_pretrained``;
- ``segmentation/`` and ``embedding/pytorch_model.bin``: ``Model.from_pretrained`` reads a
  ``torch.save``d dict (what Lightning writes) with ``state_dict``, ``hyper_parameters`` (the
  constructor's arguments) and a ``"pyannote.audio"`` entry (``versions``, ``architecture``
  module/class, ``specifications``), which is what ``Model.on_save_checkpoint`` adds;
- ``plda/xvec_transform.npz`` (``mean1``, ``mean2``, ``lda``) and ``plda/plda.npz`` (``mu``,
  ``tr``, ``psi``): ``pyannote.audio.utils.vbx.vbx_setup`` inverts ``tr.T @ tr`` and
  ``(tr.T / psi) @ tr``, so ``tr`` must be full rank and ``psi`` positive.

pyannote.audio and torch are imported inside the function: importing this module is free, so a
test module can import it before ``pytest.importorskip`` decides whether to run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

EMBEDDING_DIMENSION = 256  # WeSpeakerResNet34's output
LDA_DIMENSION = 128  # pyannote's PLDA default (``PLDA(lda_dimension=128)``)
CHUNK_SECONDS = 10.0  # community-1's segmentation window

# The values community-1 ships (pyannote's SpeakerDiarization.default_parameters()).
CONFIG_TEMPLATE = """\
dependencies:
  pyannote.audio: {version}
pipeline:
  name: pyannote.audio.pipelines.SpeakerDiarization
  params:
    clustering: VBxClustering
    embedding: {embedding}
    embedding_batch_size: 32
    embedding_exclude_overlap: true
    plda: {plda}
    segmentation: {segmentation}
    segmentation_batch_size: 32
params:
  clustering:
    threshold: 0.6
    Fa: 0.07
    Fb: 0.8
  segmentation:
    min_duration_off: 0.0
"""


def _save_checkpoint(model: Any, path: Path) -> None:
    """Write ``model`` the way Lightning + ``Model.on_save_checkpoint`` would.

    ``Model.from_pretrained`` rebuilds the class named under ``architecture`` from
    ``hyper_parameters``, restores ``specifications`` (which adds the task-dependent layers, e.g.
    PyanNet's classifier) and then loads ``state_dict`` strictly, so all three must agree.
    """
    import lightning
    import torch
    from pyannote.audio import __version__

    checkpoint = {
        "state_dict": model.state_dict(),
        "hyper_parameters": dict(model.hparams),
        "pytorch-lightning_version": lightning.__version__,
        "pyannote.audio": {
            "versions": {"torch": torch.__version__, "pyannote.audio": __version__},
            "architecture": {
                "module": type(model).__module__,
                "class": type(model).__name__,
            },
            "specifications": model.specifications,
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path)


def _segmentation_model() -> Any:
    """A PyanNet shaped like segmentation-3.0: powerset of 3 speakers, at most 2 at once."""
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.segmentation import PyanNet

    model = PyanNet(
        sincnet={"stride": 10},
        lstm={"hidden_size": 128, "num_layers": 4, "bidirectional": True, "monolithic": True,
              "dropout": 0.5},
        linear={"hidden_size": 128, "num_layers": 2},
    )  # fmt: skip
    model.specifications = Specifications(
        problem=Problem.MONO_LABEL_CLASSIFICATION,
        resolution=Resolution.FRAME,
        duration=CHUNK_SECONDS,
        min_duration=CHUNK_SECONDS,
        warm_up=(0.0, 0.0),
        classes=["speaker#1", "speaker#2", "speaker#3"],
        powerset_max_classes=2,
        permutation_invariant=True,
    )
    model.build()
    return model


def _embedding_model() -> Any:
    """A WeSpeakerResNet34 (256-d embeddings of 80 fbank bins), as community-1 ships."""
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.embedding import WeSpeakerResNet34

    model = WeSpeakerResNet34()
    model.specifications = Specifications(
        problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=CHUNK_SECONDS
    )
    return model


def _write_plda(folder: Path, rng: np.random.Generator) -> None:
    """Random but well-conditioned PLDA files (an orthogonal ``tr``, positive ``psi``)."""
    folder.mkdir(parents=True, exist_ok=True)
    lda, _ = np.linalg.qr(rng.normal(size=(EMBEDDING_DIMENSION, LDA_DIMENSION)))
    np.savez(
        folder / "xvec_transform.npz",
        mean1=rng.normal(scale=0.1, size=EMBEDDING_DIMENSION),
        mean2=rng.normal(scale=0.1, size=LDA_DIMENSION),
        lda=lda,
    )
    tr, _ = np.linalg.qr(rng.normal(size=(LDA_DIMENSION, LDA_DIMENSION)))
    np.savez(
        folder / "plda.npz",
        mu=rng.normal(scale=0.1, size=LDA_DIMENSION),
        tr=tr,
        psi=np.linspace(5.0, 0.1, LDA_DIMENSION),
    )


def build_random_pipeline(folder: Path, seed: int = 0) -> Path:
    """Write a community-1-layout pipeline with random weights into ``folder``; return it.

    The config names the three parts by absolute path (as a hand-assembled offline install
    would); the real community-1 ``config.yaml`` uses ``$model/<subfolder>`` instead, which
    pyannote expands to the same folders.
    """
    import torch
    from pyannote.audio import __version__

    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    _save_checkpoint(_segmentation_model(), folder / "segmentation" / "pytorch_model.bin")
    _save_checkpoint(_embedding_model(), folder / "embedding" / "pytorch_model.bin")
    _write_plda(folder / "plda", np.random.default_rng(seed))
    (folder / "config.yaml").write_text(
        CONFIG_TEMPLATE.format(
            version=__version__,
            # JSON strings are YAML strings: quoting survives spaces and colons in tmp paths.
            segmentation=json.dumps(str(folder / "segmentation")),
            embedding=json.dumps(str(folder / "embedding")),
            plda=json.dumps(str(folder / "plda")),
        ),
        encoding="utf-8",
    )
    return folder
