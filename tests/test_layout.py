"""Tools configured by path find the files that now live inside the package."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "matchmaker" / "templates"


def test_babel_cfg_extracts_the_messages_of_every_translatable_template():
    with (ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    extracted = {Path(found[0]).as_posix() for found in extract_from_dir(str(ROOT), method_map, options_map)}
    translatable = {
        path.relative_to(ROOT).as_posix() for path in TEMPLATES.rglob("*.html") if "_(" in path.read_text("utf-8")
    }
    assert translatable, "no template with a translatable message found: the test looks in the wrong place"
    assert sorted(translatable - extracted) == []
