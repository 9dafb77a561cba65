"""Frames: the little-endian records that cut tensors, results and errors travel in
(SPEC section 8); docs/profile-format.md ("Frames") gives the byte layout.

A frame is `u32 length` (of what follows), `b"MSPL"`, `u8 version` (1), `u8 kind`
(1 tensors, 2 result, 3 error) and a `u16`: the tensor count, or for an error frame its
code. A tensor entry is `u16 name length`, UTF-8 name, `u8 bits`, `u8 ndim`, `u32` per
dimension, `f32 scale`, `f32 zero point`, `u32 payload length`, payload (see
:mod:`moosplit.deploy.packing`). An error frame has, after its code, `u16 message length`
and a UTF-8 message.

:func:`decode_frame` refuses anything else with a :class:`FrameError` whose `code` says
what was wrong, and never runs code from the data (no pickle, no eval).

Example:
    >>> entry = TensorEntry.from_values("x", np.array([[0.0, 1.0, 3.0]]), bits=2)
    >>> data = encode_frame(Frame(FrameKind.TENSORS, (entry,)))
    >>> len(data), data[4:8]
    (38, b'MSPL')
    >>> decode_frame(data, max_bytes=1024, expected={"x": ((1, 3), 2)}).tensors[0].values()
    array([[0., 1., 3.]], dtype=float32)
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from ..errors import OptionError
from ..validation import Choice, Number
from .packing import RAW_BITS, Quantised, dequantise, pack, payload_length, quantise, unpack

MAGIC = b"MSPL"
VERSION = 1
MAX_NDIM = 8
"""Most dimensions a tensor entry may have (a receiver refuses more as absurd)."""
MAX_MESSAGE_BYTES = 1024
"""An error frame's message is cut to this many UTF-8 bytes by :meth:`Frame.error`."""

_U16_MAX, _U32_MAX = 0xFFFF, 0xFFFF_FFFF
_LENGTH = struct.Struct("<I")
_HEADER = struct.Struct("<4sBBH")          # magic, version, kind, count (or error code)
_U16 = struct.Struct("<H")
_BITS_NDIM = struct.Struct("<BB")
_SCALE_PAYLOAD = struct.Struct("<ffI")     # scale, zero point, payload length
_MAX_BYTES = Number(whole=True, at_least=_LENGTH.size + _HEADER.size)
_READ_CHUNK = 1 << 20
_CODE = Number(whole=True, at_least=0, at_most=_U16_MAX)


class FrameKind(IntEnum):
    """What a frame carries."""

    TENSORS = 1
    """Cut tensors, edge to cloud."""
    RESULT = 2
    """The model's outputs, cloud to edge."""
    ERROR = 3
    """A refusal: an error code and a message."""


_KIND = Choice(tuple(FrameKind))


class FrameErrorCode(IntEnum):
    """Why a frame was refused; an error frame carries the code."""

    TRUNCATED = 1
    """The data ends before the frame (or a field of it) does."""
    TOO_LARGE = 2
    """The frame is over the receiver's size limit."""
    BAD_MAGIC = 3
    """The frame does not start with b"MSPL"."""
    BAD_VERSION = 4
    """A version other than 1."""
    BAD_KIND = 5
    """A kind other than 1 (tensors), 2 (result) or 3 (error)."""
    BAD_BITS = 6
    """Bits outside 1..16."""
    BAD_SHAPE = 7
    """More than MAX_NDIM dimensions, or more elements than fit in the size limit."""
    BAD_SCALE = 8
    """A scale that is not finite and > 0, a zero point that is not finite, or at 16 bits
    (raw float16) a scale other than 1 or zero point other than 0."""
    BAD_PAYLOAD = 9
    """A payload length other than ceil(elements x bits / 8)."""
    BAD_TEXT = 10
    """A name or message that is not valid UTF-8, an empty name, or a name repeated."""
    UNEXPECTED_TENSOR = 11
    """A name, shape or bit-width the manifest does not expect, or an expected tensor
    missing."""
    TRAILING_BYTES = 12
    """Bytes after the frame's last field."""
    INTERNAL = 13
    """Not a decoding error: the receiver failed to process a valid frame."""


