from tests.smtp.conftest import dkim_key, mx, remote_internet, sender, submission  # noqa: F401
