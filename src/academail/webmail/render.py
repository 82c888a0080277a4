"""Turning a stored message into what the reading page shows, safely: the body
to display (HTML sanitised by nh3 with an allow-list of tags, attributes and CSS
properties, remote images blocked unless asked for, ``cid:`` images inlined
from their parts; plain text escaped then linkified), the attachments list and
safe download file names.

Pure functions over the blob and its part map: no ORM, no request.
HTML is sanitised once, here, and nothing edits the markup afterwards (the
post-processing of sanitised markup is how Roundcube's sanitiser was
bypassed again and again).
"""

from __future__ import annotations

import base64
import email.policy
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from urllib.parse import quote

import nh3
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from academail.delivery.authcheck import authentication_failed
from academail.mime.parse import Part, decode_part_body, iter_parts, part_text
from academail.webmail.stylesheet import sanitize_stylesheet, style_blocks

# Tags kept (others are unwrapped: their text stays); no script, style, svg,
# math, form, iframe, object, base, meta, link, template, noscript.
ALLOWED_TAGS = {
    "a", "abbr", "address", "b", "bdi", "bdo", "big", "blockquote", "br", "caption", "center",
    "cite", "code", "col", "colgroup", "dd", "del", "dfn", "div", "dl", "dt", "em", "font",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p",
    "pre", "q", "s", "samp", "small", "span", "strike", "strong", "sub", "sup", "table", "tbody",
    "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul", "var", "wbr",
}
# Removed with everything inside them.
DROPPED_WITH_CONTENT = {"script", "style", "svg", "math", "template", "noscript", "title", "head",
                        "iframe", "object", "embed", "textarea", "select", "xmp", "noembed", "noframes"}
# ``id`` so that in-page ``#anchor`` links have somewhere to go (the frame is
# its own document, without scripts: an id cannot clobber anything of ours).
# ``class`` for the message's own stylesheet (``webmail.stylesheet``), kept scoped to it.
_COMMON = {"style", "title", "dir", "lang", "align", "valign", "width", "height", "bgcolor", "color", "id", "class"}
ALLOWED_ATTRIBUTES = {
    "*": _COMMON,
    "a": {"href", "name"},
    "img": {"src", "alt", "border"},
    "table": {"border", "cellpadding", "cellspacing", "summary"},
    "td": {"colspan", "rowspan", "nowrap"},
    "th": {"colspan", "rowspan", "nowrap", "scope"},
    "col": {"span"},
    "colgroup": {"span"},
    "font": {"face", "size"},
    "ol": {"start", "type"},
    "ul": {"type"},
    "blockquote": {"cite"},
    "q": {"cite"},
}
URL_SCHEMES = {"http", "https", "mailto", "cid", "tel", "data"}
# Links kept: absolute web and mail links, phone numbers (RFC 3966), and
# in-page anchors; a relative URL would resolve against the webmail itself.
_LINK_PREFIXES = ("http:", "https:", "mailto:", "tel:")
# Inline images written into the HTML itself (RFC 2397): raster types only
# (never SVG, a document that runs scripts), within the cid: size limit.
_DATA_IMAGE = re.compile(r"data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*\Z", re.IGNORECASE)
# CSS properties kept in style attributes; nothing that takes a url() (background,
# list-style-image, border-image, content, cursor) or positions over the page.
ALLOWED_CSS = {
    "color", "background-color", "font", "font-family", "font-size", "font-style", "font-weight",
    "font-variant", "text-align", "text-decoration", "text-indent", "text-transform",
    "letter-spacing", "word-spacing", "line-height", "vertical-align", "white-space",
    "margin", "margin-top", "margin-right", "margin-bottom", "margin-left",
    "padding", "padding-top", "padding-right", "padding-bottom", "padding-left",
    "border", "border-top", "border-right", "border-bottom", "border-left", "border-color",
    "border-style", "border-width", "border-collapse", "border-spacing", "border-radius",
    "width", "max-width", "min-width", "height", "max-height", "min-height",
    "list-style-type", "table-layout", "direction", "overflow-wrap", "word-break",
}
# A message's own stylesheet may also lay blocks out (responsive newsletters
# show and hide columns by media query); still nothing that positions.
STYLESHEET_CSS = ALLOWED_CSS | {"display", "float", "clear"}
_CSS_FORBIDDEN = ("url(", "expression", "\\", "@", "image-set", "javascript", "behavior", "-moz-binding")
INLINE_IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
MAX_INLINE_IMAGE = 2 * 1024 * 1024
MAX_HTML_CHARS = 2 * 1024 * 1024
MAX_TEXT_CHARS = 1024 * 1024


