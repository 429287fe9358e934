"""The engines that play rounds: the Mesa model (one run, people at the table), lockstep (many runs at once), and
what both share about a run (`run`); `explain` says why each issue ended as it did."""
