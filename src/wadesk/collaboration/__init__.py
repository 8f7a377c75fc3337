"""Working together on conversations: private notes, mentions, canned responses, labels, participants,
typing/viewing hints and round-robin auto-assignment."""
