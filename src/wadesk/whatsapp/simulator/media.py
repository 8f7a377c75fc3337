"""Media objects the simulated Graph API stores: uploads from the app and files simulated customers send."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from . import graph_errors
from .ids import new_numeric_id

_MB = 1024 * 1024
# Meta's supported upload types and their size limits (business-phone-numbers/media).
MEDIA_LIMITS: dict[str, int] = {
    "audio/aac": 16 * _MB,
    "audio/amr": 16 * _MB,
    "audio/mpeg": 16 * _MB,
    "audio/mp4": 16 * _MB,
    "audio/ogg": 16 * _MB,
    "text/plain": 100 * _MB,
    "application/pdf": 100 * _MB,
    "application/vnd.ms-excel": 100 * _MB,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": 100 * _MB,
    "application/msword": 100 * _MB,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": 100 * _MB,
    "application/vnd.ms-powerpoint": 100 * _MB,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": 100 * _MB,
    "image/jpeg": 5 * _MB,
    "image/png": 5 * _MB,
    "image/webp": 500 * 1024,
    "video/mp4": 16 * _MB,
    "video/3gpp": 16 * _MB,
}
DOWNLOAD_PATH = "/whatsapp_business/attachments/"


def base_mime(mime_type: str) -> str:
    """`audio/ogg; codecs=opus` → `audio/ogg`."""
    return mime_type.split(";", 1)[0].strip().lower()


@dataclass(frozen=True)
class MediaObject:
    id: str
    phone_number_id: str
    mime_type: str
    data: bytes
    sha256: str
    filename: str | None = None

    @property
    def file_size(self) -> int:
        return len(self.data)


class MediaStore:
    """In-memory media with a total size cap; the oldest objects go first when the cap is reached."""

    def __init__(self, max_total_bytes: int) -> None:
        self.max_total_bytes = max_total_bytes
        self._objects: OrderedDict[str, MediaObject] = OrderedDict()
        self._total = 0
        self._url_key = secrets.token_bytes(32)

    @property
    def total_bytes(self) -> int:
        return self._total

    def __len__(self) -> int:
        return len(self._objects)

    def put(
        self, phone_number_id: str, data: bytes, mime_type: str, filename: str | None = None
    ) -> MediaObject:
        if len(data) > self.max_total_bytes:
            raise graph_errors.media_upload_error("The file is larger than the simulator's media storage.")
        media = MediaObject(
            id=new_numeric_id(),
            phone_number_id=phone_number_id,
            mime_type=mime_type,
            data=data,
            sha256=base64.b64encode(hashlib.sha256(data).digest()).decode(),
            filename=filename,
        )
        while self._objects and self._total + len(data) > self.max_total_bytes:
            _, evicted = self._objects.popitem(last=False)
            self._total -= evicted.file_size
        self._objects[media.id] = media
        self._total += len(data)
        return media

    def get(self, media_id: str) -> MediaObject | None:
        return self._objects.get(media_id)

    def delete(self, media_id: str) -> bool:
        media = self._objects.pop(media_id, None)
        if media is None:
            return False
        self._total -= media.file_size
        return True

    def url_hash(self, media_id: str, expires: int) -> str:
        mac = hmac.new(self._url_key, f"{media_id}:{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:18]).decode()

    def download_url(self, base_url: str, media_id: str, expires: int) -> str:
        """A lookaside-style URL: `…/whatsapp_business/attachments/?mid=…&ext=…&hash=…`."""
        signature = self.url_hash(media_id, expires)
        return f"{base_url.rstrip('/')}{DOWNLOAD_PATH}?mid={media_id}&ext={expires}&hash={signature}"

    def url_is_valid(self, media_id: str, expires: str, given_hash: str) -> bool:
        if not expires.isdigit():
            return False
        return hmac.compare_digest(self.url_hash(media_id, int(expires)), given_hash)


def validate_upload(data: bytes, mime_type: str) -> None:
    """Meta's checks on `POST /{phone-number-id}/media`: a supported type within its size limit."""
    mime = base_mime(mime_type)
    limit = MEDIA_LIMITS.get(mime)
    if limit is None:
        raise graph_errors.media_upload_error(
            f"Param file must be a file with one of the following types: {', '.join(sorted(MEDIA_LIMITS))}. "
            f"Received file of type '{mime}'."
        )
    if not data:
        raise graph_errors.required_parameter("file")
    if len(data) > limit:
        raise graph_errors.media_upload_error(
            f"File of type {mime} is too large: the limit is {limit} bytes."
        )


