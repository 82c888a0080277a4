"""The XSS corpus in a real browser. Each hostile message is delivered through
the door, opened in headless Chromium, and checked where it matters, in the
page as the browser built it:

- no script ran: the payloads set a sentinel (``window.__xss``, in their own
  frame and in the top page) and call ``alert``; the sentinel is unset in the
  page and in the message frame, and no dialog is open;
- nothing was fetched from outside: every remote URL of the corpus points at a
  loopback HTTP server started here (another port than the live server, so
  another origin), which must see no request at all until "Afficher les
  images" is clicked, and then only the images;
- the frame's DOM, after the browser parsed it (where mutation XSS shows),
  holds only harmless elements, no event attribute and no active URL;
- the page stays usable: the subject and the sender are shown, the list opens.

tests/webmail/test_xss.py checks the same corpus on the server's markup; this
module adds the browser's view and the bad input of issue 5 (huge message,
300 attachments, 10,000-character subject, broken charset, hostile file names).
"""

from __future__ import annotations

import base64
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from django.urls import reverse
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from academail.webmail.render import ALLOWED_TAGS
from tests.e2e.conftest import count_now, deliver, make_person, sign_in, wait_text
from tests.webmail.test_xss import HOSTILE_HTML

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# What every payload runs if it ever gets to run: a sentinel in its own window,
# one in the top page (refused across origins, hence the try), and a dialog.
JS = "window.__xss=1;try{top.__xss=1}catch(e){};alert(1)"
_HTML_JS = f"<script>{JS}</script>"
_SVG_JS = f'<svg xmlns="http://www.w3.org/2000/svg" onload="{JS}"/>'


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# {OUT} is the outside server; /img/ paths are the remote images a person may
# choose to show, /x/ paths must never be fetched, whatever is clicked.
MORE_HOSTILE_HTML = {
    # SVG and MathML
    "svg_set": '<svg><a><set attributeName="href" to="javascript:{JS}"/><text y="20">clic</text></a></svg>',
    "svg_animate_xlink": '<svg><a xlink:href="#"><animate attributeName="xlink:href" values="javascript:{JS}" begin="0s"/><text y="20">x</text></a></svg>',
    "svg_animate_onbegin": '<svg><animate onbegin="{JS}" attributeName="x" dur="1s"/></svg>',
    "svg_image": '<svg><image href="{OUT}/x/svg-image.png" width="10" height="10"/></svg>',
    "svg_foreign_object": '<svg><foreignObject><img src="x" onerror="{JS}"></foreignObject></svg>',
    "svg_use_data": '<svg><use href="data:image/svg+xml;base64,{SVG64}#x"/></svg>',
    "svg_style_mxss": '<svg></p><style><a id="</style><img src=1 onerror="{JS}">"></style></svg>',
    "math_maction": '<math><maction actiontype="statusline" xlink:href="javascript:{JS}">clic<mtext>x</mtext></maction></math>',
    "math_mglyph_mxss": '<math><mtext><table><mglyph><style><!--</style><img title="--&gt;&lt;img src=1 onerror={JS}&gt;"></mglyph></table></mtext></math>',
    "math_annotation_html": '<math><annotation-xml encoding="text/html"><img src=x onerror="{JS}"></annotation-xml></math>',
    # CSS
    "css_import": '<style>@import url("{OUT}/x/import.css");</style><p>x</p>',
    "css_escaped_url_in_style": '<style>p{background:\\75 rl({OUT}/x/escaped.png)}</style><p>x</p>',
    "css_font_face": '<style>@font-face{font-family:f;src:url({OUT}/x/font.woff)}p{font-family:f}</style><p>x</p>',
    "css_url_quoted_entities": '<div style="background-image: url(&quot;{OUT}/x/bg-quoted.png&quot;)">x</div>',
    "css_url_entity_u": '<div style="background:&#117;rl({OUT}/x/bg-entity.png)">x</div>',
    "css_url_escape_attr": '<div style="background:\\000075rl({OUT}/x/bg-escape.png)">x</div>',
    "css_list_style_image": '<ul style="list-style-image:url({OUT}/x/list.png)"><li>x</li></ul>',
    "css_image_set": '<div style="background-image:image-set(\'{OUT}/x/set.png\' 1x)">x</div>',
    "css_cursor": '<div style="cursor:url({OUT}/x/cursor.png),auto">x</div>',
    "css_border_image": '<div style="border-image:url({OUT}/x/border.png) 30">x</div>',
    "css_content": '<style>p::before{content:url({OUT}/x/content.png)}</style><p>x</p>',
    # A message's <style> is kept (issue 20), its CSS sanitised: none of these may load or run.
    "css_style_background_url": '<style>.a{background:url({OUT}/x/style-bg.png);color:red}</style><p class="a">x</p>',
    "css_style_background_image": '<style>.a{background-image:url("{OUT}/x/style-bg-image.png")}</style><p class="a">x</p>',
    "css_style_url_in_media": '<style>@media (min-width:1px){.a{background:url({OUT}/x/media.png)}}</style><p class="a">x</p>',
    "css_style_media_query_url": '<style>@media url({OUT}/x/query.css){.a{color:red}}</style><p class="a">x</p>',
    "css_style_var_url": '<style>.a{--u:url({OUT}/x/var.png);background-image:var(--u)}</style><p class="a">x</p>',
    "css_style_escaped_function": '<style>.a{background:\\75 \\72 \\6c ({OUT}/x/escaped-fn.png)}</style><p class="a">x</p>',
    "css_style_expression": '<style>.a{width:expression({JS})}</style><p class="a">x</p>',
    "css_style_behavior": '<style>.a{behavior:url({OUT}/x/behavior.htc);-moz-binding:url({OUT}/x/binding.xml#x)}</style><p class="a">x</p>',
    "css_style_fixed_overlay": '<style>.a{position:fixed;top:0;left:0;width:100%;height:100%;z-index:99999}</style><div class="a">Votre session a expiré</div>',
    "css_style_break_out": '<style>p{font-family:"x</style><img src=x onerror="{JS}">"}</style><p>x</p>',
    "css_style_charset_import": '<style>@charset "utf-8";@import "{OUT}/x/import2.css" screen;@namespace x url({OUT}/x/ns);</style><p>x</p>',
    "css_style_head_body": '<html><head><style>body{background-image:url({OUT}/x/head-body.png)}</style></head><body><p>x</p></body></html>',
    # base and meta
    "base_relative_image": '<base href="{OUT}/x/base/"><img src="pixel.gif"><a href="page">lien</a>',
    "meta_refresh_outside": '<meta http-equiv="refresh" content="0;url={OUT}/x/refresh">',
    "meta_refresh_javascript": '<meta http-equiv="refresh" content="0;url=javascript:{JS}">',
    "meta_csp_override": '<meta http-equiv="Content-Security-Policy" content="default-src *"><img src="{OUT}/img/after-meta-csp.png">',
    # javascript: links hidden in entities and whitespace
    "js_newline_entity": '<a href="java&#10;script:{JS}">clic</a>',
    "js_colon_entity": '<a href="javascript&colon;{JS}">clic</a>',
    "js_hex_without_semicolons": '<a href="&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A{JS}">clic</a>',
    "js_leading_control": '<a href="&#x01;javascript:{JS}">clic</a>',
    "js_mixed_case": '<a href="JaVaScRiPt:{JS}">clic</a>',
    "js_leading_tab_newline": '<a href="&#09;&#10;javascript:{JS}">clic</a>',
    "js_area": '<map name="m"><area shape="rect" coords="0,0,100,100" href="javascript:{JS}"></map><img usemap="#m" src="cid:none" alt="carte">',
    # srcdoc and data:
    "srcdoc_attribute": '<iframe srcdoc="&lt;img src=x onerror=&quot;{JS}&quot;&gt;"></iframe>',
    "frameset": '<frameset><frame src="{OUT}/x/frame"></frameset>',
    "data_iframe": '<iframe src="data:text/html;base64,{HTML64}"></iframe>',
    "data_object": '<object data="data:text/html;base64,{HTML64}"></object>',
    "data_embed_svg": '<embed src="data:image/svg+xml;base64,{SVG64}">',
    "data_link_mixed_case": '<a href="DaTa:text/html,&lt;script&gt;{JS}&lt;/script&gt;">clic</a>',
    "data_img_html": '<img src="data:text/html;base64,{HTML64}">',
    "data_img_svg_script": '<img src="data:image/svg+xml;base64,{SVG64}">',
    # mutation XSS through elements whose content the parser treats apart
    "noscript_style_mxss": '<noscript><style></noscript><img src=x onerror="{JS}"></style></noscript>',
    "template_nested": '<template><template><img src=x onerror="{JS}"></template></template>',
    "style_content_mxss": '<style><img src=x onerror="{JS}"></style><p>x</p>',
    "title_mxss": '<title><img src=x onerror="{JS}"></title><p>x</p>',
    "textarea_mxss": '<textarea><img src=x onerror="{JS}"></textarea>',
    "xmp_mxss": '<xmp><img src=x onerror="{JS}"></xmp>',
    "noembed_mxss": '<noembed><img src=x onerror="{JS}"></noembed>',
    "select_mxss": '<select><template><img src=x onerror="{JS}"></template></select>',
    "comment_conditional": '<!--[if gte mso 9]><img src="{OUT}/x/mso.png"><![endif]--><p>x</p>',
    "processing_instruction": '<?xml-stylesheet href="{OUT}/x/pi.css"?><p>x</p>',
    # forms and buttons
    "form_remote_password": '<form action="{OUT}/x/form" method="post"><input name="mdp" type="password"><button>OK</button></form>',
    "button_formaction": '<form><button formaction="javascript:{JS}">Envoyer</button></form>',
    "button_formaction_outside": '<button form="f" formaction="{OUT}/x/formaction">x</button>',
    "input_image": '<input type="image" src="{OUT}/x/input.png">',
    "isindex": '<isindex action="javascript:{JS}" type="image">',
    # every other way of loading something
    "video_poster": '<video poster="{OUT}/x/poster.png" src="{OUT}/x/video.mp4" autoplay></video>',
    "audio_autoplay": '<audio src="{OUT}/x/audio.mp3" autoplay></audio>',
    "picture_source": '<picture><source srcset="{OUT}/x/source.png"><img src="cid:none" alt="x"></picture>',
    "img_lowsrc": '<img lowsrc="{OUT}/x/low.png" dynsrc="{OUT}/x/dyn.png">',
    "a_ping": '<a href="https://ok.example/" ping="{OUT}/x/ping">lien</a>',
    "link_prefetch": '<link rel="prefetch" href="{OUT}/x/prefetch"><link rel="preload" as="image" href="{OUT}/x/preload.png">',
    "body_background": '<body background="{OUT}/x/body-bg.png"><p>x</p></body>',
    "bgsound": '<bgsound src="{OUT}/x/bgsound">',
    "object_remote": '<object data="{OUT}/x/object"></object>',
    "embed_remote": '<embed src="{OUT}/x/embed">',
    "vml_image": '<v:image src="{OUT}/x/vml.png"/>',
    "img_uppercase_remote": '<IMG SRC="{OUT}/img/upper.gif" alt="x">',
    # event handlers HTML5 added
    "details_ontoggle": '<details open ontoggle="{JS}"><summary>x</summary></details>',
    "marquee_onstart": '<marquee onstart="{JS}">x</marquee>',
    "autofocus_onfocus": '<input autofocus onfocus="{JS}">',
    "video_onerror": '<video><source onerror="{JS}"></video>',
}


