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
S550_UNKNOWN_RECIPIENT = "550 5.1.1 No such user here"
S550_RELAY_DENIED = "550 5.7.1 Relaying denied: this server only accepts mail for its own domains"
S552_TOO_BIG = "552 5.3.4 Message too big for system"
S554_LOOP = "554 5.4.6 Too many Received headers: mail loop detected"
S554_NO_VALID_RECIPIENTS = "554 5.5.1 No valid recipients"

# aiosmtpd answers these itself without enhanced codes; the server rewrites them.
AIOSMTPD_REWRITES = {
    "552 Error: Too much mail data": S552_TOO_BIG,
    "552 Error: message size exceeds fixed maximum message size": S552_TOO_BIG,
    "500 Line too long (see RFC5321 4.5.3.1.6)": S500_LINE_TOO_LONG,
}

MAX_RECEIVED_HEADERS = 30