class FrameError(ValueError):
    """A frame that is refused; `code` (a :class:`FrameErrorCode`) says why.

    Example:
        >>> str(FrameError(FrameErrorCode.BAD_BITS, "bits must be in 1..16, got 17"))
        'bad_bits: bits must be in 1..16, got 17'
    """

    def __init__(self, code: FrameErrorCode, message: str) -> None:
        self.code = FrameErrorCode(code)
        self.detail = message
        super().__init__(f"{self.code.name.lower()}: {message}")

    def to_frame(self) -> Frame:
        """The error frame a receiver answers this refusal with."""
        return Frame.error(self.code, str(self))


def _check_bits(bits: object) -> int:
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) \
            or not 1 <= bits <= RAW_BITS:
        raise FrameError(FrameErrorCode.BAD_BITS, f"bits must be in 1..{RAW_BITS}, got {bits!r}")
    return int(bits)


def _encoded_text(text: object, what: str, *, empty: bool) -> bytes:
    """UTF-8 bytes of `text`, at most a u16 of them (and not empty unless allowed)."""
    try:
        data = text.encode("utf-8") if isinstance(text, str) else None
    except UnicodeEncodeError:
        data = None
    if data is None or len(data) > _U16_MAX or (not data and not empty):
        raise FrameError(FrameErrorCode.BAD_TEXT, f"{what} must be text of "
                         f"{0 if empty else 1}..{_U16_MAX} UTF-8 bytes, got {text!r:.80}")
    return data


def _f32(value: object, what: str) -> float:
    """`value` rounded to float32 (as it travels), or BAD_SCALE if not a finite number."""
    try:
        with np.errstate(over="ignore"):
            rounded = float(np.float32(value))
    except (TypeError, ValueError, OverflowError):
        rounded = math.nan
    if not math.isfinite(rounded) or isinstance(value, bool):
        raise FrameError(FrameErrorCode.BAD_SCALE, f"{what} must be a finite float32, "
                         f"got {value!r}")
    return rounded


def _check_payload_length(name: str, shape: Sequence[int], bits: int, size: int) -> None:
    """BAD_PAYLOAD unless `size` is the payload length of `shape` at `bits`."""
    elements = math.prod(shape)
    need = payload_length(elements, bits)
    if size != need:
        raise FrameError(FrameErrorCode.BAD_PAYLOAD, f"payload of {name!r:.80} must be "
                         f"{need} bytes ({elements} elements at {bits} bits), got {size}")


@dataclass(frozen=True)
class TensorEntry:
    """One tensor of a frame: value = (code - zero_point) * scale for bits 1..15, raw
    float16 at 16 (scale 1, zero point 0).

    shape: the tensor's full shape as sent (elements in C order). scale, zero_point: as
    float32 values (rounded on construction). payload: exactly
    ceil(elements x bits / 8) bytes. Construction checks all of it (FrameError).
    """

    name: str
    bits: int
    shape: tuple[int, ...]
    scale: float
    zero_point: float
    payload: bytes

    def __post_init__(self) -> None:
        _encoded_text(self.name, "a tensor name", empty=False)
        bits = _check_bits(self.bits)
        shape = tuple(self.shape)
        if len(shape) > MAX_NDIM or not all(
                isinstance(d, (int, np.integer)) and not isinstance(d, bool)
                and 0 <= d <= _U32_MAX for d in shape):
            raise FrameError(FrameErrorCode.BAD_SHAPE, f"shape of {self.name!r} must have at "
                             f"most {MAX_NDIM} sizes in 0..{_U32_MAX}, got {shape!r:.80}")
        scale, zero_point = _f32(self.scale, "scale"), _f32(self.zero_point, "zero_point")
        if bits == RAW_BITS and (scale, zero_point) != (1.0, 0.0):
            raise FrameError(FrameErrorCode.BAD_SCALE, f"{self.name!r} is raw float16 (16 "
                             f"bits): scale must be 1 and zero point 0, got {scale:g} and "
                             f"{zero_point:g}")
        if scale <= 0:
            raise FrameError(FrameErrorCode.BAD_SCALE,
                             f"scale of {self.name!r} must be > 0, got {scale:g}")
        if not isinstance(self.payload, (bytes, bytearray, memoryview)):
            raise OptionError("payload", "bytes", type(self.payload).__name__)
        payload = bytes(self.payload)
        _check_payload_length(self.name, shape, bits, len(payload))
        for field, value in (("bits", bits), ("shape", tuple(int(d) for d in shape)),
                             ("scale", scale), ("zero_point", zero_point),
                             ("payload", payload)):
            object.__setattr__(self, field, value)

    @property
    def elements(self) -> int:
        """Number of elements (the product of the shape; 1 for a scalar)."""
        return math.prod(self.shape)

    @classmethod
    def from_quantised(cls, name: str, quantised: Quantised) -> TensorEntry:
        """The entry of a quantised tensor."""
        return cls(name, quantised.bits, quantised.codes.shape, quantised.scale,
                   quantised.zero_point, pack(quantised.codes, quantised.bits))

    @classmethod
    def from_values(cls, name: str, values: np.ndarray, bits: int) -> TensorEntry:
        """The entry of a float tensor quantised to `bits` (see
        :func:`moosplit.deploy.packing.quantise`)."""
        return cls.from_quantised(name, quantise(values, bits))

    def codes(self) -> np.ndarray:
        """The codes (float16 values at 16 bits), in the entry's shape."""
        return unpack(self.payload, self.bits, self.elements).reshape(self.shape)

    def values(self) -> np.ndarray:
        """The float32 values the entry stands for, in its shape."""
        return dequantise(self.codes(), self.bits, self.scale, self.zero_point)