@dataclass(frozen=True)
class FormPart:
    name: str
    data: bytes
    filename: str | None
    content_type: str | None


def parse_multipart(content_type: str, body: bytes) -> dict[str, FormPart]:
    """Parse a `multipart/form-data` body with the standard library (first part of each name wins)."""
    if not content_type.lower().startswith("multipart/form-data") or "boundary=" not in content_type:
        raise graph_errors.invalid_parameter("The request must be multipart/form-data.")
    document = BytesParser(policy=policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not isinstance(document, EmailMessage) or not document.is_multipart():
        raise graph_errors.invalid_parameter("The multipart body could not be parsed.")
    parts: dict[str, FormPart] = {}
    for part in document.iter_parts():
        if not isinstance(part, EmailMessage):
            continue
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or name in parts:
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        has_type = part.get("content-type") is not None
        parts[name] = FormPart(
            name=name,
            data=data,
            filename=filename,
            content_type=part.get_content_type() if has_type else None,
        )
    return parts


# --- sample files simulated customers send ------------------------------------------------------------------


def _png(width: int, height: int) -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
        )

    rows = b"".join(
        b"\x00" + b"".join(bytes((40 + x * 3, 120 + y * 2, 200 - x)) for x in range(width))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else (crc << 1)
            crc &= 0xFFFFFFFF
    return crc


def _ogg_page(packets: list[bytes], *, header_type: int, granule: int, serial: int, sequence: int) -> bytes:
    segments = b""
    for packet in packets:
        segments += b"\xff" * (len(packet) // 255) + bytes([len(packet) % 255])
    head = struct.pack("<4sBBqIII", b"OggS", 0, header_type, granule, serial, sequence, 0)
    page = head + bytes([len(segments)]) + segments + b"".join(packets)
    crc = _ogg_crc(page)
    return page[:22] + struct.pack("<I", crc) + page[26:]


def _ogg_opus_voice_note(seconds: int = 1) -> bytes:
    pre_skip = 312
    serial = 0x5EC0DE
    opus_head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, pre_skip, 48000, 0, 0)
    vendor = b"wadesk"
    opus_tags = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", 0)
    silence = b"\xf8\xff\xfe"  # one 20 ms CELT frame of silence
    frames = [silence] * (50 * seconds)
    return (
        _ogg_page([opus_head], header_type=0x02, granule=0, serial=serial, sequence=0)
        + _ogg_page([opus_tags], header_type=0x00, granule=0, serial=serial, sequence=1)
        + _ogg_page(frames, header_type=0x04, granule=pre_skip + 960 * len(frames), serial=serial, sequence=2)
    )


def _pdf(text: str) -> bytes:
    safe = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 18 Tf 72 720 Td ({safe}) Tj ET".encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def _mp4_stub() -> bytes:
    ftyp = b"ftyp" + b"isom" + struct.pack(">I", 512) + b"isomiso2avc1mp41"
    free = b"free" + b"\x00" * 8
    return struct.pack(">I", len(ftyp) + 4) + ftyp + struct.pack(">I", len(free) + 4) + free


_WEBP_1X1 = base64.b64decode("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")


@dataclass(frozen=True)
class SampleMedia:
    data: bytes
    mime_type: str
    filename: str | None = None


def sample_media(kind: str, *, filename: str | None = None) -> SampleMedia:
    """A small well-formed file of the kind a customer sends (image, audio, video, document, sticker)."""
    if kind == "image":
        return SampleMedia(_png(48, 32), "image/png")
    if kind == "audio":
        return SampleMedia(_ogg_opus_voice_note(), "audio/ogg; codecs=opus")
    if kind == "video":
        return SampleMedia(_mp4_stub(), "video/mp4")
    if kind == "document":
        return SampleMedia(_pdf("Simulated customer document"), "application/pdf", filename or "document.pdf")
    if kind == "sticker":
        return SampleMedia(_WEBP_1X1, "image/webp")
    raise ValueError(f"no sample media for {kind!r}")
