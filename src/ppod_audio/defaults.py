"""Numbers and names the package's parts must agree on, each written once.

Settings a user may change keep their validated default in ``config.py``, which reads it from
here; the building blocks (``audio``, ``speech``) use the same constants for their own
defaults, so a library caller and ``show.toml`` start from one value. The show's own words (its
name, its content warning) are not here: they are ``raw_audio/show.toml``'s.
"""

from __future__ import annotations

# The rate the speech models hear (faster-whisper, Silero VAD, CAM++, pyannote): 16 kHz mono.
SPEECH_RATE = 16000
# The speech model used when nothing says otherwise: shipped offline in PyPI packages; the most
# accurate one whose whole pipeline fits 0.15 RTF on 2 cores (docs/transcripts.md).
DEFAULT_MODEL = "base"
# The most voices the embedded diarizer looks for when the episode does not list its speakers.
MAX_SPEAKERS = 8
# Cosine similarity a cluster needs to an enrolled voice to take its name (docs/diarization.md).
NAMING_THRESHOLD = 0.5
# How far the speech leveller may raise a quiet talker, or lower a loud one (dB).
MAX_BOOST_DB = 15.0
MAX_CUT_DB = 10.0
# The most noise reduction may turn any sound down (dB). 30 brought the demo's pause floor under
# -60 dBFS with STOI above noise reduction off (bench/eval_noise.py --limits); 40 left less noise
# on the noisiest AMI dev clips (trn07 +0.27 -> +0.30 DNSMOS overall, trn02, trn04 higher), the
# demo still above off in STOI (0.9730 against 0.9729; 0.9739 at 30). The DNSMOS judge also
# tries 10 dB less (audio/judge.py). 40 is also the most the setting accepts.
MAX_NOISE_REDUCTION_DB = 40.0
# The deepest low-mid cut (300 Hz, Q 0.7) after noise reduction, made only as deep as the
# programme's low mids stand above a close-talking voice's (audio/tone.py), with a presence
# shelf of half its depth: 6 dB raised DNSMOS overall on every AMI dev clip and clean dev read;
# 12 dB (only the boomiest far-field clips, low band 21 dB or more over presence, reach past 6)
# raised it further on the dev clips (bench/dnsmos_knobs.py; docs/cleaning.md).
LOW_MID_CUT_DB = 12.0
