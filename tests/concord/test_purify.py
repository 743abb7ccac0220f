"""Concord's HTML cleaning of rich text (dialects/concord/purify.py): calls' and notes' `body`, activities'
`description` and `note`, comments' `body` and documents' `content` are shown as Concord's `clean()`
(HTMLPurifier) answers them, whichever protocol wrote them; they are stored as sent, as Concord stores them,
and the other protocols show what was stored."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from polycrm.dialects.concord.purify import purify
from tests.concord.conftest import Concord

# What Concord CRM 1.4.1 answered for a note whose body was each of these (PUT /api/notes/{id}, its `body`).
PEER = {
    '<p>Hi<script>alert(1)</script></p>': '<p>Hi</p>',
    '<p onclick="alert(1)">Click</p>': '<p>Click</p>',
    '<a href="javascript:alert(1)">x</a>': '<a>x</a>',
    '<iframe src="https://evil.example/x"></iframe>': '<iframe></iframe>',
    '<iframe src="https://www.youtube.com/embed/abc" allowfullscreen frameborder="0" width="560" height="315">'
    '</iframe>': '<iframe src="https://www.youtube.com/embed/abc" allowfullscreen frameborder="0" width="560" '
                 'height="315"></iframe>',
    '<img src="x" onerror="alert(1)">': '<img src="x" alt="x">',
    '<a href="https://example.com" target="_blank" title="t">ok</a>':
        '<a href="https://example.com" target="_blank" title="t" rel="noreferrer noopener">ok</a>',
    '<p style="color:red; position:fixed; behavior:url(x)">styled</p>':
        '<p style="color:#FF0000;position:fixed;">styled</p>',
    '<span data-mention-id="3" class="mention" data-notified="true">@Bob</span>':
        '<span data-mention-id="3" class="mention" data-notified="true">@Bob</span>',
    '<table><tr><td>1</td></tr></table>': '<table><tr><td>1</td></tr></table>',
    '<div id="x"><b>bold</b> <u>u</u> <s>s</s> <em>e</em></div>': '<div><b>bold</b> <u>u</u> s <em>e</em></div>',
    '<style>p{color:red}</style><p>after</p>': '<p>after</p>',
    'Plain & text < 5 > 3': 'Plain &amp; text &lt; 5 &gt; 3',
    '<p>unclosed <b>bold': '<p>unclosed <b>bold</b></p>',
    '<!-- comment --><p>x</p>': '<p>x</p>',
    '<a href="mailto:a@b.c">m</a>': '<a href="mailto:a@b.c">m</a>',
    '<svg onload=alert(1)><circle/></svg>ok': 'ok',
    '<img src="data:image/png;base64,AAAA" alt="d">': '',
    '<p>line<br>two</p><ul><li>a</li></ul><h2>T</h2><pre>code</pre><blockquote>q</blockquote>':
        '<p>line<br>two</p><ul><li>a</li></ul><h2>T</h2><pre>code</pre><blockquote>q</blockquote>',
    '<form action="x"><input value="v"></form>text': 'text',
    '<a href="/relative">rel</a>': '<a href="/relative">rel</a>',
    '<p style="background-image:url(javascript:alert(1))">bg</p>': '<p>bg</p>',
    # an activity's description and note, a comment's body
    '<p onclick="x()">d</p><iframe src="https://evil.example"></iframe>': '<p>d</p><iframe></iframe>',
    '<img src="https://e.x/a/pic.png" onerror="x()">': '<img src="https://e.x/a/pic.png" alt="pic.png">',
    '<p onclick="x()">c</p><script>1</script><a href="javascript:x">l</a>': '<p>c</p><a>l</a>',
    # an iframe's content is cleaned as any content
    '<iframe src="https://www.youtube.com/embed/x"><script>alert(1)</script><b>fallback</b></iframe>after':
        '<iframe src="https://www.youtube.com/embed/x"><b>fallback</b></iframe>after',
    '<iframe><img src=x onerror=alert(1)></iframe>': '<iframe><img src="x" alt="x"></iframe>',
}
XSS = '<p onclick="steal()">Hi <a href="javascript:alert(1)">there</a></p><script>alert(1)</script>'
CLEAN = '<p>Hi <a>there</a></p>'
HARMLESS = '<p>Met at the <b>fair</b>; wants a demo &amp; a <a href="https://example.com/q">quote</a>.</p>'
WHEN = "2030-03-04 10:15:00"


@pytest.mark.parametrize("dirty, clean", PEER.items())
def test_html_is_cleaned_as_concord_cleans_it(dirty: str, clean: str) -> None:
    assert purify(dirty) == clean
    assert purify(clean) == clean  # what Concord answers comes back the same


def test_real_images_in_data_uris_are_kept_others_dropped() -> None:
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(16)).decode()
    assert purify(f'<img src="data:image/png;base64,{png}" alt="dot">') == \
        f'<img src="data:image/png;base64,{png}" alt="dot">'
    assert purify('<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>') == "<a>x</a>"
    assert purify('<img src="data:image/gif;base64,not base64!">') == ""
    assert purify("Plain text, no markup") == "Plain text, no markup"
    assert purify('<p style="width: expression(alert(1)); COLOR: Blue">s</p>') == '<p style="color:#0000FF;">s</p>'


FRAGMENTS = ["<script>", "</script>", "<img src=x onerror=alert(1)>", "<a href='javascript:x'>", "</a>",
             '<iframe src="//evil">', "<p style='background:url(javascript:x)'>", "<svg onload=x>", "<p>", "</p>",
             "<b>", "&", "<", ">", '"', "'", "text", "<!--", "-->", "<style>", "<a target=_blank href=/x>",
             "<IMG SRC=javascript:x>", "<div data-noedit>", "<table><tr><td>", "<object data=x>", "\x00", "é",
             "<iframe>", "</iframe>", "<noscript>", "<xmp>", "<plaintext>", "<textarea>", "<title>",
             '<a target="_blank" title="x>y" href="/z" onclick=go()>']


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=12))
def test_no_script_survives_any_mix(fragments: list[str]) -> None:
    cleaned = purify("".join(fragments))
    lowered = cleaned.lower()
    assert "<script" not in lowered and "<style" not in lowered and "<svg" not in lowered
    tags = re.findall(r"<[^>]*>", lowered)  # text is escaped: `&lt;img ...&gt;` is no tag
    assert "<object" not in lowered and not any("javascript:" in tag for tag in tags)
    assert not any(re.search(r"\son\w+=", tag) for tag in tags)  # no event handler in any tag
    assert not re.search(r'<iframe[^>]*src="(?!https?://(www\.youtube\.com|player\.vimeo\.com))', lowered)


@pytest.fixture
def contact(concord: Concord) -> dict[str, Any]:
    return concord.create("contacts", {"first_name": "Rich", "last_name": "Text"})


def test_calls_and_notes_show_their_body_cleaned_and_keep_it_as_sent(concord: Concord,
                                                                     contact: dict[str, Any]) -> None:
    outcome = concord.get("call-outcomes").json()["data"][0]["id"]
    call = concord.create("calls", {"call_outcome_id": outcome, "date": WHEN, "body": XSS,
                                    "via_resource": "contacts", "via_resource_id": contact["id"]})
    note = concord.create("notes", {"body": HARMLESS, "via_resource": "contacts", "via_resource_id": contact["id"]})
    assert call["body"] == CLEAN and note["body"] == HARMLESS  # harmless HTML is kept as it is
    assert concord.get(f"calls/{call['id']}").json()["body"] == CLEAN
    assert concord.get("calls").json()["data"][0]["body"] == CLEAN
    assert concord.get(f"contacts/{contact['id']}/calls").json()["data"][0]["body"] == CLEAN
    assert concord.get(f"contacts/{contact['id']}").json()["calls"][0]["body"] == CLEAN
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    assert espo.get(f"/api/v1/Call/{call['id']}").json()["description"] == XSS  # stored as sent, as Concord does
    written = espo.post("/api/v1/RecordNote", json={"body": XSS, "contactsIds": [str(contact["id"])]})
    assert written.status_code == 200, written.content
    assert concord.get(f"notes/{written.json()['id']}").json()["body"] == CLEAN  # whoever wrote it
    updated = concord.put(f"notes/{note['id']}", {"body": "<p>ok<script>x</script></p>"})
    assert updated.json()["body"] == "<p>ok</p>"
    assert espo.get(f"/api/v1/RecordNote/{note['id']}").json()["body"] == "<p>ok<script>x</script></p>"


def test_activities_comments_and_documents_are_cleaned_too(concord: Concord, contact: dict[str, Any]) -> None:
    activity = concord.create("activities", {"title": "Rich", "due_date": "2030-01-15", "user_id": concord.user_id,
                                             "description": XSS, "note": '<img src="https://e.x/a/pic.png" '
                                                                         'onerror="x()">'})
    assert activity["description"] == CLEAN and activity["note"] == '<img src="https://e.x/a/pic.png" alt="pic.png">'
    comment = concord.create(f"activities/{activity['id']}/comments", {"body": XSS})
    assert comment["body"] == CLEAN
    assert concord.get(f"activities/{activity['id']}/comments").json()[0]["body"] == CLEAN
    assert concord.get(f"comments/{comment['id']}").json()["body"] == CLEAN
    nested = concord.http.get(f"/api/activities/{activity['id']}", params={"with": "comments"}).json()
    assert nested["comments"][0]["body"] == CLEAN
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    [brand] = espo.get("/api/v1/Brand").json()["list"]
    document = concord.create("documents", {"title": "Offer", "brand_id": int(brand["id"]),
                                            "user_id": concord.user_id, "content": XSS + HARMLESS})
    assert document["content"] == CLEAN + HARMLESS


def test_a_limited_user_sees_the_cleaned_body_and_bad_bodies_stay_422(concord: Concord,
                                                                      contact: dict[str, Any]) -> None:
    limited = concord.as_user("rich", {"RecordNote": {"create": "yes", "read": "own", "edit": "own", "delete": "no"},
                                       "Contact": {"create": "no", "read": "all", "edit": "all", "delete": "no"}})
    note = limited.create("notes", {"body": XSS, "via_resource": "contacts", "via_resource_id": contact["id"]})
    assert note["body"] == CLEAN and limited.get(f"notes/{note['id']}").json()["body"] == CLEAN
    empty = limited.create("notes", {"body": "<script>alert(1)</script>", "via_resource": "contacts",
                                     "via_resource_id": contact["id"]})  # empty once cleaned: Concord takes it
    assert empty["body"] == ""
    assert limited.post("notes", {"body": ["<p>x</p>"], "via_resource": "contacts",
                                  "via_resource_id": contact["id"]}).status_code == 422
    assert limited.post("notes", {"body": "x" * 70_000, "via_resource": "contacts",
                                  "via_resource_id": contact["id"]}).status_code == 422
    assert concord.http.get(f"/api/notes/{note['id']}", headers={"Authorization": ""}).status_code == 401