PREVIEW_IMAGE_TYPES = INLINE_IMAGE_TYPES  # never SVG: it is a document that runs scripts
MAX_PREVIEW = 20 * 1024 * 1024
# The first bytes each previewable type must start with: a part that claims
# image/png but is HTML is served as a download, never inline.
_MAGIC = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
    "application/pdf": (b"%PDF-",),
}
EMBEDDED_TYPES = ("message/rfc822", "message/global")
MAX_EMBEDDED_DEPTH = 5


# A link's href in, the href to use out (protection's interstitial page for a flagged link).
LinkRewrite = Callable[[str], str]


@dataclass(frozen=True)
class Attachment:
    section: str
    filename: str
    content_type: str
    size: int
    # Its first bytes are those of the image or PDF type it claims, within the
    # preview size: what the preview URL checks before answering.
    can_preview: bool = True

    @property
    def kind(self) -> str:
        """"image" (a thumbnail is shown), "pdf" (opens in a tab), "message"
        (opens as a message) or "" (download only). A part whose bytes are not
        the image or PDF it claims to be gets no preview (the preview URL
        would refuse it)."""
        if self.content_type in PREVIEW_IMAGE_TYPES and self.can_preview:
            return "image"
        if self.content_type == "application/pdf" and self.can_preview:
            return "pdf"
        if self.content_type in EMBEDDED_TYPES:
            return "message"
        return ""


@dataclass(frozen=True)
class Body:
    kind: str  # "html", "text" or "" (nothing to show)
    text_html: SafeString  # plain text escaped and linkified (kind "text")
    has_remote_images: bool


def _is_attachment(part: Part) -> bool:
    return part.disposition == "attachment" or bool(part.filename)


def body_parts(root: Part) -> tuple[Part | None, Part | None]:
    """The first text/plain and text/html parts that are the message's own text
    (not attachments, not inside an attached message)."""
    plain: Part | None = None
    html: Part | None = None
    for _section, part in _own_parts(root):
        if part.is_multipart or _is_attachment(part):
            continue
        if part.content_type == "text/plain" and plain is None:
            plain = part
        elif part.content_type == "text/html" and html is None:
            html = part
    return plain, html


TEXT_TYPES = ("text/plain", "text/html")
DSN_TYPES = ("message/delivery-status", "message/global-delivery-status")


def readable_parts(root: Part) -> list[Part]:
    """Every part the reading page shows, in message order: the inline text
    parts of a multipart/mixed one after the other, one alternative of each
    multipart/alternative (the last one we can show, RFC 2046 §5.1.4: they come
    in increasing faithfulness), and the delivery-status part of a bounce
    (RFC 3464), which is summarised. Attachments and attached messages are not
    in it."""
    found: list[Part] = []
    if root.children:
        if root.content_type == "multipart/alternative":
            for child in reversed(root.children):
                chosen = readable_parts(child)
                if chosen:
                    return chosen
            return found
        for child in root.children:
            found.extend(readable_parts(child))
        return found
    if root.content_type in DSN_TYPES and root.disposition != "attachment":
        return [root]
    if root.content_type in TEXT_TYPES and not _is_attachment(root):
        return [root]
    return found


@dataclass(frozen=True)
class Delivery:
    """One recipient's block of a delivery-status report (RFC 3464 §2.3)."""

    recipient: str
    action: str
    status: str
    diagnostic: str


def delivery_report(raw: bytes, part: Part) -> list[Delivery]:
    """The per-recipient blocks of a message/delivery-status part: blank-line
    separated header blocks, the first one about the message (RFC 3464 §2.1)."""
    text = decode_part_body(raw, part).decode("utf-8", "replace").replace("\r\n", "\n")
    blocks = [b for b in re.split(r"\n[ \t]*\n", text.strip()) if b.strip()]
    parser = BytesHeaderParser(policy=email.policy.default)
    found: list[Delivery] = []
    for block in blocks[1:]:
        fields = parser.parsebytes(block.encode("utf-8", "replace") + b"\n\n")
        values = {name: _dsn_value(str(fields.get(name, "") or "")) for name in
                  ("Final-Recipient", "Original-Recipient", "Action", "Status", "Diagnostic-Code")}
        recipient = values["Final-Recipient"] or values["Original-Recipient"]
        if recipient:
            found.append(Delivery(recipient, values["Action"].lower(), values["Status"], values["Diagnostic-Code"]))
    return found


