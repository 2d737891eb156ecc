"""Every report caption is valid reStructuredText (a stray `name_` is a dangling link in the report)."""

from __future__ import annotations

import docutils.core
import docutils.utils
import pytest

from tests.helpers.workflow import ROOT


@pytest.mark.parametrize("caption", sorted((ROOT / "report").glob("*.rst")), ids=lambda p: p.name)
def test_the_caption_parses_without_warnings(caption):
    docutils.core.publish_string(
        caption.read_text(), writer_name="null", settings_overrides={"report_level": 5, "halt_level": 2}
    )
