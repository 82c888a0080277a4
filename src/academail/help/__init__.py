"""The help centre (``/aide/``): articles written for this product, their
search, feedback and versioned editing; the links that every refusal in the
product gives to the article that resolves it (``web.helplinks``); the guided
tour after activation; and training sessions (``/formations/``) with sign-up,
waiting list, invitations and reminders. Owns the ``help_*`` tables."""
