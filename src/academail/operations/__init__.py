"""Operations: backups that restore (``backup``) and the health checks (``health``)."""
