"""Double-entry money ledger: accounts, balanced entries, holds, balances, verification.

Other domains post through ``greenbank.ledger.service`` (steps inside their own transaction);
``greenbank.ledger.commands`` runs the same steps in a transaction of their own.
"""
