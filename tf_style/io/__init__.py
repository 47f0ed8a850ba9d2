"""Files in and out: images (`images`), atomic writes and digests (`files`)."""
