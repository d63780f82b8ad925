"""The browser editor: a local web page over an output folder (see :mod:`.server`)."""
