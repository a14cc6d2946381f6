"""User-facing errors: each becomes one line on stderr and a non-zero exit, never a traceback."""


class SegError(Exception):
    """A problem the user can fix (bad path, bad config, bad data); printed as one line."""


class ConfigError(SegError):
    """A config value is missing, of the wrong type or out of range."""


class DataError(SegError):
    """A dataset, image or mask is missing or unusable."""


class CheckpointError(SegError):
    """A checkpoint is missing, unreadable or does not fit the model."""


def one_line(exc: BaseException) -> str:
    """The message of `exc` as one line, even when a DataLoader worker wrapped it in a traceback."""
    text = str(exc).strip()
    if "Original Traceback" in text:
        # DataLoader workers re-raise as `Type("Caught ... Original Traceback ...\nmodule.Type: msg")`.
        last = text.splitlines()[-1]
        text = last.split(": ", 1)[1] if ": " in last else last
    return " ".join(text.split())


def shorten(text: str, limit: int = 200) -> str:
    """The first sentence of `text` on one line (library messages often go on with advice that does not apply
    here), cut at a word boundary and marked with '...' when still longer than `limit`."""
    text = " ".join(text.split())
    text = text.split(". ", 1)[0].rstrip(".")
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip(",;:") + " ..."
