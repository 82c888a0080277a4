"""Assistance: the helpdesk. Tickets opened from the pages or by mail
(assistance@ and its +tag addresses), their replies, categories, canned
answers and service-level deadlines, the secretariat console and
dashboards, and the notices sent to people. Owns the tickets tables."""
