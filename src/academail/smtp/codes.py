"""SMTP replies as named constants (RFC 5321 §4.2, enhanced codes RFC 3463),
shared by the servers and their tests. Texts are English on the wire, as mail
software and logs expect; the French a person reads comes from the bounce."""

S220_READY = "220 {host} ESMTP academail"
S221_BYE = "221 2.0.0 Bye"
S250_OK = "250 2.0.0 OK"
S250_SENDER_OK = "250 2.1.0 Sender OK"
S250_RECIPIENT_OK = "250 2.1.5 Recipient OK"
S250_QUEUED = "250 2.0.0 OK: stored as {queue_id}"
S421_TOO_MANY_CONNECTIONS = "421 4.7.0 Too many connections from your address, try again later"
S451_LOCAL_ERROR = "451 4.3.0 Local error while storing the message, try again later"
S452_MAILBOX_FULL = "452 4.2.2 Mailbox full"
S452_TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients"
S500_LINE_TOO_LONG = "500 5.5.2 Line too long (RFC 5321 4.5.3.1.6)"
# Control characters (NUL, CR, DEL, C1...) in an envelope address: RFC 5321
# §4.1.2 allows none; RFC 3463 §3.2: X.1.7 bad sender's, X.1.3 bad recipient's address syntax.
S501_SENDER_SYNTAX = "501 5.1.7 Bad sender address syntax: control characters are not allowed"
S501_RECIPIENT_SYNTAX = "501 5.1.3 Bad recipient address syntax: control characters are not allowed"
S550_UNKNOWN_RECIPIENT = "550 5.1.1 No such user here"
# protection.spam: above the reject score and failing SPF/DKIM/DMARC (RFC 3463 §3.8: 5.7.1 refused by policy).
S550_SPAM_REJECTED = "550 5.7.1 Message refused as spam: it fails sender authentication (SPF/DKIM/DMARC)"
# lists: a distribution list's only recipient of a post it does not take from this sender
# (RFC 3463 §3.8: X.7.2 mailing list expansion prohibited); refused at DATA, so no bounce goes to a forged sender.
S550_LIST_POSTING = "550 5.7.2 This list does not take posts from this sender (members or named senders only)"
S550_RELAY_DENIED = "550 5.7.1 Relaying denied: this server only accepts mail for its own domains"
S552_TOO_BIG = "552 5.3.4 Message too big for system"
S554_LOOP = "554 5.4.6 Too many Received headers: mail loop detected"
S554_NO_VALID_RECIPIENTS = "554 5.5.1 No valid recipients"

# Submission (RFC 6409, AUTH RFC 4954 §6).
S235_AUTH_OK = "235 2.7.0 Authentication successful"
S454_AUTH_TEMPORARY = "454 4.7.0 Temporary authentication failure, try again later"
S454_AUTH_THROTTLED = "454 4.7.0 Too many failed attempts, try again in {seconds} seconds"
S530_AUTH_REQUIRED = "530 5.7.0 Authentication required"
# The account was disabled (a departure) after this session authenticated.
S530_ACCOUNT_DISABLED = "530 5.7.0 This account is no longer active"
S535_AUTH_INVALID = "535 5.7.8 Authentication credentials invalid"
S538_ENCRYPTION_REQUIRED = "538 5.7.11 Encryption required for requested authentication mechanism"
S553_SENDER_NOT_OWNED = (
    "553 5.7.1 Sender address rejected: {address} is not one of your addresses "
    "(use your own address or one of your aliases)"
)
S550_FROM_NOT_OWNED = (
    "550 5.7.1 From header rejected: {address} is not one of your addresses "
    "(use your own address or one of your aliases)"
)
S550_FROM_INVALID = "550 5.7.1 From header rejected: exactly one address of yours is required"
S550_SENDER_HEADER_NOT_OWNED = (
    "550 5.7.1 Sender header rejected: {address} is not one of your addresses "
    "(remove the Sender header, or use your own address)"
)
S550_SENDER_HEADER_INVALID = "550 5.7.1 Sender header rejected: one address of yours at most"
S451_QUEUE_ERROR = "451 4.3.0 Local error while queueing the message, try again later"
# Sending limits (delivery.limits). RFC 3463 §3.8: X.7.1 "delivery not
# authorized"; 4xx because the limit is per window and lifts with time.
S450_SENDING_LIMIT = "450 4.7.1 Sending limit reached for this account, try again later"
# Over a soft limit the message is accepted (the sender must not resend it) and held for an administrator.
S250_HELD = "250 2.0.0 Held for review: over the sending limit, an administrator will check it ({queue_id})"

# aiosmtpd answers these itself without enhanced codes; the server rewrites them.
AIOSMTPD_REWRITES = {
    "552 Error: Too much mail data": S552_TOO_BIG,
    "552 Error: message size exceeds fixed maximum message size": S552_TOO_BIG,
    "500 Line too long (see RFC5321 4.5.3.1.6)": S500_LINE_TOO_LONG,
    "538 5.7.11 Encryption required for requested authentication mechanism": S538_ENCRYPTION_REQUIRED,
    "535 5.7.8 Authentication credentials invalid": S535_AUTH_INVALID,
}

MAX_RECEIVED_HEADERS = 30
