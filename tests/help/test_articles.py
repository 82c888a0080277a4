"""The help centre: shipped articles, search ignoring accents, feedback, the
French 404, the reader's own settings, and editing by the helpdesk."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from academail.help import content
from academail.help.models import Article, ArticleFeedback, ArticleRevision
from academail.web import helplinks as links
from academail.web.helplinks import Articles

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(make_account):
    return make_account("Julie", "Martin")


@pytest.fixture
def agent(make_account):
    return make_account("Karim", "Benali", role="support")


def test_every_shipped_article_is_installed_after_migrate():
    slugs = set(Article.objects.values_list("slug", flat=True))
    assert {item.slug for item in content.shipped()} <= slugs
    assert content.do_install_shipped() == 0  # nothing missing: nothing overwritten


def test_every_article_that_a_refusal_points_to_exists():
    slugs = set(Article.objects.filter(published=True).values_list("slug", flat=True))
    wanted = {value for name, value in vars(Articles).items() if not name.startswith("_")}
    assert wanted - slugs == set()


def test_an_article_edited_in_the_browser_is_not_overwritten_by_the_shipped_set(agent):
    from academail.help.articles import Draft, check_save_article

    article = Article.objects.get(slug="numen")
    check_save_article(agent, Draft("NUMEN (modifié)", article.summary, article.topic, article.category,
                                    article.body), slug="numen")
    assert content.do_install_shipped() == 0
    assert Article.objects.get(slug="numen").title == "NUMEN (modifié)"


def test_an_upgrade_updates_the_shipped_articles_nobody_edited():
    Article.objects.filter(slug="boite-pleine").update(body="Ancien texte.")
    assert content.do_install_shipped() == 1
    article = Article.objects.get(slug="boite-pleine")
    assert "Espace utilisé" in article.body and "Espace utilisé" in article.body_html
    assert article.revisions.count() == 2


def test_index_lists_rubrics_for_people_signed_out(client):
    page = client.get(reverse("help:index"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Se connecter et premiers pas" in html
    assert reverse("help:article", args=["numen"]) in html
    assert page["Content-Security-Policy"].startswith("default-src 'self'")


def test_a_secretary_finds_the_numen_article_from_the_sign_in_page_without_signing_in(client):
    login = client.get(reverse("accounts:login")).content.decode()
    assert f'href="{reverse("help:index")}"' in login  # "Aide" in the navigation
    numen_url = links.article_url("numen")
    assert f'href="{numen_url}"' in login
    article = client.get(numen_url)
    assert article.status_code == 200
    assert "bulletins de salaire" in article.content.decode()


def test_first_connection_page_links_to_the_numen_article(client):
    html = client.get(reverse("accounts:activation_start")).content.decode()
    assert f'href="{links.article_url("numen")}"' in html
    assert f'href="{reverse("help:index")}"' in html


@pytest.mark.parametrize(("query", "slug"), [
    ("hameconnage", "indesirables-et-hameconnage"),  # "hameçonnage" without its cedilla
    ("TELEPHONE", "telephone-et-logiciels"),
    ("numen perdu", "numen"),
    ("boîte pleine", "boite-pleine"),
    ("corbeille 30 jours", "conservation-et-archivage"),
    ("exporter mbox", "conservation-et-archivage"),
    ("semaine A", "rendez-vous"),
])
def test_search_ignores_accents_and_case(client, query, slug):
    page = client.get(reverse("help:index"), {"q": query})
    assert page.status_code == 200
    assert reverse("help:article", args=[slug]) in page.content.decode()


def test_search_puts_title_matches_first():
    from academail.help.articles import search

    results = search("numen", reader=None)
    assert results[0].slug == "numen"


def test_search_with_nothing_found_says_so(client):
    html = client.get(reverse("help:index"), {"q": "zyxwvu"}).content.decode()
    assert "Aucun article trouvé." in html


def test_unknown_article_gives_a_french_404_with_a_search_box(client):
    page = client.get("/aide/numen-oublie/")
    assert page.status_code == 404
    html = page.content.decode()
    assert "Cet article n'existe pas" in html
    assert 'type="search"' in html
    assert reverse("help:article", args=["numen"]) in html  # a suggestion from the address's words


def test_feedback_counts_once_per_person_and_can_be_changed(client, staff):
    client.force_login(staff)
    url = reverse("help:feedback", args=["numen"])
    assert client.post(url, {"helpful": "yes"}).status_code == 302
    client.post(url, {"helpful": "yes"})
    article = Article.objects.get(slug="numen")
    assert (article.helpful, article.not_helpful) == (1, 0)
    client.post(url, {"helpful": "no", "comment": "Il manque le cas des contractuels."})
    article.refresh_from_db()
    assert (article.helpful, article.not_helpful) == (0, 1)
    assert ArticleFeedback.objects.get(article=article).comment == "Il manque le cas des contractuels."
    page = client.get(reverse("help:article", args=["numen"])).content.decode()
    assert "Merci pour votre avis" in page


def test_feedback_from_people_signed_out_is_counted(client):
    client.post(reverse("help:feedback", args=["numen"]), {"helpful": "yes"})
    assert Article.objects.get(slug="numen").helpful == 1


def test_feedback_needs_a_csrf_token(staff):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(staff)
    assert strict.post(reverse("help:feedback", args=["numen"]), {"helpful": "yes"}).status_code == 403


def test_contact_link_preselects_the_article_category(client):
    html = client.get(reverse("help:article", args=["numen"])).content.decode()
    assert 'href="/assistance/nouvelle/?categorie=numen-perdu"' in html
    assert "Contacter l'assistance" in html
    form = client.get("/assistance/nouvelle/?categorie=numen-perdu").content.decode()
    assert re.search(r'<option value="numen-perdu"[^>]*selected', form)


def test_phone_article_shows_the_readers_own_settings(client, staff):
    signed_out = client.get(reverse("help:article", args=[Articles.PHONE])).content.decode()
    assert "votre identifiant (par exemple jdupont)" in signed_out
    assert "{{" not in signed_out
    client.force_login(staff)
    signed_in = client.get(reverse("help:article", args=[Articles.PHONE])).content.decode()
    assert f"<strong>{staff.identifier}</strong>" in signed_in
    assert staff.address in signed_in


def test_staff_cannot_edit(client, staff):
    client.force_login(staff)
    assert client.get(reverse("help:edit", args=["numen"])).status_code == 404
    assert client.post(reverse("help:edit", args=["numen"]), {"title": "x"}).status_code == 404
    assert client.get(reverse("help:history", args=["numen"])).status_code == 404


def _form(article: Article, **changes) -> dict[str, str]:
    data = {"title": article.title, "summary": article.summary, "topic": article.topic,
            "category": article.category, "body": article.body, "published": "on", "note": ""}
    data.update(changes)
    return data


def test_helpdesk_previews_then_saves_with_html_sanitised_and_a_revision(client, agent):
    client.force_login(agent)
    article = Article.objects.get(slug="numen")
    body = article.body + "\n\nNouveau paragraphe <script>alert(1)</script> [piège](javascript:alert(1))\n"
    url = reverse("help:edit", args=["numen"])
    preview = client.post(url, _form(article, body=body, action="preview"))
    assert preview.status_code == 200
    html = preview.content.decode()
    assert "Aperçu" in html and "Nouveau paragraphe" in html
    assert "<script>alert" not in html and 'href="javascript' not in html
    assert Article.objects.get(slug="numen").body == article.body  # a preview changes nothing
    saved = client.post(url, _form(article, body=body, note="Ajout d'un exemple", action="save"))
    assert saved.status_code == 302
    article.refresh_from_db()
    assert "Nouveau paragraphe" in article.body and "<script>" not in article.body_html
    last = ArticleRevision.objects.filter(article=article).order_by("-number").first()
    assert last.author == agent and last.note == "Ajout d'un exemple" and last.number == 2
    history = client.get(reverse("help:history", args=["numen"])).content.decode()
    assert agent.identifier in history and "Ajout d&#x27;un exemple" in history
    assert "+Nouveau paragraphe" in history  # what changed, not only who


def test_search_finds_the_edited_text(client, agent):
    client.force_login(agent)
    article = Article.objects.get(slug="numen")
    client.post(reverse("help:edit", args=["numen"]),
                _form(article, body=article.body + "\nÉtablissement privé sous contrat.", action="save"))
    html = client.get(reverse("help:index"), {"q": "etablissement prive"}).content.decode()
    assert reverse("help:article", args=["numen"]) in html


def test_helpdesk_creates_an_article_and_a_taken_address_is_refused(client, agent):
    client.force_login(agent)
    data = {"title": "Imprimer un message", "slug": "imprimer", "summary": "", "topic": "courrier",
            "category": "autre", "body": "Ouvrez le message puis **Imprimer**.", "published": "on",
            "action": "save"}
    assert client.post(reverse("help:new"), data).status_code == 302
    assert client.get(reverse("help:article", args=["imprimer"])).status_code == 200
    again = client.post(reverse("help:new"), data)
    assert again.status_code == 200
    assert "Un article existe déjà à cette adresse." in again.content.decode()
    bad = client.post(reverse("help:new"), {**data, "slug": "Mauvaise Adresse"})
    assert "minuscules sans accent" in bad.content.decode()


def test_an_unpublished_article_is_hidden_from_readers(client, agent, staff):
    Article.objects.filter(slug="rendez-vous").update(published=False)
    client.force_login(staff)
    assert client.get(reverse("help:article", args=["rendez-vous"])).status_code == 404
    client.force_login(agent)
    assert client.get(reverse("help:article", args=["rendez-vous"])).status_code == 200


def test_article_page_in_english_keeps_french_text_but_translates_the_interface(client, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(reverse("help:article", args=["numen"])).content.decode()
    assert "Was this article helpful?" in html


def test_index_shows_the_first_articles_of_a_large_rubric_and_links_to_all(client):
    from academail.help.articles import TOPIC_PREVIEW, Draft, check_save_article

    for i in range(TOPIC_PREVIEW + 3):
        check_save_article(None, Draft(f"Astuce {i:02d}", "", "courrier", "autre", "Texte."), new_slug=f"astuce-{i}")
    html = client.get(reverse("help:index")).content.decode()
    assert "?rubrique=courrier" in html
    full = client.get(reverse("help:index"), {"rubrique": "courrier"}).content.decode()
    assert all(reverse("help:article", args=[f"astuce-{i}"]) in full for i in range(TOPIC_PREVIEW + 3))


def test_editors_see_readers_feedback_and_readers_do_not(client, staff, agent):
    client.force_login(staff)
    client.post(reverse("help:feedback", args=["numen"]), {"helpful": "no", "comment": "Et pour les AESH ?"})
    assert "Et pour les AESH ?" not in client.get(reverse("help:article", args=["numen"])).content.decode()
    client.force_login(agent)
    html = client.get(reverse("help:article", args=["numen"])).content.decode()
    assert "Utile : 0 — pas utile : 1" in html and "Et pour les AESH ?" in html
