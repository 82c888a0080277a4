"""The out-of-office banner in a real browser, on a phone (issue 20): visible on
the inbox, no horizontal scroll, and its link leads to the switch that turns
the reply off; once off, the banner is gone."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from tests.e2e.conftest import make_person, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_banner_on_a_phone_and_turning_the_reply_off(phone, live_server):
    from academail.filters.rules import Settings, Vacation
    from academail.filters.services import check_and_save_settings

    person = make_person()
    check_and_save_settings(person.pk, Settings((), Vacation(enabled=True, subject="Absente", text="De retour lundi.")))
    sign_in(phone, live_server, person.identifier)
    banner = phone.find_element(By.ID, "vacation-banner")
    assert banner.is_displayed() and "Votre réponse d'absence est activée" in banner.text
    assert phone.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
    banner.find_element(By.LINK_TEXT, "Désactiver la réponse d'absence").click()
    switch = phone.find_element(By.ID, "vac-enabled")
    assert switch.is_selected()
    phone.execute_script("arguments[0].scrollIntoView({block: 'center'})", switch)
    # A tap on the DSFR checkbox lands on its label, which draws the box.
    phone.find_element(By.CSS_SELECTOR, "label[for=vac-enabled]").click()
    assert not switch.is_selected()
    phone.find_element(By.CSS_SELECTOR, "#vac-enabled").submit()
    phone.get(live_server.url + "/courrier/")
    assert not phone.find_elements(By.ID, "vacation-banner")
