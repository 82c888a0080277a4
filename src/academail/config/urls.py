from django.contrib import admin
from django.urls import include, path

from academail.accounts.views import admin_login_redirect
from academail.config import views

admin.site.site_header = "academail — administration"
admin.site.site_title = "academail"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    # One sign-in door for everyone, administrators included (throttling, journal).
    path("admin/login/", admin_login_redirect),
    path("admin/", admin.site.urls),
    path("", include("academail.accounts.urls")),
]
