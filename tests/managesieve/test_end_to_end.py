"""ManageSieve and the rest of the platform edit the same scripts: a rule made
on the webmail page is read over ManageSieve; a script put and activated over
ManageSieve files the next message delivered through the one door; switching
the active script switches what delivery runs; the webmail page writes the
active script and never an inactive one it does not show."""

from __future__ import annotations

from academail.delivery.route import deliver
from academail.filters.models import SieveScript
from academail.store.models import Mailbox, Message
from tests.conftest import build_message
from tests.managesieve.conftest import literal
from tests.managesieve.test_scripts import listing, put

FILTERS_URL = "/courrier/filtres/"


def folder(account, name: str) -> list[str]:
    box = (Mailbox.objects.get(account=account, special_use="inbox") if name == "INBOX"
           else Mailbox.objects.get(account=account, name=name))
    return [m.content.subject for m in Message.objects.filter(mailbox=box).order_by("uid")]


def webmail_rule_form(word: str, target: str) -> dict[str, str]:
    return {
        "rules": "1", "rule-0-order": "1", "rule-0-enabled": "1", "rule-0-stop": "1",
        "rule-0-field0": "subject", "rule-0-value0": word, "rule-0-field1": "subject", "rule-0-value1": "",
        "rule-0-match": "any", "rule-0-folder": target, "vac-days": "7",
    }


def test_rule_made_on_the_webmail_is_visible_over_managesieve(session, user, client):
    client.force_login(user)
    assert client.post(FILTERS_URL, webmail_rule_form("réunion", "Réunions")).status_code == 302
    assert listing(session) == [b'"academail" ACTIVE']
    reply = session.cmd('GETSCRIPT "academail"')
    assert reply.ok
    script = reply.lines[0].decode()
    assert 'fileinto :create "Réunions"' in script and '"réunion"' in script


def test_script_put_and_activated_over_managesieve_files_delivered_mail(session, user):
    script = ('require ["fileinto", "comparator-i;unicode-casemap"];\r\n'
              'if header :comparator "i;unicode-casemap" :contains "subject" "reunion" {\r\n'
              '  fileinto "Réunions";\r\n}\r\n')
    assert session.cmd(b'PUTSCRIPT "tri" ' + literal(script)).ok
    deliver(build_message(subject="RÉUNION parents-professeurs"), [user.address])
    assert folder(user, "INBOX") == ["RÉUNION parents-professeurs"]  # not active yet: no filter
    assert session.cmd('SETACTIVE "tri"').ok
    deliver(build_message(subject="Réunion du conseil"), [user.address])
    assert folder(user, "Réunions") == ["Réunion du conseil"]
    assert session.cmd('SETACTIVE ""').ok
    deliver(build_message(subject="Réunion annulée"), [user.address])
    assert folder(user, "INBOX") == ["RÉUNION parents-professeurs", "Réunion annulée"]


def test_switching_to_an_older_script_switches_what_delivery_runs(session, user):
    assert put(session, "ancien", 'require ["fileinto", "mailbox"];\r\nfileinto :create "Ancien";\r\n').ok
    assert put(session, "nouveau", 'require ["fileinto", "mailbox"];\r\nfileinto :create "Nouveau";\r\n').ok
    assert session.cmd('SETACTIVE "nouveau"').ok
    deliver(build_message(subject="un"), [user.address])
    assert session.cmd('SETACTIVE "ancien"').ok
    deliver(build_message(subject="deux"), [user.address])
    assert folder(user, "Nouveau") == ["un"] and folder(user, "Ancien") == ["deux"]


def test_webmail_writes_the_active_script_and_spares_inactive_ones(session, user, client):
    client.force_login(user)
    assert put(session, "academail", "keep;\r\n").ok  # inactive, named like the webmail's default
    assert put(session, "perso", 'require ["fileinto", "mailbox"];\r\nfileinto :create "Perso";\r\n').ok
    # No active script: the page shows no rule and saving creates a new active script.
    assert client.post(FILTERS_URL, webmail_rule_form("sortie", "Sorties")).status_code == 302
    assert listing(session) == [b'"academail"', b'"academail-2" ACTIVE', b'"perso"']
    assert SieveScript.objects.get(account=user, name="academail").content == "keep;\n"
    # With "perso" active, the page edits "perso" (shown in advanced mode: not made of rules).
    assert session.cmd('SETACTIVE "perso"').ok
    page = client.get(FILTERS_URL).content.decode()
    assert "Perso" in page
    assert client.post(FILTERS_URL, webmail_rule_form("voyage", "Voyages")).status_code == 302
    assert "Voyages" in SieveScript.objects.get(account=user, name="perso").content
    assert "Sorties" in SieveScript.objects.get(account=user, name="academail-2").content
