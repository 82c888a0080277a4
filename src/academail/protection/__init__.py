"""Protection: spam and phishing verdicts taken once at delivery (GTUBE,
SPF/DKIM/DMARC results, look-alike domains, a naive Bayes classifier for the
académie and per person, lists of always accepted or refused senders), the
warnings shown on a message, and learning from what people move to or from
Indésirables. Owns the classifier, list and warning tables."""
