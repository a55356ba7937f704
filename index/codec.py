"""Byte formats of the index file: postings rows and document texts.

Why compress at all: at a million chunks the postings as plain 4-byte chunk ids and the texts as
SQLite TEXT were 1.08 GB on disk, 2.4x bm25s's whole index. Both formats keep the index exact and
cheap to read:

* A postings row (sorted chunk ids with term frequencies) is one stream of LEB128 varints, one per
  posting: `(gap << 1) | (tf > 1)`, where `gap` is the distance to the previous id minus one. Nearly
  every term frequency is 1 (a chunk is a paragraph), so the rare larger ones go to a second stream
  as `tf - 2`. ~1.3 bytes a posting instead of 5. Encoding and decoding are numpy passes (no
  compiled code, so a small index's cold process pays nothing extra), done once per row: readers
  cache decoded rows.
* Document texts are UTF-8, concatenated in the order written and compressed with Zstandard in
  blocks of up to TEXT_BLOCK_BYTES: short records (a JSONL line per document) compress 2.5x in a
  128 KiB block and 1.6x one by one. Block size trades disk for reading time: at 1M records 512 KiB
  blocks save another 12 MiB but cost ~1 ms per passage read instead of ~0.25 ms, and a question
  reads up to 40 candidate passages. Passages are decompressed only when read
  (`SearchHit.text`), and readers keep recent blocks and texts.
"""
from __future__ import annotations

import numpy as np

TEXT_BLOCK_BYTES = 128 * 1024
ZSTD_LEVEL = 3  # ~7 s per GB here; levels 5-6 cost twice the CPU for 2-4% less


def _varint_encode(values: np.ndarray) -> bytes:
    if not len(values):
        return b""
    top = int(values.max())
    if top < 0x80:
        return values.astype(np.uint8).tobytes()
    v = values.astype(np.uint32 if top < 2**32 else np.uint64, copy=False)
    width = (top.bit_length() + 6) // 7  # bytes of the largest value
    nbytes = np.ones(len(v), dtype=np.int64)
    for k in range(1, width):
        nbytes += v >= (1 << (7 * k))
    starts = np.cumsum(nbytes) - nbytes
    out = np.empty(int(starts[-1] + nbytes[-1]), dtype=np.uint8)
    out[starts] = (v & 0x7F).astype(np.uint8) | np.where(nbytes > 1, 0x80, 0).astype(np.uint8)
    for k in range(1, width):
        sel = np.flatnonzero(nbytes > k)
        out[starts[sel] + k] = ((v[sel] >> (7 * k)) & 0x7F).astype(np.uint8) | \
            np.where(nbytes[sel] > k + 1, 0x80, 0).astype(np.uint8)
    return out.tobytes()


def _varint_decode(blob: bytes) -> np.ndarray:
    b = np.frombuffer(blob, dtype=np.uint8)
    last = np.flatnonzero(b < 0x80)
    if len(last) == len(b):
        return b.astype(np.uint64)
    if not len(last) or last[-1] != len(b) - 1:
        raise ValueError("truncated varint stream")
    starts = np.empty(len(last), dtype=np.int64)
    starts[0] = 0
    starts[1:] = last[:-1] + 1
    nbytes = last - starts + 1
    out = (b[starts] & 0x7F).astype(np.uint64)
    for k in range(1, int(nbytes.max())):
        sel = np.flatnonzero(nbytes > k)
        out[sel] |= (b[starts[sel] + k] & 0x7F).astype(np.uint64) << np.uint64(7 * k)
    return out


def pack_postings(ids: np.ndarray, tfs: np.ndarray) -> tuple[bytes, bytes]:
    """A row's (chunk ids ascending, term frequencies >= 1) -> (postings stream, larger-tf stream)."""
    ids64 = ids.astype(np.int64, copy=False)
    gaps = np.diff(ids64, prepend=-1) - 1
    if len(gaps) and gaps.min() < 0:
        raise ValueError("chunk ids of a postings row must be strictly ascending")
    big = tfs > 1
    stream = (gaps.astype(np.uint64) << np.uint64(1)) | big.astype(np.uint64)
    return _varint_encode(stream), _varint_encode(tfs[big].astype(np.uint64) - np.uint64(2))


def unpack_postings(stream: bytes, extra: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of `pack_postings`: (chunk ids as uint32, term frequencies as uint8, or uint16 if any exceeds 255)."""
    v = _varint_decode(stream)
    ids = np.cumsum((v >> np.uint64(1)) + np.uint64(1), dtype=np.uint64) - np.uint64(1)
    tfs = np.ones(len(v), dtype=np.uint8)  # one byte each unless the row needs two (memory of cached rows)
    if extra:
        big = np.flatnonzero(v & np.uint64(1))
        more = np.minimum(_varint_decode(extra) + np.uint64(2), np.uint64(65535))
        if len(more) != len(big):
            raise ValueError("postings row: term frequency stream does not match its chunk ids")
        if more.max() > 255:
            tfs = tfs.astype(np.uint16)
        tfs[big] = more
    return ids.astype(np.uint32), tfs


def encode_text(text: str) -> bytes:
    """A document's text as stored (lone surrogates from undecodable input survive the round trip)."""
    return text.encode("utf-8", "surrogatepass")


def decode_text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogatepass")


def _zstd():
    import zstandard  # ~20 ms to import: only a process that reads or writes texts pays it

    return zstandard


def group_texts(sizes: list[int], target: int = TEXT_BLOCK_BYTES) -> list[list[int]]:
    """Indexes of consecutive texts per block: blocks of about `target` bytes, a text never split
    (a text larger than `target` is a block of its own)."""
    groups: list[list[int]] = []
    size = 0
    for i, n in enumerate(sizes):
        if not groups or size + n > target:
            groups.append([])
            size = 0
        groups[-1].append(i)
        size += n
    return groups


def compress_block(parts: list[bytes]) -> tuple[bytes, list[tuple[int, int]]]:
    """Encoded texts -> (their compressed concatenation, (offset, size) of each in it)."""
    spans, at = [], 0
    for raw in parts:
        spans.append((at, len(raw)))
        at += len(raw)
    compressor = _zstd().ZstdCompressor(level=ZSTD_LEVEL, write_checksum=True)
    return compressor.compress(b"".join(parts)), spans


def unpack_text_block(data: bytes) -> bytes:
    """A block's decompressed bytes; a damaged block raises (zstd checks its content checksum)."""
    z = _zstd()
    try:
        return z.ZstdDecompressor().decompress(data)
    except z.ZstdError as exc:
        raise ValueError(f"damaged text block: {exc}") from exc
