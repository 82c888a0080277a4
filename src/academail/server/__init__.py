"""Running the platform: `academail serve` (web, SMTP, IMAP, ManageSieve and
the worker in one asyncio process, or a subset), the TLS material, the one
line-protocol server IMAP and ManageSieve share (`lineserver`: connection,
literals, STARTTLS, linger, connection counters, store threads, command
tables) and the SASL PLAIN/LOGIN decoder. Owns no table."""
