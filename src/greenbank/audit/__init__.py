"""The audit trail: one append-only line per staff action, refusal and security event.

Every domain records audit lines through :func:`greenbank.audit.service.record` inside its own
unit of work, so the line commits (or not) with the change it describes.
"""

from greenbank.audit import models as models

__all__ = ["models"]
