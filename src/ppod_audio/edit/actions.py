"""What ``ppod render`` does with its options, as one function the command only prints from."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..errors import InputError
from ..lock import locked_episode
from .history import list_history, restorable
from .render import load_episode_document, render_episode, require_folder
from .save import save_and_render
from .textfold import fold_file


def render_command(
    output_dir: Path,
    *,
    from_text: bool = False,
    revert_to: str | None = None,
    on_wait: Callable[[], None] | None = None,
) -> list[str]:
    """Render ``output_dir`` (after folding the text file in, or restoring a saved version).

    Returns the lines to show. A text edit that cannot be folded back raises
    :class:`InputError` before anything is written. Holds the episode's lock (as ``ppod
    process`` does), waiting for it after calling ``on_wait``.
    """
    if from_text and revert_to is not None:
        raise InputError(
            "--from-text and --revert cannot be combined", output_dir, "give one of them"
        )
    require_folder(output_dir)
    with locked_episode(output_dir, on_wait):
        return _render_locked(output_dir, from_text=from_text, revert_to=revert_to)


def _render_locked(output_dir: Path, *, from_text: bool, revert_to: str | None) -> list[str]:
    lines: list[str] = []
    if from_text:
        folded = fold_file(output_dir, load_episode_document(output_dir))
        lines += [f"  {note}" for note in folded.notes]
        if not folded.changed:
            lines.append("  the text file matches episode.json: nothing to fold in")
        saved = save_and_render(output_dir, folded.document, keep_text=False)
        if saved.backup:
            lines.append(f"  previous episode.json kept as history/{saved.backup.name}")
        result = saved.render
        lines += [f"  {note}" for note in saved.notes]
    elif revert_to is not None:
        stamp = None if revert_to in ("", "latest") else revert_to
        revision, restored = restorable(output_dir, stamp)
        saved = save_and_render(output_dir, restored)  # one write, one backup, manifest applied
        lines.append(f"  restored {revision.path.name} ({revision.saved_at:%Y-%m-%d %H:%M:%S})")
        if saved.backup:
            lines.append(f"  the version it replaced is kept as history/{saved.backup.name}")
        result = saved.render
        lines += [f"  {note}" for note in saved.notes]
    else:
        result = render_episode(output_dir)
        lines += [f"  {note}" for note in result.notes]
    return [f"rendered {result.output_dir} in {result.seconds * 1000:.0f} ms", *lines]


def history_lines(output_dir: Path) -> list[str]:
    revisions = list_history(output_dir)
    if not revisions:
        return [f"no saved versions in {Path(output_dir) / 'history'}"]
    return [f"{r.stamp}\t{r.saved_at:%Y-%m-%d %H:%M:%S}\t{r.path.name}" for r in revisions]