def _dsn_value(value: str) -> str:
    """A field's value without its type prefix ("rfc822; a@b", "smtp; 550 ..."),
    unfolded."""
    kind, separator, rest = value.partition(";")
    return re.sub(r"\s+", " ", rest if separator else kind).strip()


def delivery_summary(deliveries: list[Delivery]) -> str:
    """The French summary of a bounce shown instead of the raw report."""
    meanings = {
        "failed": _("échec définitif : le message n'a pas été remis"),
        "delayed": _("retardé : le serveur réessaiera plus tard"),
        "delivered": _("remis"),
        "relayed": _("transmis à un autre système, sans confirmation de remise"),
        "expanded": _("remis à une liste de diffusion"),
    }
    lines = [_("Rapport de distribution du message :")]
    for item in deliveries:
        lines.append(_("Destinataire : %(recipient)s") % {"recipient": item.recipient})
        lines.append(_("État : %(status)s (%(meaning)s)") % {
            "status": item.status or "?", "meaning": meanings.get(item.action, item.action or "?")})
        if item.diagnostic:
            lines.append(_("Diagnostic du serveur : %(diagnostic)s") % {"diagnostic": item.diagnostic})
    return "\n".join(lines)


def _part_as_text(raw: bytes, part: Part) -> str:
    if part.content_type in DSN_TYPES:
        return delivery_summary(delivery_report(raw, part))
    return part_text(raw, part)


def _own_parts(root: Part) -> list[tuple[str, Part]]:
    """Parts of the message itself, stopping at attached messages."""
    found: list[tuple[str, Part]] = []
    stack = [root]
    while stack:
        part = stack.pop(0)
        if part.children:
            stack = list(part.children) + stack
            continue
        found.append((part.section or "1", part))
    return found


def attachments(raw: bytes, root: Part) -> list[Attachment]:
    """What the reading page lists for download: every leaf part with a file
    name or an attachment disposition, attached messages whole. Image and PDF
    parts are checked against their first bytes (``can_preview``)."""
    plain, html = body_parts(root)
    shown = {id(p) for p in readable_parts(root)} | {id(plain), id(html)}
    result: list[Attachment] = []
    for section, part in _own_parts(root):
        if id(part) in shown:
            continue
        if not (_is_attachment(part) or part.content_type in ("message/rfc822", "message/global")):
            if part.content_id and part.content_type.startswith("image/"):
                continue  # an inline image shown in the HTML
            if part.content_type.startswith("text/"):
                continue  # another alternative of the text
        result.append(
            Attachment(
                section=section,
                filename=safe_filename(part.filename or "", part.content_type),
                content_type=part.content_type,
                size=_decoded_size(part),
                can_preview=part.content_type not in _MAGIC
                or (_decoded_size(part) <= MAX_PREVIEW and previewable(part, _first_bytes(raw, part))),
            )
        )
    return result


