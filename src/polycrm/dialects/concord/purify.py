"""Concord CRM's HTML cleaning of rich text (its `clean()`: HTMLPurifier with the `default` settings of
modules/Core/config/html_purifier.php), done with nh3 (the ammonia sanitizer) and a few touches so that the
answer is the one Concord gives.

Concord stores an editor field as sent and cleans it when it shows it (its JsonResources and the Editor
field's resolver), so a body that any protocol wrote reaches a Concord client cleaned; PolyCRM does the same
(render.py, the `html` keys of the resource files, and comments). What is kept: the tags and attributes of
`HTML.Allowed`, `style` (only the properties of `CSS.AllowedProperties`, colour names as HTMLPurifier writes
them) and `class` on all of them, links of Concord's URI schemes, `<iframe>` sources of YouTube and Vimeo
only (`URI.SafeIframeRegexp`), `data:` URIs only of a real PNG, GIF or JPEG image. Scripts, styles,
comments, event handlers and other tags are dropped (the text of an unknown tag is kept, as HTMLPurifier
keeps it). As HTMLPurifier does, an image gets `alt` (its file name) when it has none and goes when it has
no source left; a link opening a new window gets `rel="noreferrer noopener"`.
"""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import unquote_to_bytes

import nh3

TAGS = frozenset(
    "a abbr acronym address b bdi blockquote br caption code col colgroup dd del details dfn div dl dt em "
    "figcaption figure h1 h2 h3 h4 h5 h6 hgroup hr i iframe img ins kbd li main ol p pre section small span "
    "strong sub summary sup table tbody td tfoot th thead time tr track tt u ul video source".split())
ATTRIBUTES = {
    "a": {"href", "title", "target"}, "div": {"data-noedit"},
    "iframe": {"src", "allowfullscreen", "frameborder", "width", "height"},
    "img": {"width", "height", "alt", "src"},
    "span": {"data-mention-id", "data-notified", "data-mention-char", "data-mention-value", "contenteditable"},
    "table": {"border", "cellpadding", "cellspacing"}, "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan", "scope"}, "video": {"loop", "autoplay", "poster", "controls", "preload"},
    "source": {"src", "type"}, "*": {"style", "class"}}
SCHEMES = frozenset({"http", "https", "mailto", "ftp", "nntp", "news", "tel", "data"})
CSS_PROPERTIES = frozenset(
    "font font-size font-weight font-style font-family padding-left padding-right padding-top padding-bottom "
    "padding margin margin-left margin-right margin-top margin-bottom color text-align letter-spacing width "
    "height min-width min-height max-width max-height overflow border border-width border-style border-color "
    "border-top border-bottom border-right border-left line-height text-decoration background background-color "
    "background-image background-size background-repeat background-position text-transform word-spacing "
    "opacity float position top left right border-radius bottom border-top-left-radius border-top-right-radius "
    "border-bottom-right-radius border-bottom-left-radius list-style display filter".split())
# HTMLPurifier's Core.ColorKeywords: the names it writes as hex.
COLOR_KEYWORDS = {"maroon": "#800000", "red": "#FF0000", "orange": "#FFA500", "yellow": "#FFFF00",
                  "olive": "#808000", "purple": "#800080", "fuchsia": "#FF00FF", "white": "#FFFFFF",
                  "lime": "#00FF00", "green": "#008000", "navy": "#000080", "blue": "#0000FF", "aqua": "#00FFFF",
                  "teal": "#008080", "black": "#000000", "silver": "#C0C0C0", "gray": "#808080"}
SAFE_IFRAME = re.compile(r"^(http://|https://|//)(www.youtube.com/embed/|player.vimeo.com/video/)")
# What a data: URI may hold (HTMLPurifier's URIScheme_data): an image of these types, by its first bytes.
IMAGE_MAGIC = {"image/png": (b"\x89PNG\r\n\x1a\n",), "image/gif": (b"GIF87a", b"GIF89a"), "image/jpeg": (b"\xff\xd8\xff",)}
_DATA_URI = re.compile(r"^data:([^,;]*)((?:;[^,;]*)*),(.*)$", re.IGNORECASE | re.DOTALL)
BOOLEAN_ATTRIBUTES = frozenset({"allowfullscreen", "loop", "autoplay", "controls", "data-noedit"})
# A start tag of nh3's output, whose attribute values are always double-quoted with `"` escaped.
_START_TAG = re.compile(r'<(a|img|iframe|video|div)((?:\s[^\s=>"/]+(?:="[^"]*")?)*)\s*/?>')
_ATTRIBUTE = re.compile(r'\s([^\s=>"/]+)(?:="([^"]*)")?')
# An iframe of nh3's output and its raw content (which cannot hold `</iframe>`: that ends it).
_IFRAME = re.compile(r"(<iframe[^>]*>)(.*?)</iframe>", re.DOTALL)
_URL_IN_CSS = re.compile(r"url\s*\(\s*['\"]?\s*([^'\")]*)", re.IGNORECASE)


