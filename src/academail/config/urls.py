from django.contrib import admin
from django.urls import path

from academail.config import views

admin.site.site_header = "academail — administration"
admin.site.site_title = "academail"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
