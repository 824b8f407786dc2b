"""Keeping Python's cyclic garbage collector off the heap during bulk work.

Every collection of the oldest generation walks every tracked object in the process. A process
holding the embedded store keeps each listing as a few dozen dicts and lists, so at 100,000
listings a full collection walks millions of objects, and the allocations of a bulk load (a
search document and its action per listing) trigger one every few chunks. Measured reading and
projecting a store of 50,000: 120 µs per listing with the collector as it is, 54 µs with the
objects alive at the start frozen. The documents of a chunk live until its bulk request is
sent, so with the default young-generation threshold (700 allocations) they were promoted and
walked again; a threshold of 50,000 lets most of them die young (20,000 listings: 63 -> 47
µs per listing, about what no collector at all gives). Cycles made inside the block are still
collected; only the pace changes.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

# Allocations between young-generation collections inside the block (the default is 700).
BULK_THRESHOLD = 50_000

_depth = 0
_ours = False  # whether the outermost block froze (and so may unfreeze) the heap
_saved: tuple[int, int, int] = gc.get_threshold()


@contextlib.contextmanager
def bulk_work() -> Iterator[None]:
    """For the block: what is alive at its start is out of the collector's reach (`gc.freeze`)
    and young collections are rarer; both are undone after. Nested blocks (two rebuilds in one
    process) share the outermost one's settings. When something else in the process froze the
    heap first, the block freezes what is new and leaves it frozen: unfreezing would undo the
    other freeze too."""
    global _depth, _ours, _saved
    if _depth == 0:
        _ours = gc.get_freeze_count() == 0
        gc.freeze()
        _saved = gc.get_threshold()
        gc.set_threshold(max(BULK_THRESHOLD, _saved[0]), *_saved[1:])
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            gc.set_threshold(*_saved)
            if _ours:
                gc.unfreeze()
