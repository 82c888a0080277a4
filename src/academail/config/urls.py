from django.contrib import admin
from django.urls import include, path

from academail.accounts.views import admin_login_redirect
from academail.config import views
from academail.config.language import javascript_catalog
from academail.operations.metrics import metrics_view

admin.site.site_header = "academail — administration"
admin.site.site_title = "academail"

urlpatterns = [
    # "/" is the webmail for a signed-in person, the landing page otherwise.
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("favicon.ico", views.favicon),
    # Django's set_language (POST, CSRF): the footer's "English" / "Français" choice.
    path("i18n/", include("django.conf.urls.i18n")),
    # gettext() for scripts: the djangojs catalogues of every app, in the chosen language.
    path("i18n/js/", javascript_catalog, name="javascript-catalog"),
    # One sign-in door for everyone, administrators included (throttling, journal).
    path("admin/login/", admin_login_redirect),
    path("admin/", admin.site.urls),
    path("courrier/filtres/", include("academail.filters.urls")),
    path("courrier/transfert/", include("academail.forwarding.urls")),
    path("courrier/listes/", include("academail.lists.urls")),
    path("courrier/espace/", include("academail.archive.urls")),
    path("courrier/protection/", include("academail.protection.urls")),
    path("courrier/partage/", include("academail.sharing.urls")),
    path("courrier/", include("academail.webmail.urls")),
    path("aide/", include("academail.help.urls")),
    path("formations/", include("academail.help.training_urls")),
    path("", include("academail.assistance.urls")),
    path("", include("academail.accounts.urls")),
    path("", include("academail.autoconfig.urls")),
    path("", include("academail.calendar.urls")),
]
