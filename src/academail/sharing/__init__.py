"""Sharing (issue 19): functional mailboxes (an établissement's address read
by its members with their own passwords), folders shared with colleagues and
delegations of a whole mailbox for a period. This package owns the functional
mailboxes' records, their creation (browser and CSV), membership, sharing and
delegation pages and both journals; the rights themselves are the store's
(``store.acl``), which every protocol goes through."""
