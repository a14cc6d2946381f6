"""The Hugging Face hub as model=hf sees it: what `model.name` is (model type, local folder or hub id), its
config and image processor read from the hub's own cache (`HF_HOME`) before any request, and one line, at once,
when an id is not cached and the hub cannot be reached.

The hub client retries a failed connection for 23-49 s before it gives up; a socket probe of the endpoint
(2 s at most) answers first, so an offline machine hears what to do within seconds. Behind a proxy the probe
would say nothing true, so it is skipped there and the client decides.

transformers is passed in by the callers, which import it lazily.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from seg_cli.errors import ConfigError

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 2.0
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy")


OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")  # either switches huggingface_hub offline
PATH_PREFIXES = (".", "/", "~")  # a name written as a path: always a folder


def offline() -> bool:
    """HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) as set now (huggingface_hub reads them once, at import)."""
    return any(os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"} for name in OFFLINE_VARIABLES)


def is_folder(name: str) -> bool:
    """`model.name` names a local folder (written as a path, absolute, or an existing folder), not a hub id.
    A bare model type (`segformer`) is checked first by the builder: `./segformer` names a folder of that name."""
    path = Path(name).expanduser()
    return name.startswith(PATH_PREFIXES) or path.is_absolute() or "\\" in name or path.is_dir()


def is_model_type(transformers: Any, name: str) -> bool:
    """`model.name` is a transformers model type (`segformer`): built from its default config, no weights."""
    return name in transformers.CONFIG_MAPPING


def cache_dir() -> str:
    """The hub cache folder (HF_HUB_CACHE, else $HF_HOME/hub)."""
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def reachable() -> bool:
    """Whether the hub endpoint answers a TCP connection within PROBE_TIMEOUT_S (True behind a proxy)."""
    if offline():
        return False
    if any(os.environ.get(name) for name in PROXY_VARIABLES):
        return True
    return _probe()


@functools.cache
def _probe() -> bool:
    """One TCP connection to the hub endpoint (once a process: every load asks)."""
    from huggingface_hub import constants

    endpoint = constants.ENDPOINT if "://" in constants.ENDPOINT else f"https://{constants.ENDPOINT}"
    url = urlparse(endpoint)
    port = url.port or (80 if url.scheme == "http" else 443)
    try:
        socket.create_connection((url.hostname, port), timeout=PROBE_TIMEOUT_S).close()
    except OSError:
        return False
    return True


def not_cached(name: str, what: str = "") -> ConfigError:
    """The one line for an id the cache lacks on a machine that cannot fetch it."""
    why = "HF_HUB_OFFLINE is set" if offline() else "the hub cannot be reached"
    folder = cache_dir()
    return ConfigError(
        f"model.name={name}{what} is not in the Hugging Face cache ({folder}) and {why}: on a machine online run "
        f"`hf download {name}` and copy its cache folder here (HF_HOME chooses where), or give model.name=FOLDER "
        f"(a save_pretrained folder)")


def load_config(transformers: Any, name: str) -> Any:
    """The transformers config of a folder or hub id: the cache first, the hub only when it answers."""
    if is_folder(name):
        path = Path(name).expanduser()
        if not (path / "config.json").is_file():
            raise ConfigError(f"model.name={name}: no folder with a config.json (one written by save_pretrained)")
        try:
            return transformers.AutoConfig.from_pretrained(str(path))
        except (OSError, ValueError) as exc:  # unreadable JSON, a model type this transformers does not know
            raise ConfigError(f"model.name={name}: {first_line(exc)}") from None
    try:  # the cache first: a cached id builds with no request
        return transformers.AutoConfig.from_pretrained(name, local_files_only=True)
    except OSError:  # not cached
        pass
    except ValueError as exc:  # not a valid hub id, or a cached config this transformers cannot read
        raise ConfigError(f"model.name={name}: {first_line(exc)}") from None
    if not reachable():
        raise not_cached(name)
    try:
        return transformers.AutoConfig.from_pretrained(name)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"model.name={name}: {first_line(exc)}") from None


def load_processor(transformers: Any, name: str) -> Any | None:
    """The image processor saved with a folder or hub id: the folder or the cache first, then the hub when it
    answers; None, with a warning, when there is none (seg's own resize and normalisation then apply)."""
    source = str(Path(name).expanduser()) if is_folder(name) else name
    for local in (True,) if is_folder(name) or not reachable() else (True, False):
        try:
            return transformers.AutoImageProcessor.from_pretrained(source, local_files_only=local)
        except (OSError, ValueError):
            continue
    log.warning("model.name=%s: no image processor found%s, so the dataset's resize and normalisation apply "
                "(dataset.base_size, dataset.mean, dataset.std)", name, "" if is_folder(name) else " (cached or online)")
    return None


def local_only(name: str) -> bool:
    """Whether weights must come from the folder or the cache (no request): a folder, or the hub unreachable."""
    return is_folder(name) or not reachable()


def first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


LABEL_KEYS = ("id2label", "label2id")  # int-keyed (no OmegaConf key type), and num_classes sets them anyway


class HubModel:
    """What model=hf's adapters share: `model` (a transformers model) built from `name`, and the keys that let
    a checkpoint rebuild it anywhere (seg_cli.models.contract.rebuild_keys)."""

    model: Any
    name: str = ""

    def rebuild_keys(self) -> dict[str, Any]:
        """The transformers config (no hub, no folder needed), and a folder's absolute path (a relative one
        depends on the working directory)."""
        keys: dict[str, Any] = {"config": plain_config(self.model.config)}
        if self.name and is_folder(self.name):
            keys["name"] = str(Path(self.name).expanduser().resolve())
        return keys


def plain_config(config: Any) -> dict[str, Any]:
    """A transformers config as plain data for a checkpoint's run config, without its label tables (nested
    configs too)."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: strip(item) for key, item in value.items() if key not in LABEL_KEYS}
        return value

    return strip(config.to_dict())
