"""Consumer consent: purposes, the texts shown, the ledger's rules, keys and signed links.

Shared by the opt-in function (captive portal, rights), the allowlist publisher and the campaigns
(who may be contacted, and the withdrawal link every message carries).
"""