def hostile_corpus(out: str) -> dict[str, str]:
    """The server-side corpus and the browser additions, every remote URL
    pointed at ``out`` and every payload running the sentinel."""
    corpus: dict[str, str] = {}
    host = out.removeprefix("http:")
    for name, markup in HOSTILE_HTML.items():
        markup = markup.replace('src="https://pisteur.example/', f'src="{out}/img/')
        markup = markup.replace("https://pisteur.example/", f"{out}/x/").replace("https://evil.example/", f"{out}/x/")
        markup = markup.replace("//pisteur.example/", f"{host}/x/").replace("//evil.example/", f"{host}/x/")
        corpus[f"server_{name}"] = markup.replace("alert(1)", JS)
    values = {"JS": JS, "OUT": out, "HTML64": _b64(_HTML_JS), "SVG64": _b64(_SVG_JS)}
    for name, markup in MORE_HOSTILE_HTML.items():
        for key, value in values.items():
            markup = markup.replace("{" + key + "}", value)
        corpus[name] = markup
    for name, markup in corpus.items():
        assert "pisteur.example" not in markup and "evil.example" not in markup, name
    return corpus


def html_mail(to: str, subject: str, html: str, *, message_id: str) -> bytes:
    return (
        f"From: Pirate <pirate@exemple-hostile.fr>\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Date: Thu, 26 Nov 2026 10:00:00 +0100\r\nMessage-ID: <{message_id}@exemple-hostile.fr>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    ).encode() + html.encode()


# Elements a sanitised message may hold once the browser has parsed it.
_BROWSER_ALLOWED = sorted({*ALLOWED_TAGS, "html", "head", "meta", "body", "main", "style"})
# Runs inside the frame (WebDriver scripts are not bound by the frame's
# sandbox or CSP) and lists what should not be there.
_INSPECT_FRAME = """
const allowed = new Set(arguments[0]);
const problems = [];
if (window.__xss !== undefined) problems.push('sentinel set in the frame');
for (const el of document.querySelectorAll('*')) {
  const tag = el.localName;
  if (!allowed.has(tag)) problems.push('element ' + tag);
  if (tag === 'meta' && el.parentNode !== document.head) problems.push('meta in body');
  if (tag === 'meta' && el.hasAttribute('http-equiv')) problems.push('meta http-equiv');
  // The message's own stylesheet (one, in the head): sanitised, nothing that loads or runs.
  if (tag === 'style' && (el.parentNode !== document.head
      || /url\\(|@import|@font-face|@namespace|expression|image-set|binding|behavior/i.test(el.textContent)))
    problems.push('style ' + el.textContent.slice(0, 120));
  if (getComputedStyle(el).position === 'fixed') problems.push(tag + ' position fixed');
  for (const attr of el.attributes) {
    const name = attr.name.toLowerCase(), value = attr.value.trim().toLowerCase();
    if (name.startsWith('on')) problems.push(tag + ' ' + name);
    if (['srcdoc', 'srcset', 'formaction', 'action', 'background', 'ping', 'poster', 'lowsrc', 'dynsrc',
         'xlink:href', 'usemap'].includes(name)) problems.push(tag + ' ' + name);
    if (name === 'style' && /url\\(|expression|@import|\\\\|image-set|binding/.test(value))
      problems.push(tag + ' style ' + value);
  }
  // tel: links are kept on purpose (issue 20: staff call parents from a signature); they run nothing.
  if (tag === 'a' && el.hasAttribute('href') && !['http:', 'https:', 'mailto:', 'tel:'].includes(el.protocol))
    problems.push('link to ' + el.href);
  if (tag === 'img' && el.hasAttribute('src') && el.getAttribute('src') !== ''
      && !el.src.startsWith('data:image/') && !(arguments[1] && /^https?:/.test(el.src)))
    problems.push('image from ' + el.src);
}
return problems;
"""


def no_alert(driver) -> bool:
    try:
        alert = driver.switch_to.alert
    except NoAlertPresentException:
        return True
    text = alert.text
    alert.dismiss()
    raise AssertionError(f"a dialog opened: {text!r}")


_INSPECT_PAGE = """
const subject = document.getElementById('wm-subject'), headers = document.querySelector('dl.wm-headers');
return {
  sentinel: window.__xss !== undefined,
  subject: subject ? subject.textContent : '',
  headers: headers ? headers.textContent : '',
  active: document.querySelectorAll('main script, main iframe:not(.wm-frame), main svg, main math, main object, main embed').length,
  frames: Array.from(document.querySelectorAll('iframe.wm-frame'), f => f.getAttribute('sandbox')),
};
"""


def check_message_page(driver, *, subject: str, images: bool = False) -> list[str]:
    """What went wrong on the open message page (empty: nothing)."""
    problems: list[str] = []
    no_alert(driver)
    seen = driver.execute_script(_INSPECT_PAGE)
    if seen["sentinel"]:
        problems.append("sentinel set in the page")
    if subject not in seen["subject"]:
        problems.append("subject not shown")
    if "pirate@exemple-hostile.fr" not in seen["headers"]:
        problems.append("sender not shown")
    if seen["active"]:
        problems.append("active element in the page")
    for index, sandbox in enumerate(seen["frames"]):
        if sandbox.split() != ["allow-popups", "allow-popups-to-escape-sandbox"]:
            problems.append(f"frame sandbox {sandbox!r}")
        driver.switch_to.frame(index)
        try:
            WebDriverWait(driver, 10, poll_frequency=0.05).until(
                lambda d: d.execute_script("return document.readyState") == "complete")
            problems += driver.execute_script(_INSPECT_FRAME, _BROWSER_ALLOWED, images)
        finally:
            driver.switch_to.default_content()
    return problems


@pytest.fixture
def julie(page):
    return make_person("Julie", "Martin")


def test_the_checks_can_fail(page, live_server, outside):
    """The sentinel, the frame inspection and the outside server do see a
    script that runs and a request that leaves, when there is one."""
    page.get(live_server.url + "/healthz")
    page.execute_script(
        "const f = document.createElement('iframe'); f.className = 'wm-frame'; f.setAttribute('sandbox', 'allow-scripts');"
        "f.srcdoc = arguments[0]; document.body.append(f);",
        f'<style>.f{{position:fixed;background:url(data:,x)}}</style>'
        f'<img src="{outside.url}/x/probe.gif" onload="window.__xss=1"><svg></svg><a href="javascript:void 0">x</a>'
        '<p class="f">f</p>',
    )
    WebDriverWait(page, 10).until(lambda d: "/x/probe.gif" in outside.seen())
    page.switch_to.frame(page.find_element(By.CSS_SELECTOR, "iframe"))
    try:
        WebDriverWait(page, 10).until(lambda d: d.execute_script("return window.__xss") == 1)
        problems = page.execute_script(_INSPECT_FRAME, _BROWSER_ALLOWED, False)
    finally:
        page.switch_to.default_content()
    assert "sentinel set in the frame" in problems and "element svg" in problems
    assert "link to javascript:void 0" in problems and any(p.startswith("image from") for p in problems)
    assert "p position fixed" in problems and any(p.startswith("style ") for p in problems)
    page.execute_script("setTimeout(() => alert('x'), 0)")
    WebDriverWait(page, 5).until(lambda d: _alert_open(d))
    with pytest.raises(AssertionError, match="a dialog opened"):
        no_alert(page)


def _alert_open(driver) -> bool:
    try:
        driver.switch_to.alert  # noqa: B018 - the property raises when there is none
    except NoAlertPresentException:
        return False
    return True


def test_hostile_html_corpus(page, live_server, julie, outside):
    corpus = hostile_corpus(outside.url)
    for index, (name, markup) in enumerate(corpus.items()):
        deliver(html_mail(julie.address, f"XSS {name}", f"<p>Cas {name}</p>{markup}", message_id=f"c{index}"),
                julie.address)
    sign_in(page, live_server, julie.identifier)
    from academail.store.models import Message

    uids = dict(Message.objects.filter(mailbox__account=julie, mailbox__special_use="inbox")
                .values_list("content__subject", "uid"))
    box = julie.mailboxes.get(special_use="inbox").pk
    failures: dict[str, list[str]] = {}
    for name in corpus:
        page.get(live_server.url + reverse("webmail:message", args=[box, uids[f"XSS {name}"]]))
        problems = check_message_page(page, subject=f"XSS {name}")
        if outside.seen():
            problems.append(f"outside requests {outside.seen()}")
            outside.clear()
        if problems:
            failures[name] = problems
    assert not failures, failures
    assert outside.seen() == []
    # The list of all these messages is still a list one can use.
    page.get(live_server.url + reverse("webmail:folder", args=[box]))
    wait_text(page, f"{len(corpus)} messages", css="main h1")
    no_alert(page)
    assert page.execute_script("return window.__xss") is None
    newest = page.find_element(By.CSS_SELECTOR, ".wm-list__subject a")
    subject = newest.text
    newest.click()
    wait_text(page, subject, css="h1#wm-subject")


def test_a_newsletter_keeps_its_media_queries(page, live_server, julie):
    """Two columns side by side on a wide screen, stacked on a phone: the
    message's own <style> (class selectors, @media) survives sanitising."""
    newsletter = (
        "<html><head><style>.col{width:48%;display:inline-block;vertical-align:top}"
        "@media (max-width: 600px) { .col { width: 100% !important; display: block } }"
        ".titre{color:#000091;font-size:24px}</style></head><body>"
        '<p class="titre">La lettre du collège</p><div class="col">Colonne A</div><div class="col">Colonne B</div>'
        "</body></html>"
    )
    deliver(html_mail(julie.address, "Lettre de décembre", newsletter, message_id="lettre"), julie.address)
    sign_in(page, live_server, julie.identifier)

    def columns(width: int, height: int) -> list[dict]:
        page.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                             {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
        page.get(live_server.url + "/courrier/")
        page.find_element(By.PARTIAL_LINK_TEXT, "Lettre de décembre").click()
        wait_text(page, "Lettre de décembre", css="h1#wm-subject")
        page.switch_to.frame(page.find_element(By.CSS_SELECTOR, "iframe.wm-frame"))
        try:
            WebDriverWait(page, 10).until(lambda d: d.execute_script("return document.readyState") == "complete")
            return page.execute_script(
                "const main = document.querySelector('main').getBoundingClientRect();"
                "return [...document.querySelectorAll('.col')].map(c => { const r = c.getBoundingClientRect();"
                "return {x: r.x, y: r.y, ratio: r.width / main.width, colour: getComputedStyle("
                "document.querySelector('.titre')).color}; });")
        finally:
            page.switch_to.default_content()

    try:
        wide = columns(1366, 900)
        narrow = columns(390, 844)
    finally:
        page.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    assert wide[0]["colour"] == "rgb(0, 0, 145)"  # a class rule of the message applies
    assert wide[0]["y"] == wide[1]["y"] and wide[1]["x"] > wide[0]["x"]  # side by side
    assert all(0.4 < c["ratio"] < 0.5 for c in wide)
    assert narrow[1]["y"] > narrow[0]["y"] and all(c["ratio"] > 0.99 for c in narrow)  # stacked, full width


def test_show_images_loads_images_only(page, live_server, julie, outside):
    """All the corpus in one message: nothing leaves before the click; after
    "Afficher les images", the images and nothing else, and still no script."""
    corpus = hostile_corpus(outside.url)
    everything = "".join(f"<div>{markup}</div>" for markup in corpus.values())
    deliver(html_mail(julie.address, "Tout le corpus", everything, message_id="all"), julie.address)
    sign_in(page, live_server, julie.identifier)
    page.find_element(By.PARTIAL_LINK_TEXT, "Tout le corpus").click()
    wait_text(page, "Les images distantes de ce message sont bloquées")
    assert check_message_page(page, subject="Tout le corpus") == []
    assert outside.seen() == []
    page.find_element(By.LINK_TEXT, "Afficher les images").click()
    expected = {"/img/pixel.gif", "/img/upper.gif", "/img/after-meta-csp.png"}
    WebDriverWait(page, 10).until(lambda d: expected <= set(outside.seen()))
    assert check_message_page(page, subject="Tout le corpus", images=True) == []
    assert all(path.startswith("/img/") for path in outside.seen()), outside.seen()


def _attachments_mail(to: str, subject: str, names: list[str], *, size: int = 12) -> bytes:
    message = EmailMessage(policy=SMTP)
    message["From"] = "Pirate <pirate@exemple-hostile.fr>"
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = "Thu, 26 Nov 2026 10:00:00 +0100"
    message.set_content("Voir les pièces jointes.")
    for name in names:
        message.add_attachment(b"x" * size, maintype="application", subtype="octet-stream", filename=name)
    return message.as_bytes()


HOSTILE_FILE_NAMES = [
    f'"><img src=x onerror="{JS}">.pdf',
    f"rapport' onmouseover='{JS}'.pdf",
    "facture\u202egpj.exe",  # shown as "factureexe.jpg" if the override stayed
    "../../../../etc/passwd",
    "C:\\Windows\\System32\\evil.bat",
    "<script>alert(1)</script>.html",
]


def test_hostile_attachment_names(page, live_server, julie, outside):
    deliver(_attachments_mail(julie.address, "Pièces piégées", HOSTILE_FILE_NAMES), julie.address)
    sign_in(page, live_server, julie.identifier)
    page.find_element(By.PARTIAL_LINK_TEXT, "Pièces piégées").click()
    wait_text(page, "6 pièces jointes")
    assert check_message_page(page, subject="Pièces piégées") == []
    links = page.find_elements(By.CSS_SELECTOR, "section.wm-attachments a")
    assert len(links) == 6
    risky = []
    for link in links:
        name = link.text
        assert "\u202e" not in name and "/" not in name and "\\" not in name and "<" not in name and '"' not in name
        # A program or script opens the download confirmation (issue 13); any other file downloads.
        if "wm-att-risky" in (link.get_attribute("class") or ""):
            risky.append(name)
        else:
            assert link.get_attribute("download") is not None
        assert count_now(link, "*") == 0  # text only, no element inside the link
    assert len(risky) == 2 and any(n.endswith(".bat") for n in risky), risky  # the .exe behind a reversed name, the .bat
    assert count_now(page.find_element(By.TAG_NAME, "main"), "img, script") == 0
    assert outside.seen() == []


def test_bad_input_stays_usable(page, live_server, julie, outside):
    """A 10,000-character subject, a broken charset, 300 attachments and a
    20 MB message: each opens, shows its subject and sender, runs nothing and
    loads nothing from outside; the list shows them all."""
    long_subject = ("Objet interminable " * 530)[:10_000]
    broken = (
        b"From: Pirate <pirate@exemple-hostile.fr>\r\nTo: " + julie.address.encode() + b"\r\n"
        b"Subject: Charset =?x-inconnu?Q?cass=E9?= \xe9t\xe9 \xff\xfe\r\n"
        b"Date: Thu, 26 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: text/html; charset="x-inconnu"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'
        b"<p>Caf\xe9 \xff\xfe\xc3\x28 <img src=x onerror=\"" + JS.encode() + b"\"></p>\r\n"
    )
    huge_html = ("<p>" + "Texte de remplissage. " * 40 + "</p>") * 2000 + (
        f'<img src="{outside.url}/x/late.png"><img src=x onerror="{JS}"><p>Fin</p>')
    huge = EmailMessage(policy=SMTP)
    huge["From"] = "Pirate <pirate@exemple-hostile.fr>"
    huge["To"] = julie.address
    huge["Subject"] = "Message de 20 Mo"
    huge["Date"] = "Thu, 26 Nov 2026 10:00:00 +0100"
    huge.set_content("Texte.")
    huge.add_alternative(huge_html, subtype="html")
    huge.add_attachment(bytes(range(256)) * (54 * 1024), maintype="application", subtype="octet-stream",
                        filename="archive.bin")
    huge_raw = huge.as_bytes()
    assert 20_000_000 <= len(huge_raw) <= 25 * 1024 * 1024, len(huge_raw)
    cases = {
        long_subject: html_mail(julie.address, long_subject, f"<p>Long</p><img src=x onerror=\"{JS}\">", message_id="long"),
        "Charset": broken,
        "Trois cents pièces": _attachments_mail(julie.address, "Trois cents pièces", [f"piece-{n:03d}.txt" for n in range(300)]),
        "Message de 20 Mo": huge_raw,
    }
    for raw in cases.values():
        deliver(raw, julie.address)
    sign_in(page, live_server, julie.identifier)
    wait_text(page, "4 messages", css="main h1")
    inbox = page.current_url
    for subject in cases:
        page.get(inbox)
        shown = page.find_elements(By.CSS_SELECTOR, ".wm-list__subject a")
        link = next((a for a in shown if a.text.startswith(subject[:15])), None)
        assert link is not None, (subject[:40], [a.text[:40] for a in shown])
        assert len(link.text) <= 120
        link.click()
        wait_text(page, subject[:15], css="h1#wm-subject")
        assert check_message_page(page, subject=subject[:15]) == [], subject[:40]
        assert page.find_element(By.LINK_TEXT, "Répondre").is_displayed()
        width, inner = page.execute_script("return [document.scrollingElement.scrollWidth, window.innerWidth]")
        assert width <= inner, (subject[:40], width, inner)
        if subject == "Trois cents pièces":
            wait_text(page, "300 pièces jointes")
            assert len(page.find_elements(By.CSS_SELECTOR, "section.wm-attachments li")) == 300
        if subject == "Message de 20 Mo":
            assert "archive.bin" in page.find_element(By.CSS_SELECTOR, "section.wm-attachments").text
    assert outside.seen() == []
