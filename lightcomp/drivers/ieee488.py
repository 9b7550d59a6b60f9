"""IEEE 488.2 definite-length arbitrary block data (IEEE Std 488.2-1992, 8.7.9).

A block is ``#`` + one digit ``n`` (1-9) + ``n`` ASCII digits giving the byte
count ``L`` + ``L`` data bytes, followed by the message terminator (LF).
Oscilloscopes send waveforms this way (``:WAVeform:DATA?``).  The indefinite
form ``#0`` is refused: lightcomp's instruments never use it and it cannot be
checked for truncation.
"""

from __future__ import annotations

from collections.abc import Callable


class BlockError(ValueError):
    """A garbled, truncated or unterminated block (the message says which)."""


def read_definite_block(read_bytes: Callable[[int], bytes], terminator: bytes = b"\n") -> bytes:
    """Read one definite-length block with ``read_bytes(count)`` and return its data bytes.

    ``read_bytes`` must return at most ``count`` bytes (fewer on a time-out): a
    short read is reported as truncation, any other deviation as garbling.
    """

    def exactly(count: int, what: str) -> bytes:
        data = read_bytes(count)
        if len(data) != count:
            raise BlockError(f"truncated block: {what} has {len(data)} of {count} bytes")
        return data

    head = exactly(2, "header")
    if head[:1] != b"#" or not head[1:2].isdigit():
        raise BlockError(f"garbled block header {head!r} (expected '#' and a digit)")
    ndigits = int(head[1:2])
    if ndigits == 0:
        raise BlockError("indefinite-length block (#0) not accepted")
    count_text = exactly(ndigits, "length field")
    if not count_text.isdigit():
        raise BlockError(f"garbled block length field {count_text!r}")
    data = exactly(int(count_text), "data") if int(count_text) else b""
    if terminator:
        end = exactly(len(terminator), "terminator")
        if end != terminator:
            raise BlockError(f"block not terminated by {terminator!r} (got {end!r})")
    return data


def definite_block(data: bytes) -> bytes:
    """``data`` framed as a definite-length block (no terminator)."""
    count = str(len(data)).encode()
    if len(count) > 9:
        raise ValueError("block too long for a definite-length header")
    return b"#" + str(len(count)).encode() + count + data
