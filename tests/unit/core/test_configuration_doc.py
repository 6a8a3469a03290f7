"""docs/configuration.md lists every setting, so operators can trust it."""

from pathlib import Path

from greenbank.config import Settings

DOC = Path(__file__).parents[3] / "docs" / "configuration.md"


def test_every_setting_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [n for n in Settings.model_fields if f"`GREENBANK_{n.upper()}`" not in text]
    assert missing == []
