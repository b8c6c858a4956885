"""The library's logger: ``logging.getLogger("fnsnn")`` and its children.

fnsnn reports notices (calibration progress, exported programs, NIR imports)
through standard :mod:`logging`; nothing is printed unless the application
configures logging, e.g. ``logging.basicConfig(level=logging.INFO)``.
"""

from __future__ import annotations

import logging

LOGGER_NAME = "fnsnn"

logging.getLogger(LOGGER_NAME).addHandler(logging.NullHandler())


def get_logger(child: str = "") -> logging.Logger:
    """The ``"fnsnn"`` logger, or its child ``"fnsnn.<child>"``."""
    return logging.getLogger(f"{LOGGER_NAME}.{child}" if child else LOGGER_NAME)