@dataclass(frozen=True)
class Frame:
    """One frame: tensors (kinds TENSORS and RESULT) or an error code and message (ERROR).

    Construction checks the kind, the code (a u16) and that an error frame has no tensors
    and the others no code or message (OptionError), and that names are unique and the
    message is UTF-8 text of at most a u16 of bytes (FrameError, BAD_TEXT).
    """

    kind: FrameKind
    tensors: tuple[TensorEntry, ...] = ()
    code: int = 0
    message: str = ""

    def __post_init__(self) -> None:
        kind = _KIND("kind", self.kind)
        tensors = tuple(self.tensors)
        if not all(isinstance(t, TensorEntry) for t in tensors) or len(tensors) > _U16_MAX:
            types = sorted({type(t).__name__ for t in tensors})
            raise OptionError("tensors", f"at most {_U16_MAX} TensorEntry objects",
                              f"{len(tensors)} of types {types}")
        code = _CODE("code", self.code)
        is_error = kind == FrameKind.ERROR
        if (is_error and tensors) or (not is_error and (code or self.message)):
            raise OptionError("kind", "ERROR for a code or message, TENSORS or RESULT for "
                              "tensors", FrameKind(kind).name)
        names = [t.name for t in tensors]
        if len(set(names)) != len(names):
            raise FrameError(FrameErrorCode.BAD_TEXT, f"tensor names repeat: {names!r:.80}")
        _encoded_text(self.message, "message", empty=True)
        object.__setattr__(self, "kind", FrameKind(kind))
        object.__setattr__(self, "tensors", tensors)
        object.__setattr__(self, "code", code)

    @classmethod
    def error(cls, code: int, message: str) -> Frame:
        """An error frame, its message cut to MAX_MESSAGE_BYTES of UTF-8."""
        text = message.encode("utf-8", "replace")[:MAX_MESSAGE_BYTES]
        return cls(FrameKind.ERROR, code=code, message=text.decode("utf-8", "ignore"))

    @property
    def payload_bytes(self) -> int:
        """Bytes of all payloads (what the plan's `tx_bytes` predicts, up to rounding)."""
        return sum(len(t.payload) for t in self.tensors)


def encode_frame(frame: Frame) -> bytes:
    """The bytes of a frame, length prefix included.

    Example (length 12, MSPL, version 1, kind 3, code 2, message length 2, "no"):
        >>> encode_frame(Frame.error(FrameErrorCode.TOO_LARGE, "no")).hex(" ")
        '0c 00 00 00 4d 53 50 4c 01 03 02 00 02 00 6e 6f'
    """
    if frame.kind == FrameKind.ERROR:
        message = frame.message.encode("utf-8")
        parts = [_HEADER.pack(MAGIC, VERSION, frame.kind, frame.code),
                 _U16.pack(len(message)), message]
    else:
        parts = [_HEADER.pack(MAGIC, VERSION, frame.kind, len(frame.tensors))]
        for entry in frame.tensors:
            name = entry.name.encode("utf-8")
            parts += [_U16.pack(len(name)), name,
                      _BITS_NDIM.pack(entry.bits, len(entry.shape)),
                      struct.pack(f"<{len(entry.shape)}I", *entry.shape),
                      _SCALE_PAYLOAD.pack(entry.scale, entry.zero_point, len(entry.payload)),
                      entry.payload]
    length = sum(len(part) for part in parts)
    if length > _U32_MAX:
        raise FrameError(FrameErrorCode.TOO_LARGE, f"a frame holds at most {_U32_MAX} bytes "
                         f"after its length, this one {length}")
    return b"".join([_LENGTH.pack(length), *parts])


