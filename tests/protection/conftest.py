from tests.smtp.conftest import mx  # noqa: F401  (a real MX on a free loopback port)