def _first_bytes(raw: bytes, part: Part) -> bytes:
    """Enough of a part's decoded body to check its magic number, without
    decoding a large base64 attachment whole."""
    if part.encoding != "base64":
        return decode_part_body(raw, part)[:64]
    head = re.sub(rb"[^A-Za-z0-9+/]", b"", raw[part.body_start : min(part.end, part.body_start + 256)])
    return base64.b64decode(head[: len(head) // 4 * 4])


def _decoded_size(part: Part) -> int:
    return part.size * 3 // 4 if part.encoding == "base64" else part.size


def find_leaf(root: Part, section: str) -> Part | None:
    for found, part in _own_parts(root):
        if found == section:
            return part
    return None


def previewable(part: Part, data: bytes) -> bool:
    """Whether a part may be shown inline: a safe type (PNG, JPEG, GIF, WebP,
    PDF; never SVG) whose bytes really start like that type, within size."""
    magic = _MAGIC.get(part.content_type)
    if magic is None or len(data) > MAX_PREVIEW:
        return False
    if part.content_type == "image/webp" and data[8:12] != b"WEBP":
        return False
    return data.startswith(magic)


def open_embedded(raw: bytes, root: Part, path: str) -> tuple[bytes, Part] | None:
    """The bytes and part map of a message attached to this one (message/rfc822),
    addressed by ``path``: the attachment's section in the outer message, then
    "-" and a section inside that one for a message attached to the attached
    message ("2", "2-3"). Each step must be a listed attachment of type
    message/rfc822 or message/global; the embedded message is decoded (any
    transfer encoding) and parsed on its own, so its sections start again at 1.
    None for anything else."""
    from academail.mime.parse import parse_message

    steps = path.split("-")
    if not path or len(steps) > MAX_EMBEDDED_DEPTH:
        return None
    for section in steps:
        part = find_leaf(root, section)
        if part is None or part.content_type not in EMBEDDED_TYPES:
            return None
        raw = decode_part_body(raw, part)
        parsed = parse_message(raw)
        root = parsed.root
    return raw, root


# --- sender authentication: the rule lives with the checks (delivery.authcheck) ---


_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


def safe_filename(name: str, content_type: str = "application/octet-stream") -> str:
    """A file name that is only a name: no directory, no control character, no
    quote or newline, not hidden, not empty, at most 150 characters."""
    name = unicodedata.normalize("NFC", name)
    name = "".join(ch for ch in name if unicodedata.category(ch) not in {"Cc", "Cf", "Zl", "Zp"})
    name = _UNSAFE_NAME.sub("_", name).strip(" ._")
    if not name:
        extension = {"message/rfc822": ".eml", "text/plain": ".txt", "application/pdf": ".pdf"}
        name = "piece-jointe" + extension.get(content_type, "")
    return name[:150]


def content_disposition(filename: str) -> str:
    """RFC 6266 ``attachment`` with an ASCII fallback and the UTF-8 ``filename*``."""
    name = safe_filename(filename)
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode() or "piece-jointe"
    ascii_name = re.sub(r"[^A-Za-z0-9._ ()-]", "_", ascii_name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


# --- plain text -----------------------------------------------------------------

_URL = re.compile(r"\bhttps?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""


def linkify(text: str, rewrite: LinkRewrite | None = None) -> SafeString:
    """Escape ``text``, making http(s) URLs links (escaping first: the URL is
    escaped both as href and as text, so it cannot close the attribute).
    ``rewrite`` may send a link elsewhere (a flagged link to the interstitial
    page); the text still shows the real destination."""
    out: list[str] = []
    position = 0
    for match in _URL.finditer(text):
        url = match.group(0)
        trimmed = url.rstrip(_TRAILING)
        if len(trimmed) < len("https://x"):
            continue
        start, end = match.start(), match.start() + len(trimmed)
        out.append(escape(text[position:start]))
        safe = escape(trimmed)
        target = escape(rewrite(trimmed)) if rewrite is not None else safe
        out.append(f'<a href="{target}" rel="noopener noreferrer nofollow" target="_blank" title="{safe}">{safe}</a>')
        position = end
    out.append(escape(text[position:]))
    return mark_safe("".join(out))  # noqa: S308 - every piece above is escaped


# --- HTML -------------------------------------------------------------------------


def _clean_style(value: str) -> str | None:
    kept = [d for d in value.split(";") if d.strip() and not any(bad in d.lower() for bad in _CSS_FORBIDDEN)]
    return ";".join(kept) or None


def sanitize_html(
    markup: str, raw: bytes, root: Part, *, allow_remote: bool, rewrite: LinkRewrite | None = None
) -> tuple[str, bool]:
    """Sanitised markup and whether it referred to remote images (blocked unless
    ``allow_remote``). ``cid:`` images become data: URLs of their parts.
    ``rewrite`` may send a link elsewhere while sanitising (a flagged link to
    the interstitial page)."""
    remote_seen = False
    by_cid = {p.content_id.strip("<> ").lower(): p for _, p in _own_parts(root) if p.content_id}

    def inline_image(value: str) -> str | None:
        part = by_cid.get(value[4:].strip("<> ").lower())
        if part is None or part.content_type not in INLINE_IMAGE_TYPES or _decoded_size(part) > MAX_INLINE_IMAGE:
            return None
        data = base64.b64encode(decode_part_body(raw, part)).decode()
        return f"data:{part.content_type};base64,{data}"

    in_page_link = False  # the <a> being cleaned points to "#...": it stays in the frame

    def attribute_filter(tag: str, attribute: str, value: str) -> str | None:
        nonlocal remote_seen, in_page_link
        if attribute == "style":
            return _clean_style(value)
        if tag == "img" and attribute == "src":
            lowered = value.strip().lower()
            if lowered.startswith("cid:"):
                return inline_image(value.strip())
            if lowered.startswith(("http:", "https:", "//")):
                remote_seen = True
                return value if allow_remote and not lowered.startswith("//") else None
            if lowered.startswith("data:") and len(value) <= MAX_INLINE_IMAGE * 4 // 3 + 64:
                return value.strip() if _DATA_IMAGE.match(value.strip()) else None
            return None
        if attribute in ("href", "cite"):
            stripped = value.strip()
            if attribute == "href":
                in_page_link = stripped.startswith("#")
                if in_page_link:
                    return stripped
            if not stripped.lower().startswith(_LINK_PREFIXES):
                return None
            return rewrite(stripped) if rewrite is not None and attribute == "href" else value
        if tag == "a" and attribute == "target":
            # nh3 hands the forced target after the element's own attributes
            # (its href included): an in-page anchor scrolls the frame, every
            # other link opens a new tab.
            target = "_self" if in_page_link else "_blank"
            in_page_link = False
            return target
        return value

    cleaned = nh3.clean(
        markup[:MAX_HTML_CHARS],
        tags=ALLOWED_TAGS,
        clean_content_tags=DROPPED_WITH_CONTENT,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=attribute_filter,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        filter_style_properties=ALLOWED_CSS,
        strip_comments=True,
        set_tag_attribute_values={"a": {"target": "_blank"}},
    )
    return cleaned, remote_seen


def message_body(raw: bytes, root: Part, *, allow_remote: bool = False, rewrite: LinkRewrite | None = None) -> Body:
    """What the reading page shows: HTML goes to the sandboxed frame (the
    page only learns whether it had remote images), text is shown inline."""
    parts = readable_parts(root)
    if any(p.content_type == "text/html" for p in parts):
        remote = False
        for part in parts:
            if part.content_type == "text/html":
                remote = sanitize_html(part_text(raw, part), raw, root, allow_remote=allow_remote)[1] or remote
        return Body("html", mark_safe(""), remote)  # noqa: S308 - empty
    if parts:
        texts = [linkify(_part_as_text(raw, p)[:MAX_TEXT_CHARS], rewrite) for p in parts]
        return Body("text", mark_safe("\n<hr>\n".join(texts)), False)  # noqa: S308 - each piece escaped by linkify
    return Body("", mark_safe(""), False)  # noqa: S308 - empty


def html_document(raw: bytes, root: Part, *, allow_remote: bool, rewrite: LinkRewrite | None = None) -> str:
    """The whole document the sandboxed frame loads: the sanitised bodies in a
    ``<main>`` (a tag no message keeps), and their own ``<style>`` rules,
    sanitised and scoped to it (``webmail.stylesheet``)."""
    pieces: list[str] = []
    styles: list[str] = []
    for part in readable_parts(root):
        if part.content_type == "text/html":
            markup = part_text(raw, part)
            pieces.append(sanitize_html(markup, raw, root, allow_remote=allow_remote, rewrite=rewrite)[0])
            styles.append(sanitize_stylesheet(style_blocks(markup[:MAX_HTML_CHARS]), STYLESHEET_CSS))
        else:
            text = linkify(_part_as_text(raw, part)[:MAX_TEXT_CHARS], rewrite)
            pieces.append(f'<div style="white-space:pre-wrap">{text}</div>')
    cleaned = "\n<hr>\n".join(pieces)
    stylesheet = "\n".join(s for s in styles if s)
    style = f"<style>{stylesheet}</style>" if stylesheet else ""
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        f'<meta name="referrer" content="no-referrer">{style}</head>'
        '<body style="margin:0;font-family:system-ui,sans-serif;overflow-wrap:anywhere">'
        f"<main>{cleaned}</main></body></html>"
    )


def plain_text(raw: bytes, root: Part) -> str:
    """The text of the message for a reply or a forward (HTML turned into text)."""
    from academail.mime.text import html_to_text

    plain, html = body_parts(root)
    if plain is not None:
        return part_text(raw, plain)[:MAX_TEXT_CHARS]
    if html is not None:
        return html_to_text(part_text(raw, html))[:MAX_TEXT_CHARS]
    return ""


__all__ = [
    "EMBEDDED_TYPES", "PREVIEW_IMAGE_TYPES", "authentication_failed", "open_embedded", "previewable",
    "Attachment", "Body", "attachments", "body_parts", "content_disposition", "find_leaf",
    "html_document", "iter_parts", "linkify", "message_body", "plain_text", "safe_filename",
    "sanitize_html",
]
