"""Editing a published episode: re-rendering, folding text edits back, history, learning.

Everything here works on an output folder (``output/<episode>/``) and its ``episode.json``; no
module decodes audio or loads a speech model, which is what makes a re-publish take a moment.
"""
