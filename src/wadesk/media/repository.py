from __future__ import annotations

from wadesk.kit.repository import Repository
from wadesk.media.models import MediaUpload


class MediaUploadRepository(Repository[MediaUpload]):
    model = MediaUpload
    not_found_message = "Uploaded media not found."
