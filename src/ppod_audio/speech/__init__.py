"""Speech: recognition (faster-whisper), diarization and speaker naming."""
