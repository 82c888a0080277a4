"""The filter page: rules in plain French saved as Sieve and read back, the
out-of-office, the advanced mode's validation, the test over existing messages,
the journal."""

from __future__ import annotations

import pytest

from academail.accounts.models import JournalEntry
from academail.filters.engine import decide
from academail.filters.models import SieveScript
from academail.mime.parse import parse_message
from tests.filters.conftest import raw_message

URL = "/courrier/filtres/"
ADVANCED = "/courrier/filtres/avance/"


@pytest.fixture
def person(make_account):
    return make_account("Julie", "Martin")


@pytest.fixture
def web(client, person):
    client.force_login(person)
    return client


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _form(**extra):
    data = {
        "rules": "1",
        "rule-0-order": "1", "rule-0-enabled": "1", "rule-0-stop": "1",
        "rule-0-field0": "subject", "rule-0-value0": "réunion",
        "rule-0-field1": "subject", "rule-0-value1": "",
        "rule-0-match": "any", "rule-0-folder": "Réunions",
        "vac-days": "7",
    }
    data.update(extra)
    return data


def test_sign_in_required(client):
    response = client.get(URL)
    assert response.status_code == 302 and "next=" in response["Location"]


def test_empty_page_in_french(web):
    page = web.get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Réponse d'absence" in html and "Nouvelle règle" in html and 'lang="fr"' in html


def test_editor_rules_are_cards_with_folders_to_choose_and_stop_off(web, person):
    from academail.store.mailboxes import do_create_mailbox

    do_create_mailbox(person.pk, "Réunions")
    html = web.get(URL).content.decode()
    new_rule = html.split('id="rule-0"')[1]
    # The target folder is chosen from the existing ones; special folders by their French name.
    assert '<option value="Réunions">Réunions</option>' in new_rule
    assert ">Corbeille</option>" in new_rule and ">Boîte de réception</option>" not in new_rule
    # "ne pas appliquer les règles suivantes" is off on a new rule.
    stop = new_rule.split('id="rule-0-stop"')[1].split(">")[0]
    assert "checked" not in stop
    # Every checkbox has its own label, on its own line.
    for name in ("read", "stop", "enabled"):
        assert f'<label class="fr-label" for="rule-0-{name}">' in new_rule
    assert "Mode expert (script Sieve)" in html


def test_a_new_folder_is_created_with_the_rule(web, person):
    from academail.store.mailboxes import list_mailboxes

    response = web.post(URL, _form(**{"rule-0-folder": "", "rule-0-newfolder": "Conseils/2026"}))
    assert response.status_code == 302
    names = {m.name for m in list_mailboxes(person.pk)}
    assert {"Conseils", "Conseils/2026"} <= names
    assert 'fileinto :create "Conseils/2026"' in SieveScript.objects.get(account=person).content


def test_one_rule_tested_shows_its_results_in_its_card(web, person):
    from academail.delivery.route import deliver

    deliver(raw_message("Réunion parents-professeurs"), [person.address])
    deliver(raw_message("Conseil de classe"), [person.address])
    data = _form(**{"rules": "2", "rule-1-order": "2", "rule-1-enabled": "1", "rule-1-field0": "subject",
                    "rule-1-value0": "conseil", "rule-1-folder": "Conseils", "action": "test-1"})
    response = web.post(URL, data)
    html = response.content.decode()
    assert response.status_code == 200
    second = html.split('id="rule-1"')[1].split('id="rule-2"')[0]
    assert 'id="rule-1-results"' in second and "Conseil de classe" in second
    assert "déplacé dans « Conseils »" in second and "Réunion parents-professeurs" not in second
    assert 'id="rule-0-results"' not in html  # the other rule was not tested
    assert not SieveScript.objects.filter(account=person).exists()  # testing saves nothing
    blank = web.post(URL, _form(action="test-5"))
    assert blank.status_code == 400 and "Cette règle est vide" in blank.content.decode()


def test_rule_round_trip_and_delivery_decision(web, person):
    response = web.post(URL, _form(**{"rule-0-read": "1"}))
    assert response.status_code == 302
    script = SieveScript.objects.get(account=person).content
    assert 'fileinto :create "Réunions"' in script and "i;unicode-casemap" in script
    page = web.get(URL).content.decode()
    assert 'value="réunion"' in page and 'value="Réunions"' in page
    raw = raw_message("REUNION du conseil pédagogique")
    decision = decide(person.pk, parse_message(raw), envelope_from="a@b.fr", envelope_to=person.address,
                      size=len(raw), raw=raw)
    assert decision.mailbox == "Réunions" and decision.flags == frozenset({"\\Seen"})
    entry = JournalEntry.objects.filter(account=person, kind="filter_changed").latest("id")
    assert "réunion" in entry.detail