class _Cursor:
    """Reads fields from a frame's body, refusing reads past its end (TRUNCATED)."""

    def __init__(self, data: memoryview) -> None:
        self.data, self.at = data, 0

    def take(self, n: int, what: str) -> memoryview:
        if self.at + n > len(self.data):
            raise FrameError(FrameErrorCode.TRUNCATED, f"the frame ends inside {what} "
                             f"({n} bytes at offset {self.at + _LENGTH.size})")
        self.at += n
        return self.data[self.at - n:self.at]

    def fields(self, layout: struct.Struct, what: str) -> tuple:
        return layout.unpack(self.take(layout.size, what))

    def text(self, what: str) -> str:
        (size,) = self.fields(_U16, f"the length of {what}")
        try:
            return str(self.take(size, what), "utf-8")
        except UnicodeDecodeError:
            raise FrameError(FrameErrorCode.BAD_TEXT, f"{what} is not valid UTF-8") from None


Expected = Mapping[str, tuple[Sequence[int], int]]
"""What a receiver's manifest expects: tensor name -> (shape, bits)."""


def decode_frame(data: bytes, *, max_bytes: int, expected: Expected | None = None) -> Frame:
    """The frame in `data` (exactly one frame, length prefix included).

    Refuses, with a :class:`FrameError` whose `code` says why: data or a field cut short,
    bytes after the frame or its last field, a frame over `max_bytes` (counting the length
    prefix), wrong magic or version, an unknown kind, bits outside 1..16, more than
    MAX_NDIM dimensions or a shape whose payload would not fit in `max_bytes`, a bad scale
    or zero point, a payload length that does not match, a name or message that is not
    UTF-8 (or a name empty or repeated); and with `expected` (name -> (shape, bits)), a
    tensor whose name, shape or bits it does not list, or one it lists missing. The checks
    run before the data they guard is read, so nothing is allocated from a length field.
    """
    max_bytes = _MAX_BYTES("max_bytes", max_bytes)
    view = memoryview(bytes(data) if not isinstance(data, (bytes, bytearray)) else data)
    if len(view) < _LENGTH.size:
        raise FrameError(FrameErrorCode.TRUNCATED, f"{len(view)} bytes, less than the "
                         "4-byte length prefix")
    (length,) = _LENGTH.unpack(view[:_LENGTH.size])
    _check_size(length, max_bytes)
    end = _LENGTH.size + length
    if len(view) < end:
        raise FrameError(FrameErrorCode.TRUNCATED, f"the frame says {end} bytes, the data "
                         f"has {len(view)}")
    if len(view) > end:
        raise FrameError(FrameErrorCode.TRAILING_BYTES, f"{len(view) - end} bytes after "
                         f"the frame's {end}")
    cursor = _Cursor(view[_LENGTH.size:])
    magic, version, kind, count = cursor.fields(_HEADER, "the header")
    if magic != MAGIC:
        raise FrameError(FrameErrorCode.BAD_MAGIC, f"the frame must start with {MAGIC!r}, "
                         f"got {bytes(magic)!r}")
    if version != VERSION:
        raise FrameError(FrameErrorCode.BAD_VERSION, f"version must be {VERSION}, got "
                         f"{version}")
    if kind not in set(FrameKind):
        raise FrameError(FrameErrorCode.BAD_KIND, f"kind must be 1, 2 or 3, got {kind}")
    if kind == FrameKind.ERROR:
        frame = Frame(FrameKind.ERROR, code=count, message=cursor.text("the message"))
    else:
        wanted = None if expected is None else _normalised(expected)
        entries = tuple(_read_entry(cursor, max_bytes, wanted) for _ in range(count))
        if wanted is not None and len({e.name for e in entries}) < len(wanted):
            missing = sorted(set(wanted) - {e.name for e in entries})
            raise FrameError(FrameErrorCode.UNEXPECTED_TENSOR,
                             f"expected tensors missing: {', '.join(missing)}"[:200])
        frame = Frame(FrameKind(kind), entries)
    if cursor.at != len(cursor.data):
        raise FrameError(FrameErrorCode.TRAILING_BYTES, f"{len(cursor.data) - cursor.at} "
                         "bytes after the frame's last field")
    return frame


