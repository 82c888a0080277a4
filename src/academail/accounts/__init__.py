"""Accounts: staff identities and everything about signing in. Creation and
import (CSV, NUMEN), naming and addresses, activation and recovery,
passwords, app passwords and TOTP, the one sign-in check with its
throttling and journal, devices, the directory of active accounts, and the
secretariat's pages. Owns the account, journal, device, throttle and
app-password tables."""
