# Reward rules and the append-only ledger arrive with issue 6 (DESIGN.md, Rewards).