def _check_size(length: int, max_bytes: int) -> None:
    if _LENGTH.size + length > max_bytes:
        raise FrameError(FrameErrorCode.TOO_LARGE, f"the frame says {_LENGTH.size + length} "
                         f"bytes, over the limit of {max_bytes}")


def _normalised(expected: Expected) -> dict[str, tuple[tuple[int, ...], int]]:
    return {name: (tuple(int(d) for d in shape), int(bits))
            for name, (shape, bits) in expected.items()}


def _read_entry(cursor: _Cursor, max_bytes: int,
                wanted: Mapping[str, tuple[tuple[int, ...], int]] | None) -> TensorEntry:
    """One tensor entry, checked field by field before the next is read."""
    name = cursor.text("a tensor name")
    if wanted is not None and name not in wanted:
        raise FrameError(FrameErrorCode.UNEXPECTED_TENSOR,
                         f"tensor {name!r:.80} is not one the receiver expects")
    bits, ndim = cursor.fields(_BITS_NDIM, f"the bits of {name!r:.80}")
    _check_bits(bits)
    if ndim > MAX_NDIM:
        raise FrameError(FrameErrorCode.BAD_SHAPE, f"{name!r:.80} has {ndim} dimensions, "
                         f"more than {MAX_NDIM}")
    shape = struct.unpack(f"<{ndim}I", cursor.take(4 * ndim, f"the shape of {name!r:.80}"))
    need = payload_length(math.prod(shape), bits)
    if need > max_bytes:
        raise FrameError(FrameErrorCode.BAD_SHAPE, f"{name!r:.80} of shape {shape} at {bits} "
                         f"bits needs {need} bytes, over the limit of {max_bytes}")
    if wanted is not None and wanted[name] != (shape, bits):
        raise FrameError(FrameErrorCode.UNEXPECTED_TENSOR, f"{name!r:.80} is {shape} at "
                         f"{bits} bits, the receiver expects {wanted[name][0]} at "
                         f"{wanted[name][1]}")
    scale, zero_point, size = cursor.fields(_SCALE_PAYLOAD, f"the scale of {name!r:.80}")
    _check_payload_length(name, shape, bits, size)
    payload = cursor.take(size, f"the payload of {name!r:.80}")
    return TensorEntry(name, bits, shape, scale, zero_point, bytes(payload))


def read_frame(read: Callable[[int], bytes], *, max_bytes: int,
               expected: Expected | None = None) -> Frame | None:
    """Read and decode one frame from a stream; None if the stream ends before it starts.

    `read(n)` returns up to n bytes, b"" at the end (`socket.recv`, a binary file's
    `read`). The length prefix is checked against `max_bytes` before any of the body is
    read, and the body is read in chunks of at most 1 MiB. Raises :class:`FrameError` as
    :func:`decode_frame` does (TRUNCATED if the stream ends inside a frame); after one,
    the stream is at an unknown place in the frame and the connection should be closed.
    Errors of `read` itself (a socket timeout) propagate unchanged.

    Example:
        >>> import io
        >>> stream = io.BytesIO(encode_frame(Frame.error(1, "x")))
        >>> read_frame(stream.read, max_bytes=64).message, read_frame(stream.read, max_bytes=64)
        ('x', None)
    """
    max_bytes = _MAX_BYTES("max_bytes", max_bytes)
    head = _read_exactly(read, _LENGTH.size, at_start=True)
    if head is None:
        return None
    (length,) = _LENGTH.unpack(head)
    _check_size(length, max_bytes)
    body = _read_exactly(read, length, at_start=False)
    return decode_frame(head + body, max_bytes=max_bytes, expected=expected)


def _read_exactly(read: Callable[[int], bytes], n: int, *, at_start: bool) -> bytes | None:
    """n bytes from `read`; None if it ends before the first byte of a frame."""
    buffer = bytearray()
    while len(buffer) < n:
        chunk = read(min(n - len(buffer), _READ_CHUNK))
        if not chunk:
            if at_start and not buffer:
                return None
            raise FrameError(FrameErrorCode.TRUNCATED, f"the stream ended after "
                             f"{len(buffer)} of {n} bytes")
        if len(chunk) > n - len(buffer):
            raise OptionError("read", f"a function returning at most the {n - len(buffer)} "
                              "bytes asked for", f"{len(chunk)} bytes")
        buffer += chunk
    return bytes(buffer)
