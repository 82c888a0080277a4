"""Automatic configuration of mail clients: Thunderbird autoconfig, Outlook
autodiscover (POX), the Apple ``.mobileconfig`` profile and the page
"Configurer mon téléphone ou ma messagerie". Public answers never depend on the
address asked about (no account enumeration); only the signed-in pages name the
person's identifier.
"""
