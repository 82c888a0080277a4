"""URLs of the sign-in and account pages (French paths, as users see them)."""

from django.urls import path

from academail.accounts import views

app_name = "accounts"

urlpatterns = [
    path("connexion/", views.login_view, name="login"),
    path("connexion/verification/", views.second_factor, name="second_factor"),
    path("deconnexion/", views.logout_view, name="logout"),
    path("premiere-connexion/", views.activation_start, name="activation_start"),
    path("premiere-connexion/mot-de-passe/", views.activation_password, name="activation_password"),
    path("premiere-connexion/adresse-de-secours/", views.activation_secondary, name="activation_secondary"),
    path("premiere-connexion/code/", views.activation_code, name="activation_code"),
    path("mot-de-passe-oublie/", views.reset_request, name="reset_request"),
    path("mot-de-passe-oublie/envoye/", views.reset_sent, name="reset_sent"),
    path("mot-de-passe-oublie/lien/<str:token>/", views.reset_confirm, name="reset_confirm"),
    path("assistance/", views.assistance, name="assistance"),
    path("compte/", views.security, name="security"),
    path("compte/alertes/", views.alerts, name="alerts"),
    path("compte/sessions/", views.sessions, name="sessions"),
    path("compte/sessions/<int:link_id>/fermer/", views.session_end, name="session_end"),
    path("compte/sessions/tout-fermer/", views.sessions_end_all, name="sessions_end_all"),
    path("compte/appareils/<int:device_id>/oublier/", views.device_forget, name="device_forget"),
    path("compte/mot-de-passe/", views.change_password, name="change_password"),
    path("compte/adresse-de-secours/", views.change_secondary, name="change_secondary"),
    path("compte/adresse-de-secours/code/", views.change_secondary_code, name="change_secondary_code"),
    path("compte/double-authentification/", views.totp_settings, name="totp_settings"),
    path("compte/double-authentification/activer/", views.totp_enrol, name="totp_enrol"),
    path("compte/double-authentification/codes-de-secours/", views.totp_recovery, name="totp_recovery"),
    path("compte/double-authentification/desactiver/", views.totp_disable, name="totp_disable"),
    path("compte/mots-de-passe-application/", views.app_passwords, name="app_passwords"),
    path("compte/mots-de-passe-application/<int:app_password_id>/revoquer/", views.app_password_revoke,
         name="app_password_revoke"),
    path("compte/ce-n-etait-pas-moi/<str:token>/", views.not_me, name="not_me"),
    path("compte/force-du-mot-de-passe/", views.password_strength, name="password_strength"),
]
