"""What WhatsApp accepts as media: the supported types, their size limits, and how a file is recognised.

From Meta's media reference (shared/whatsapp/CLOUD_API_NOTES.md §10): audio 16 MB (aac, amr, mp3, m4a, ogg),
documents 100 MB (txt, pdf, Word, Excel, PowerPoint), images 5 MB (jpeg, png), stickers WebP (animated
500 KB, static 100 KB), video 16 MB (mp4, 3gpp). Pure functions, no I/O.
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath

KB = 1024
MB = 1024 * KB
MAX_UPLOAD_BYTES = 100 * MB
"""The largest file any type allows (documents)."""
STATIC_STICKER_BYTES = 100 * KB
MAX_FILENAME_LENGTH = 240


@dataclass(frozen=True, slots=True)
class MediaRule:
    mime_type: str
    kind: str
    max_bytes: int
    extensions: tuple[str, ...]
    description: str


RULES: dict[str, MediaRule] = {
    rule.mime_type: rule
    for rule in (
        MediaRule("image/jpeg", "image", 5 * MB, (".jpg", ".jpeg"), "a JPEG image"),
        MediaRule("image/png", "image", 5 * MB, (".png",), "a PNG image"),
        MediaRule("image/webp", "sticker", 500 * KB, (".webp",), "a WebP sticker"),
        MediaRule("video/mp4", "video", 16 * MB, (".mp4",), "an MP4 video"),
        MediaRule("video/3gpp", "video", 16 * MB, (".3gp", ".3gpp"), "a 3GPP video"),
        MediaRule("audio/aac", "audio", 16 * MB, (".aac",), "an AAC audio file"),
        MediaRule("audio/amr", "audio", 16 * MB, (".amr",), "an AMR audio file"),
        MediaRule("audio/mpeg", "audio", 16 * MB, (".mp3",), "an MP3 audio file"),
        MediaRule("audio/mp4", "audio", 16 * MB, (".m4a",), "an M4A audio file"),
        MediaRule("audio/ogg", "audio", 16 * MB, (".ogg", ".opus"), "an OGG (Opus) audio file"),
        MediaRule("text/plain", "document", 100 * MB, (".txt",), "a text file"),
        MediaRule("application/pdf", "document", 100 * MB, (".pdf",), "a PDF document"),
        MediaRule("application/msword", "document", 100 * MB, (".doc",), "a Word document"),
        MediaRule(
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "document",
            100 * MB,
            (".docx",),
            "a Word document",
        ),
        MediaRule("application/vnd.ms-excel", "document", 100 * MB, (".xls",), "an Excel workbook"),
        MediaRule(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "document",
            100 * MB,
            (".xlsx",),
            "an Excel workbook",
        ),
        MediaRule("application/vnd.ms-powerpoint", "document", 100 * MB, (".ppt",), "a PowerPoint file"),
        MediaRule(
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "document",
            100 * MB,
            (".pptx",),
            "a PowerPoint file",
        ),
    )
}
SUPPORTED_KINDS = ("image", "video", "audio", "document", "sticker")

# Names browsers and operating systems give the supported types.
_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "video/3gp": "video/3gpp",
    "audio/x-aac": "audio/aac",
    "audio/aacp": "audio/aac",
    "audio/amr-nb": "audio/amr",
    "audio/mp3": "audio/mpeg",
    "audio/mpeg3": "audio/mpeg",
    "audio/x-mpeg": "audio/mpeg",
    "audio/x-mp3": "audio/mpeg",
    "audio/x-m4a": "audio/mp4",
    "audio/m4a": "audio/mp4",
    "audio/opus": "audio/ogg",
    "application/ogg": "audio/ogg",
    "application/x-pdf": "application/pdf",
}
# Types that tell nothing about the file: the extension decides then.
_UNINFORMATIVE = {"", "application/octet-stream", "binary/octet-stream", "application/unknown"}
_BY_EXTENSION = {ext: rule for rule in RULES.values() for ext in rule.extensions}

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy Office files (.doc, .xls, .ppt)
_ZIP = b"PK\x03\x04"  # Office Open XML files (.docx, .xlsx, .pptx)


class UnsupportedMedia(ValueError):
    """The file is not of a type WhatsApp accepts, or its content is not what its type says."""


def base_mime(value: str | None) -> str:
    """`audio/ogg; codecs=opus` → `audio/ogg`."""
    return (value or "").split(";", 1)[0].strip().lower()


def clean_filename(value: str | None) -> str:
    """The name a file is shown with: no folders, no control characters, at most 240 characters."""
    raw = value or ""
    name = PureWindowsPath(PurePosixPath(raw).name).name
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip().strip(".")
    name = re.sub(r"\s+", " ", name)
    if len(name) > MAX_FILENAME_LENGTH:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[: MAX_FILENAME_LENGTH - len(ext) - 1] + "." + ext
        else:
            name = name[:MAX_FILENAME_LENGTH]
    return name or "file"


def rule_for(declared_type: str | None, filename: str) -> MediaRule:
    """The rule for a file from its declared type, or from its extension when the type says nothing."""
    mime = base_mime(declared_type)
    mime = _ALIASES.get(mime, mime)
    if mime in _UNINFORMATIVE:
        extension = PurePosixPath(filename.lower()).suffix
        rule = _BY_EXTENSION.get(extension)
        if rule is None:
            guessed = base_mime(mimetypes.guess_type(filename)[0])
            rule = RULES.get(_ALIASES.get(guessed, guessed))
        if rule is None:
            raise UnsupportedMedia(
                f"WhatsApp does not accept files like '{filename}'. Supported: {supported_summary()}."
            )
        return rule
    rule = RULES.get(mime)
    if rule is None:
        raise UnsupportedMedia(f"WhatsApp does not accept {mime} files. Supported: {supported_summary()}.")
    return rule


def supported_summary() -> str:
    return (
        "images (JPEG, PNG up to 5 MB), stickers (WebP up to 500 KB), videos (MP4, 3GPP up to 16 MB), "
        "audio (AAC, AMR, MP3, M4A, OGG up to 16 MB) and documents (PDF, TXT, Word, Excel, PowerPoint "
        "up to 100 MB)"
    )


def content_matches(rule: MediaRule, head: bytes) -> bool:
    """Whether the first bytes of a file are those of its type. Types without a reliable signature (text,
    MP3, AAC) pass; a mismatch is what Meta refuses later as 131053."""
    mime = rule.mime_type
    if mime == "image/jpeg":
        return head.startswith(b"\xff\xd8\xff")
    if mime == "image/png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if mime == "image/webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if mime in ("video/mp4", "video/3gpp", "audio/mp4"):
        return head[4:8] == b"ftyp"
    if mime == "audio/ogg":
        return head.startswith(b"OggS")
    if mime == "audio/amr":
        return head.startswith(b"#!AMR")
    if mime == "application/pdf":
        return head.startswith(b"%PDF-")
    if mime in ("application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint"):
        return head.startswith(_OLE)
    if mime.startswith("application/vnd.openxmlformats-officedocument."):
        return head.startswith(_ZIP)
    return True


def is_animated_webp(head: bytes) -> bool:
    """An extended WebP (VP8X chunk) with its animation flag set."""
    return head[12:16] == b"VP8X" and len(head) > 20 and bool(head[20] & 0x02)


def size_limit(rule: MediaRule, head: bytes) -> int:
    """The largest size this file may have; static stickers are held to 100 KB."""
    if rule.mime_type == "image/webp" and not is_animated_webp(head):
        return STATIC_STICKER_BYTES
    return rule.max_bytes


def human_size(size: int) -> str:
    if size >= MB:
        return f"{size / MB:g} MB"
    return f"{size / KB:g} KB"
