from tests.smtp.conftest import dkim_key, remote_internet, sender, submission  # noqa: F401
