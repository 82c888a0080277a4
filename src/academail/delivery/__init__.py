"""Delivery: the one door through which every message reaches a mailbox
(recipient checks, quota, filters, forwarding, storing in one commit before
the reply), submission and routing of outgoing mail, the sending limits, the
outbound queue with its retries and bounces (DSN), DKIM signing, SPF/DKIM/DMARC
checks, DNS, the delivery batcher and the LDA. Owns the queue, limits and
DKIM-key tables."""
