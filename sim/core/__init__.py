"""The negotiation math: small, typed, pure functions over numpy arrays (utility, bargaining, strategies, table and
voting rules, spatial analysis, the expected-utility kernel) and the generic plug-in `Registry`. Imports nothing of
negsim outside this package."""
