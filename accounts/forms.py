from django import forms
from django.contrib.auth.forms import AuthenticationForm


class LoginForm(AuthenticationForm):
    """Django's login form, with one message for every failure.

    A wrong password, an unknown username and a deactivated account all get the same sentence, so
    the form never tells whether an account exists.
    """

    error_messages = {
        "invalid_login": (
            "Identifiant ou mot de passe incorrect. Vérifiez votre saisie ; après plusieurs échecs, "
            "la connexion est bloquée pendant quelques minutes."
        ),
        "inactive": (
            "Identifiant ou mot de passe incorrect. Vérifiez votre saisie ; après plusieurs échecs, "
            "la connexion est bloquée pendant quelques minutes."
        ),
    }

    username = forms.CharField(
        label="Identifiant",
        max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username", "autocapitalize": "none"}),
    )
    password = forms.CharField(
        label="Mot de passe",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