def _data_uri_ok(value: str) -> bool:
    match = _DATA_URI.match(value.strip())
    if match is None:
        return False
    kind, params, payload = match.group(1).lower(), match.group(2).lower(), match.group(3)
    try:
        raw = base64.b64decode(payload, validate=False) if ";base64" in params else unquote_to_bytes(payload)
    except (binascii.Error, ValueError):
        return False
    return any(raw.startswith(magic) for magic in IMAGE_MAGIC.get(kind, ()))


def _style(value: str) -> str | None:
    """The declarations Concord keeps, written as HTMLPurifier writes them (`name:value;`); None if none."""
    kept = []
    for declaration in value.split(";"):
        name, colon, css = declaration.partition(":")
        name, css = name.strip().lower(), css.strip()
        if not colon or not css or name not in CSS_PROPERTIES or "expression" in css.lower() or "\\" in css:
            continue
        urls = _URL_IN_CSS.findall(css)
        if any(not re.match(r"^(https?:|//|/|[\w.-]+(/|$))", url.strip(), re.IGNORECASE) for url in urls):
            continue  # javascript:, data: and other schemes in a url()
        if name in ("color", "background-color", "border-color"):
            css = COLOR_KEYWORDS.get(css.lower(), css)
        kept.append(f"{name}:{css};")
    return "".join(kept) or None


def _attribute(element: str, attribute: str, value: str) -> str | None:
    if attribute == "style":
        return _style(value)
    if element == "iframe" and attribute == "src":
        return value if SAFE_IFRAME.match(value) else None
    if attribute in ("href", "src", "poster") and value.strip().lower().startswith("data:"):
        return value if _data_uri_ok(value) else None
    return value


_CLEANER = nh3.Cleaner(tags=set(TAGS), attributes={k: set(v) for k, v in ATTRIBUTES.items()}, link_rel=None,
                       url_schemes=set(SCHEMES), clean_content_tags={"script", "style"},
                       attribute_filter=_attribute)


def _touch(match: re.Match[str]) -> str:
    """HTMLPurifier's transforms of a start tag nh3 left: boolean attributes minimised, an image's `alt`
    (removed without a source), `rel` on a link opening a new window."""
    tag = match.group(1)
    attributes = [(name, value) for name, value in _ATTRIBUTE.findall(match.group(2))]
    names = {name for name, _ in attributes}
    if tag == "img":
        source = next((value for name, value in attributes if name == "src"), None)
        if not source:
            return ""
        if "alt" not in names:
            attributes.append(("alt", source.rstrip("/").rsplit("/", 1)[-1]))
    if tag == "a" and ("target", "_blank") in attributes and "rel" not in names:
        attributes.append(("rel", "noreferrer noopener"))
    shown = "".join(f" {name}" if name in BOOLEAN_ATTRIBUTES and value == "" else f' {name}="{value}"'
                    for name, value in attributes)
    return f"<{tag}{shown}>"


def _iframe(match: re.Match[str]) -> str:
    """An iframe with its content cleaned as HTML: the HTML5 parser keeps it as raw text, which nh3 writes
    back as it came (`<iframe><script>…`); HTMLPurifier cleans it as any content."""
    return f"{match.group(1)}{purify(match.group(2))}</iframe>"


def purify(html: str) -> str:
    """`html` as Concord's `clean()` answers it."""
    if "<" not in html and "&" not in html and ">" not in html:
        return html  # plain text: nothing to clean (the usual body)
    cleaned = _START_TAG.sub(_touch, _CLEANER.clean(html))
    if "<iframe" in cleaned:
        cleaned = _IFRAME.sub(_iframe, cleaned)
    if "<tbody" not in html.lower():  # the HTML5 parser adds tbody; HTMLPurifier keeps a table as sent
        cleaned = cleaned.replace("<tbody>", "").replace("</tbody>", "")
    return cleaned


__all__ = ["purify"]
