"""SMTP on aiosmtpd: the MX (port 25, RFC 5321) that receives mail from the
Internet, and message submission (587 with STARTTLS, 465 with TLS; RFC 6409,
RFC 8314) for signed-in staff. Decides who may send as whom and hands the
message to `delivery`; the reply texts and codes live in `codes`. Owns no table."""
