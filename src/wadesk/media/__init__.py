"""Files agents upload to send later as WhatsApp media (image, video, audio, document, sticker)."""