def test_order_disable_and_delete(web, person):
    web.post(URL, _form(**{
        "rules": "3",
        "rule-1-order": "0", "rule-1-enabled": "1", "rule-1-field0": "from", "rule-1-value0": "parent",
        "rule-1-folder": "Parents",
        "rule-2-order": "5", "rule-2-field0": "body", "rule-2-value0": "élève", "rule-2-folder": "Élèves",
    }))
    from academail.filters.services import read_filters

    rules = read_filters(person.pk).settings.rules
    assert [r.folder for r in rules] == ["Parents", "Réunions", "Élèves"]
    assert [r.enabled for r in rules] == [True, True, False]
    data = _form(**{"rules": "3", "rule-0-delete": "1",
                    "rule-1-order": "2", "rule-1-enabled": "1", "rule-1-field0": "subject",
                    "rule-1-value0": "x", "rule-1-folder": "X"})
    web.post(URL, data)
    assert [r.folder for r in read_filters(person.pk).settings.rules] == ["X"]


def test_invalid_rule_is_explained(web):
    response = web.post(URL, _form(**{"rule-0-folder": "", "rule-0-forward": "pas-une-adresse"}))
    assert response.status_code == 400
    assert "Règle 1" in response.content.decode()


def test_vacation_settings_round_trip(web, person):
    web.post(URL, _form(**{"vac-enabled": "1", "vac-start": "2026-07-01", "vac-end": "2026-07-31",
                           "vac-subject": "Absente", "vac-text": "Je serai de retour le 1er août.", "vac-days": "4"}))
    script = SieveScript.objects.get(account=person).content
    assert "vacation :days 4" in script and "currentdate" in script
    page = web.get(URL).content.decode()
    assert 'value="2026-07-01"' in page and "de retour le 1er août" in page and 'value="4"' in page


def test_vacation_end_before_start(web):
    response = web.post(URL, _form(**{"vac-enabled": "1", "vac-start": "2026-07-31", "vac-end": "2026-07-01",
                                      "vac-text": "x"}))
    assert response.status_code == 400 and "précède" in response.content.decode()


