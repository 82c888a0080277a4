"""Synthetic SMTP replies of the outbound queue, for when no remote server
answered (RFC 3463 enhanced codes). They go into DSNs (``Diagnostic-Code``)
and the queue listing, as a remote server's reply would. Named constants
(STYLE.md example 6); they live here rather than in ``smtp.codes`` because the
queue is delivery's, and delivery imports no protocol package.
"""

S451_CONNECT_FAILED = "451 4.4.1 No answer from {host}: {reason}"
S451_DNS_TEMPORARY = "451 4.4.3 DNS lookup for {domain} failed temporarily"
S550_DNS_NO_DOMAIN = "550 5.1.2 Domain {domain} does not exist"
S556_NULL_MX = "556 5.1.10 Domain {domain} does not accept mail (null MX, RFC 7505)"
S553_NO_SMTPUTF8 = "553 5.6.7 The remote server does not support internationalised addresses (SMTPUTF8)"
