"""Audio in and out: decoding, cleaning, loudness, assembly and MP3 export."""