def test_advanced_mode_validation_in_french(web, person):
    response = web.post(ADVANCED, {"script": 'require "fileinto";\nif header :contains "subject" "x" {\n fileinto "A"\n', "action": "save"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Ligne" in html and 'aria-invalid="true"' in html
    assert not SieveScript.objects.filter(account=person).exists()
    response = web.post(ADVANCED, {"script": 'require "fileinto";\nif header :contains "subject" "x" { fileinto "A"; }\n', "action": "save"})
    assert response.status_code == 302
    assert JournalEntry.objects.filter(account=person, kind="filter_changed").exists()


def test_advanced_script_is_not_shown_as_rules(web, person):
    web.post(ADVANCED, {"script": 'require "fileinto";\nif size :over 1M { fileinto "Gros"; }\n', "action": "save"})
    assert "mode expert : il n'est pas affiché" in web.get(URL).content.decode()


def test_test_on_existing_messages(web, person):
    from academail.delivery.route import deliver

    deliver(raw_message("Réunion parents-professeurs"), [person.address])
    deliver(raw_message("Conseil de classe"), [person.address])
    response = web.post(URL, _form(action="test"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "1 message concerné parmi les 2" in html
    assert "Réunion parents-professeurs" in html and "Conseil de classe" not in html.split("Résultat du test")[1]
    assert not SieveScript.objects.filter(account=person).exists()  # testing saves nothing


def test_test_results_show_mark_as_read(web, person):
    from academail.delivery.route import deliver

    deliver(raw_message("Réunion"), [person.address])
    html = web.post(URL, _form(action="test", **{"rule-0-read": "1"})).content.decode()
    assert "marqué comme lu" in html


def test_out_of_office_banner_on_every_page_while_on(web, person):
    """Issue 20: while the reply answers mail, every signed-in page says so, with
    the way to turn it off; off, outside its dates, or signed out: no banner."""
    assert "vacation-banner" not in web.get("/courrier/").content.decode()
    web.post(URL, _form(**{"vac-enabled": "1", "vac-subject": "Absente", "vac-text": "De retour lundi."}))
    for page in ("/courrier/", "/compte/", URL):
        html = web.get(page, follow=True).content.decode()
        assert 'id="vacation-banner"' in html and "Votre réponse d'absence est activée" in html, page
        assert '''href="/courrier/filtres/#vac-enabled">Désactiver la réponse d'absence</a>''' in html, page
    web.post(URL, _form(**{"vac-enabled": "1", "vac-end": "2020-01-31", "vac-subject": "Absente", "vac-text": "x"}))
    assert "vacation-banner" not in web.get("/courrier/").content.decode()  # ended
    web.post(URL, _form(**{"vac-end": "", "vac-subject": "Absente", "vac-text": "x"}))
    assert "vacation-banner" not in web.get("/courrier/").content.decode()  # turned off


def test_out_of_office_state_costs_one_query_once_cached(person, django_assert_num_queries):
    from academail.filters.rules import Settings, Vacation
    from academail.filters.services import check_and_save_settings, read_vacation_on

    check_and_save_settings(person.pk, Settings((), Vacation(enabled=True, subject="Absente", text="x")))
    assert read_vacation_on(person.pk) is not None  # first read parses this version
    with django_assert_num_queries(1):
        assert read_vacation_on(person.pk).subject == "Absente"


def _conditions(html: str, rule: int) -> list[str]:
    """The condition values drawn in a rule's card, in order."""
    card = html.split(f'id="rule-{rule}"')[1].split(f'id="rule-{rule + 1}"')[0]
    return [part.split('value="')[1].split('"')[0]
            for part in card.split(f'name="rule-{rule}-value')[1:]]


def test_a_condition_added_keeps_what_was_typed_and_saves_nothing(web, person):
    data = _form(**{"rule-0-conds": "1", "rule-0-read": "1", "vac-subject": "Absente",
                    "rules": "2", "rule-1-conds": "1", "rule-1-value0": "cantine", "action": "addcond-0"})
    data.pop("rule-0-field1"), data.pop("rule-0-value1")
    response = web.post(URL, data)
    html = response.content.decode()
    assert response.status_code == 200 and 'id="flt-error"' not in html
    assert _conditions(html, 0) == ["réunion", ""]
    assert _conditions(html, 1) == ["cantine"]  # the new rule, still unsaved, kept too
    assert 'name="rule-0-conds" value="2"' in html and 'name="rule-1-conds" value="1"' in html
    assert 'id="rule-0-value1" name="rule-0-value1" value="" maxlength="200" autofocus' in html
    assert 'id="rule-0-read" name="rule-0-read" value="1" checked' in html and 'value="Absente"' in html
    assert "Condition 2 : ce qui est examiné" in html and 'label for="rule-0-match"' in html
    assert not SieveScript.objects.filter(account=person).exists()


def test_a_condition_removed_and_the_rest_saved_with_allof(web, person):
    data = _form(**{"rule-0-conds": "3", "rule-0-value1": "parents", "rule-0-field2": "from",
                    "rule-0-value2": "direction", "rule-0-match": "all", "action": "delcond-0-1"})
    html = web.post(URL, data).content.decode()
    assert _conditions(html, 0) == ["réunion", "direction"]
    assert 'name="rule-0-conds" value="2"' in html
    assert 'value="delcond-0-1"' in html and 'value="delcond-0-2"' not in html
    assert "Retirer cette condition" in html and "(condition 2)" in html
    assert '<option value="all" selected>' in html and '<option value="from" selected>' in html
    # The form as re-drawn, saved: both conditions, all of them required.
    data.update({"rule-0-conds": "2", "rule-0-field1": "from", "rule-0-value1": "direction", "action": "save"})
    data.pop("rule-0-value2"), data.pop("rule-0-field2")
    assert web.post(URL, data).status_code == 302
    script = SieveScript.objects.get(account=person).content
    assert ('if allof (header :contains :comparator "i;unicode-casemap" "subject" "réunion", '
            'header :contains :comparator "i;unicode-casemap" "from" "direction") {') in script
    assert "parents" not in script


def test_three_conditions_saved_with_anyof_and_drawn_back(web, person):
    data = _form(**{"rule-0-conds": "3", "rule-0-value1": "conseil", "rule-0-field2": "body",
                    "rule-0-value2": "ordre du jour"})
    assert web.post(URL, data).status_code == 302
    script = SieveScript.objects.get(account=person).content
    assert ('if anyof (header :contains :comparator "i;unicode-casemap" "subject" "réunion", '
            'header :contains :comparator "i;unicode-casemap" "subject" "conseil", '
            'body :text :contains :comparator "i;unicode-casemap" "ordre du jour") {') in script
    html = web.get(URL).content.decode()
    assert _conditions(html, 0) == ["réunion", "conseil", "ordre du jour"]
    assert _conditions(html, 1) == [""]  # a new rule starts with one line
    assert "Condition 3 : ce qui est examiné" in html and html.count('value="addcond-') == 2


def test_at_most_ten_conditions(web, person):
    ten = {f"rule-0-value{k}": f"mot{k}" for k in range(10)}
    full = web.post(URL, _form(**ten, **{"rule-0-conds": "10", "rules": "2", "action": "addcond-0"}))
    html = full.content.decode()
    assert full.status_code == 400 and "Règle 1 : 10 conditions au plus." in html
    assert _conditions(html, 0) == [f"mot{k}" for k in range(10)]  # nothing lost
    assert 'value="addcond-0"' not in html and 'value="addcond-1"' in html  # no button on a full rule
    eleven = web.post(URL, _form(**ten, **{"rule-0-conds": "11", "rule-0-value10": "mot10"}))
    assert eleven.status_code == 400 and "Une règle a au plus 10 conditions." in eleven.content.decode()
    assert not SieveScript.objects.filter(account=person).exists()


def test_the_last_condition_removed_leaves_one_blank_line(web):
    data = _form(**{"rule-0-conds": "1", "action": "delcond-0-0"})
    html = web.post(URL, data).content.decode()
    assert _conditions(html, 0) == [""] and 'name="rule-0-conds" value="1"' in html
    assert 'value="delcond-0-' not in html  # a single line has no "Retirer"
    assert _conditions(web.post(URL, _form(action="delcond-0-7")).content.decode(), 0) == ["réunion", ""]
