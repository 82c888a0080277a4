"""Distribution lists in a real browser (issue 19 §3), at desktop and phone
size, with axe: the secretariat adds a moderator on the list's managing page;
a parent's post waits for moderation; the moderator finds it from
"Listes de diffusion", reads it and accepts it; a member reads it in the
list's archive and has it in their inbox."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import build_message
from tests.e2e.conftest import make_person, sign_in, wait_text
from tests.e2e.pagechecks import PageChecks, click, no_horizontal_scroll

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

UAI = "0341234X"


def test_moderate_a_post_then_read_it_in_the_archive(screen, live_server, axe_source):
    from academail.accounts.models import Role
    from academail.delivery.route import deliver
    from academail.lists.models import MailingList, Member, Post, PostStatus
    from academail.store.messages import special_mailbox

    secretary = make_person("Nadia", "Secretaire")
    secretary.role, secretary.uai = Role.SECRETARIAT, UAI
    secretary.save()
    moderator = make_person("Claire", "Principale")
    member = make_person("Sophie", "Leroy")
    team = MailingList.objects.create(
        address="parents-3eb.0341234x@ac-demo.fr", name="Parents et équipe de 3eB", posting="members",
        moderate_others=True, owner_uai=UAI,
    )
    Member.objects.create(mailing_list=team, address=member.address, account=member)
    checks = PageChecks(screen, axe_source)

    # The secretariat names the moderator on the list's managing page.
    sign_in(screen, live_server, secretary.identifier)
    screen.get(f"{live_server.url}/courrier/listes/{team.pk}/gerer/")
    field = WebDriverWait(screen, 20).until(EC.presence_of_element_located((By.ID, "add-moderator")))
    checks("gestion")
    field.send_keys(moderator.address)
    click(screen, screen.find_element(By.CSS_SELECTOR, "button[value=add_moderator]"))
    wait_text(screen, "Adresse ajoutée.", timeout=20)
    wait_text(screen, moderator.address, timeout=20, css="main")
    no_horizontal_scroll(screen)

    # A parent outside the list writes: the post waits.
    deliver(build_message(subject="Sortie au musée Fabre", sender="parent@exemple.org", to=team.address,
                          body="Bonjour,\n\nLa sortie au musée Fabre est confirmée pour jeudi.\n"),
            [team.address], envelope_from="parent@exemple.org")
    post = Post.objects.get()
    assert post.status == PostStatus.HELD

    sign_in(screen, live_server, moderator.identifier)
    screen.get(live_server.url + "/courrier/listes/")
    link = WebDriverWait(screen, 20).until(EC.element_to_be_clickable((By.LINK_TEXT, "Parents et équipe de 3eB")))
    assert "1" in screen.find_element(By.CSS_SELECTOR, "main table tbody").text  # one post waiting
    checks("mes listes")
    click(screen, link)
    wait_text(screen, "Sortie au musée Fabre", timeout=20, css="#list-held")
    checks("modération")
    click(screen, screen.find_element(By.PARTIAL_LINK_TEXT, "Sortie au musée Fabre"))
    wait_text(screen, "La sortie au musée Fabre est confirmée pour jeudi.", timeout=20, css="#post-text")
    checks("message en attente")
    click(screen, screen.find_element(By.CSS_SELECTOR, "button[value=approve]"))
    wait_text(screen, "Message accepté", timeout=20)
    wait_text(screen, "Aucun message n'attend votre accord.", timeout=20, css="#list-held")
    assert Post.objects.get().status == PostStatus.DISTRIBUTED
    assert special_mailbox(member.pk, "inbox").messages == 1

    # A member reads it in the archive.
    sign_in(screen, live_server, member.identifier)
    screen.get(f"{live_server.url}/courrier/listes/{team.pk}/")
    wait_text(screen, "Sortie au musée Fabre", timeout=20, css="#list-archive")
    assert not screen.find_elements(By.ID, "list-held")  # a member does not moderate
    checks("archives")
    checks.assert_clean()
